import io
import json
import logging
import warnings

import pytest
import structlog

from safety import log_redaction
from safety.log_redaction import REDACTED, redact, redact_text


@pytest.fixture
def fresh_install(monkeypatch):
    """install() as in a new process; the log record factory, warnings and structlog restored."""
    monkeypatch.setattr(log_redaction, "_installed", False)
    monkeypatch.setattr(structlog, "configure", structlog.configure)
    previous_factory = logging.getLogRecordFactory()
    previous_showwarning = warnings.showwarning
    yield log_redaction.install
    logging.setLogRecordFactory(previous_factory)
    warnings.showwarning = previous_showwarning
    structlog.reset_defaults()


@pytest.mark.parametrize("text", [
    "call me on +44 7700 900123 please",
    "(555) 010-0999",
    "07700900123",
    "alex.morgan@example.com",
    "mail: a_b+c@clinic.example.org.",
])
def test_contact_details_are_redacted(text):
    out = redact_text(text)
    assert REDACTED in out
    assert not any(part in out for part in ("900123", "0999", "07700900123", "example"))


@pytest.mark.parametrize("text", [
    "escalation ESC-2026-000123 stored",
    "confidence 0.9351752400398254",
    "on 2026-11-26 at 01:55:13",
    "took 12.5 ms for 3 messages",
    "child_age: 7 years",
])
def test_references_numbers_and_dates_are_kept(text):
    assert redact_text(text) == text


def test_structured_records_lose_user_content_but_keep_the_event():
    record = json.dumps({
        "event": "processor.message.parse", "parse_data_text": "Alex Morgan",
        "parse_data_intent": {"name": "help", "confidence": 0.93},
        "slot_values": "\tparent_name: Alex Morgan\n\tcontact: +44 7700 900123",
        "rasa_events": ["SlotSet(key: parent_name, value: Alex Morgan)"],
        "exception": [{"exc_type": "ValueError", "frames": [{"locals": {"text": "Alex"}}]}],
    })
    out = redact(record)
    assert "Alex" not in out and "7700" not in out
    parsed = json.loads(out)
    assert parsed["event"] == "processor.message.parse"
    assert parsed["parse_data_intent"] == {"name": "help", "confidence": 0.93}
    assert parsed["exception"][0]["exc_type"] == "ValueError"


def test_event_reprs_in_plain_text_are_redacted():
    text = ("events: [SlotSet(key: parent_name, value: Alex Morgan), "
            "UserUttered(text: I am Alex Morgan, intent: greet)]")
    out = redact_text(text)
    assert "Alex" not in out
    assert "SlotSet(key: parent_name, value: [redacted])" in out


def test_install_redacts_every_record_tracebacks_and_warnings(fresh_install, capsys):
    fresh_install()
    logger = logging.getLogger("test.redaction")
    record = logger.makeRecord("test.redaction", logging.DEBUG, __file__, 1,
                               "user said %s", ("alex@example.com",), None)
    assert record.getMessage() == f"user said {REDACTED}"
    try:
        raise ValueError("bad contact +44 7700 900123")
    except ValueError:
        import sys
        failed = logger.makeRecord("test.redaction", logging.ERROR, __file__, 1,
                                   "failed", (), sys.exc_info())
    assert "7700" not in logging.Formatter().format(failed)
    assert "ValueError" in failed.exc_text
    warnings.showwarning(UserWarning("line '/inform{\"e\": \"alex@example.com\"}'"),
                         UserWarning, "x.py", 1)
    assert "alex@example.com" not in capsys.readouterr().err


def configure(renderer):
    """A structlog set-up like Rasa's (shortened); returns a logger and what it wrote."""
    out = io.StringIO()
    structlog.configure(processors=[structlog.dev.set_exc_info, renderer],
                        logger_factory=structlog.PrintLoggerFactory(out),
                        cache_logger_on_first_use=True)
    log = structlog.get_logger()
    log.info("warm-up")  # from now on the logger is cached with the processors of this set-up
    return log, out


def emit(log) -> None:
    log.debug("processor.message.parse", parse_data_text="I am Alex Morgan",
              slots={"parent_name": "Alex Morgan"}, note="mail alex@example.com")
    secret = "Alex Morgan"  # a local variable of the failing frame: rich shows those
    try:
        raise ValueError("bad contact")
    except ValueError:
        log.exception("action.failed", length=len(secret))


@pytest.mark.parametrize("renderer", [structlog.dev.ConsoleRenderer(colors=False),
                                      structlog.processors.JSONRenderer()])
@pytest.mark.parametrize("install_first", [True, False])
def test_structlog_events_are_redacted_before_any_renderer(fresh_install, renderer,
                                                           install_first):
    # Rasa renders its events as key=value text in a terminal and as JSON elsewhere; the
    # services install redaction before Rasa configures structlog, containers after.
    if install_first:
        fresh_install()
    log, out = configure(renderer)
    if not install_first:
        fresh_install()
    emit(log)
    text = out.getvalue()
    assert "processor.message.parse" in text and "ValueError" in text
    assert "Alex" not in text and "alex@" not in text
    assert REDACTED in text
