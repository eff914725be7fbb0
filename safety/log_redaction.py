"""Keeps a parent's personal details out of every log line, at every log level.

Rasa at DEBUG logs what parents type and every slot value (the escalation form's name, phone
number, e-mail address) as structured JSON records (`parse_data_text`, `slot_values`,
`rasa_events`, ...), and exception records carry the local variables of each frame. `install()`
wraps Python's log record factory so that every record of the process, whichever library or
handler, is redacted once when it is created:

* in structured (JSON) records, the values of keys that carry user content are replaced;
* in any text, `SlotSet(key: k, value: v)` / `UserUttered(text: t, ...)` values, e-mail
  addresses and phone numbers are replaced;
* formatted tracebacks and warnings get the same treatment.

Rasa's structured log events are also redacted as events, before structlog renders them: in a
terminal Rasa renders them as coloured `key=value` text instead of JSON (rasa/utils/
log_utils.py checks `sys.stderr.isatty()`), which the text patterns alone do not cover: at DEBUG
a parent's name reached the console. So every structlog configuration, earlier or later than
`install()`, gets a redacting processor just before its renderer, whatever the output.

scripts/log_hook/sitecustomize.py installs it in every Python process scripts/run_services.sh
starts (Rasa server, action server, web app); the services also install it themselves where
that hook is not used (containers, the cluster).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import traceback
import warnings
from typing import Any, Callable, List, MutableMapping, Optional

REDACTED = "[redacted]"

#: Structured-log keys whose values are, or may contain, what a parent typed or a slot value.
#: Rasa's own list (rasa/utils/log_utils.py `_anonymizer`) plus slot and state dumps and the
#: local variables structlog adds to exception records.
SENSITIVE_KEYS = frozenset({
    "text", "response_text", "user_text", "slot_values", "parse_data_text",
    "parse_data_entities", "prediction_events", "tracker_latest_message", "prefilled_slots",
    "message", "response", "slot_candidates", "rasa_event", "rasa_events", "tracker_states",
    "current_states", "old_states", "successes", "current_entity", "next_entity", "states",
    "entity", "token_text", "user_message", "json_message", "locals", "value", "values",
    "slot_value", "slots", "events", "parse_data", "tracker", "exc_value",
})

EMAIL = re.compile(r"[^\s@\"'<>(),;:\[\]]+@[^\s@\"'<>(),;:\[\]]+\.[A-Za-z]{2,}")
# Digit runs with the usual separators, not part of a word, a decimal number or a reference
# such as ESC-2026-000123; 7 to 15 digits (E.164) are checked in `_phone`.
PHONE = re.compile(r"(?<![\w.\-])\+?\(?\d[\d\s().\-]{5,24}\d(?![\w:]|\.\d)")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SLOT_SET = re.compile(r"(SlotSet\(key: [^,]*, value: ).*?(\)(?:, |'|\"|\]|$))", re.DOTALL)
USER_UTTERED = re.compile(r"(UserUttered\(text: ).*?(, intent: )", re.DOTALL)


def _phone(match: re.Match) -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    if not 7 <= digits <= 15 or ISO_DATE.fullmatch(found):
        return found
    return REDACTED


def redact_text(text: str) -> str:
    """`text` with slot values, user utterances, e-mail addresses and phone numbers replaced."""
    text = SLOT_SET.sub(lambda m: m.group(1) + REDACTED + m.group(2), text)
    text = USER_UTTERED.sub(lambda m: m.group(1) + REDACTED + m.group(2), text)
    text = EMAIL.sub(REDACTED, text)
    return PHONE.sub(_phone, text)


def _redact_structure(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if key in SENSITIVE_KEYS and value[key] not in (None, "", [], {})
            else _redact_structure(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_structure(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact(message: str) -> str:
    """A log message made safe: JSON records key by key, then the text patterns."""
    stripped = message.lstrip()
    if stripped.startswith("{"):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return json.dumps(_redact_structure(parsed))
    return redact_text(message)


_installed = False


def install() -> None:
    """Redacts every log record and warning this process creates from now on (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    warnings.showwarning = _redacting_showwarning(warnings.showwarning)
    _redact_structlog_events()


def redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """A structlog processor: the event's values redacted, its exception as redacted text."""
    exc_info = event.pop("exc_info", None)
    if exc_info:
        if isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        elif not isinstance(exc_info, tuple):
            exc_info = sys.exc_info()
        if exc_info[0] is not None:
            # Plain text, not the renderer's traceback with each frame's local variables.
            event["exception"] = "".join(traceback.format_exception(*exc_info))
    plain = (str, int, float, bool, type(None), dict, list)
    return _redact_structure({key: value if isinstance(value, plain) else repr(value)
                              for key, value in event.items()})


def _with_redaction(processors: List[Any]) -> None:
    # Just before the renderer (the last processor): after every processor that adds data.
    if processors and redact_event not in processors:
        processors.insert(len(processors) - 1, redact_event)


def _redact_structlog_events() -> None:
    """Adds `redact_event` to the current and to every later structlog configuration."""
    try:
        import structlog
    except ImportError:
        return  # not installed (the web app's image): nothing renders structlog events
    configure = structlog.configure

    def add_to_current() -> None:
        processors = structlog.get_config()["processors"]
        if isinstance(processors, list):
            _with_redaction(processors)  # in place: loggers made already keep this list
        else:
            processors = list(processors)
            _with_redaction(processors)
            configure(processors=processors)

    def redacting_configure(*args: Any, **kwargs: Any) -> None:
        configure(*args, **kwargs)
        add_to_current()

    add_to_current()  # Rasa may have configured structlog before install() ran
    structlog.configure = redacting_configure


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 (a broken format string is the caller's bug, not a leak)
        message = str(record.msg)
    record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters use exc_text when it is set: the traceback is redacted once, here.
        record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)


def _redacting_showwarning(original: Callable[..., None]) -> Callable[..., None]:
    del original  # replaced, never called: it would write the unredacted text

    def showwarning(message: Any, category: type, filename: str, lineno: int,
                    file: Optional[Any] = None, line: Optional[str] = None) -> None:
        text = warnings.formatwarning(message, category, filename, lineno, line)
        stream = file if file is not None else sys.stderr
        # Like warnings.showwarning: a closed or missing stderr loses the warning.
        with contextlib.suppress(OSError, AttributeError):
            stream.write(redact_text(text))

    return showwarning
