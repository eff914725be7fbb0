"""With every service logging at DEBUG, no name, phone number or e-mail reaches any log.

Runs a conversation suite against the real servers (LOG_LEVEL=DEBUG: Rasa `--debug`, rasa-sdk
`--debug`, the web app's loggers) including a complete escalation form, an emergency mid-form
and typed `/intent{...}` shortcuts carrying contact details, then searches everything the
services wrote: once with their output in a pipe (a log file, a container) and once in a
terminal (`make run` by hand), where Rasa renders its log events as text, not JSON.
"""

from __future__ import annotations

import os
import re
import stat
import uuid

import pytest

from channels.conversation_ids import rest_conversation_id
from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources
from escalation.store import EscalationStore
from local.services import running_services
from safety.log_redaction import REDACTED

pytestmark = pytest.mark.integration

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"

NAME = "Marguerite Oyelaran-Quist"
PHONE = "+44 7700 900461"
EMAIL = "m.oyelaran@example.org"
QUESTION = ("My daughter Zuzanna Oyelaran saw Dr Pettersson last week, can she have her next "
            "injection before the school trip? You can also call 07700 900462.")
#: Pieces of personal data that must not appear anywhere in the logs.
SECRETS = ["Marguerite", "Oyelaran", "Zuzanna", "Pettersson", "7700", "900461", "900462",
           "m.oyelaran", "example.org"]


@pytest.fixture(scope="module", params=["pipe", "terminal"])
def output(request):
    return request.param


@pytest.fixture(scope="module")
def run(tmp_path_factory, output):
    """Runs the conversations; the services' working directory and everything they logged."""
    assert MODEL.exists(), f"{MODEL} is missing: run `make train` (make test does it first)"
    work_dir = tmp_path_factory.mktemp(f"log-privacy-{output}")
    log_file = work_dir / "services.log"
    resources = get_resources()
    with running_services(MODEL, work_dir, extra_env={"LOG_LEVEL": "DEBUG"},
                          log_file=log_file, terminal=output == "terminal") as services:
        def texts(sender, message):
            return [reply.get("text") for reply in services.send(sender, message)]

        # A complete escalation form: name, phone, age, a question full of personal details.
        sender = f"privacy-{uuid.uuid4().hex}"
        assert texts(sender, "can I talk to a nurse please")[-1] == \
            resources.message("escalation_offer")
        assert texts(sender, "/affirm") == [resources.message("ask_parent_name")]
        assert texts(sender, NAME) == [resources.message("ask_contact")]
        assert texts(sender, PHONE) == [resources.message("ask_child_age")]
        texts(sender, "she is 6")  # asks for the question (or to confirm the pending one)
        assert texts(sender, QUESTION) == [resources.message("ask_consent")]
        assert "Your reference is" in texts(sender, "/affirm")[0]

        # The same with an e-mail address, an invalid contact first, and an emergency mid-form.
        other = f"privacy-{uuid.uuid4().hex}"
        texts(other, "is phenol better than botox for my son?")
        texts(other, "/affirm")
        texts(other, NAME)
        assert texts(other, f"call {PHONE} or mail me") == [
            resources.message("contact_invalid"), resources.message("ask_contact")]
        texts(other, EMAIL)
        assert texts(other, f"{NAME} here, he can't breathe")[0] == \
            resources.message("emergency")

        # Typed shortcuts carrying contact details, and a plain message with them.
        third = f"privacy-{uuid.uuid4().hex}"
        texts(third, f'/request_human{{"parent_name": "{NAME}", "contact": "{EMAIL}"}}')
        texts(third, f"my name is {NAME}, email {EMAIL}, phone {PHONE}")

        store = EscalationStore(services.env["ESCALATION_DB_URL"])
        stored = [case for case in store.list(("open", "contacted", "closed"))
                  if case.conversation_id == rest_conversation_id(sender)]
        store.dispose()
        # The details did reach the store (the only place they may be kept).
        assert [(c.parent_name, c.contact, c.question) for c in stored] == [
            (NAME, PHONE, QUESTION)]
    return work_dir, log_file.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def log_text(run):
    return run[1]


def test_services_logged_at_debug(log_text, output):
    # The check below means something only if the services really logged their debug output.
    assert "rasa.core.processor" in log_text
    assert "Received request to run 'validate_escalation_form'" in log_text
    assert REDACTED in log_text
    # ... in the format of that output: Rasa's events as JSON in a pipe, as text in a terminal.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log_text)  # without the terminal's colours
    json_events = re.search(r' - \{.*"event": "processor\.', plain)
    text_events = re.search(r" - \[debug\s*\] processor\.", plain)
    assert (json_events is not None, text_events is not None) == (
        (True, False) if output == "pipe" else (False, True))


@pytest.mark.parametrize("secret", SECRETS)
def test_no_personal_data_in_any_log(log_text, secret):
    # Not inside a longer hex or digit run: "7700" must not match an address like 0x7f..7700.
    pattern = re.compile(rf"(?<![0-9a-fx]){re.escape(secret.lower())}(?![0-9a-f])")
    lines = [line for line in log_text.splitlines() if pattern.search(line.lower())]
    assert lines == [], f"{secret!r} logged:\n" + "\n".join(line[:300] for line in lines[:5])


def test_the_services_create_data_files_for_their_owner_only(run):
    # SQLite stores, their WAL files, the outbox, the generated credentials: 0644 before.
    work_dir, _ = run
    files = {path.name: stat.S_IMODE(path.stat().st_mode) for path in work_dir.iterdir()
             if path.is_file() and path.name != "services.log"}  # the test's own log
    assert {"tracker.db", "escalations.db", "credentials.yml"} <= set(files)
    assert {name: oct(mode) for name, mode in files.items() if mode & 0o077} == {}
    # var/: nobody else may list it (as root, others may only pass through it).
    var_mode = stat.S_IMODE((PROJECT_ROOT / "var").stat().st_mode)
    assert var_mode == (0o711 if os.geteuid() == 0 else 0o700)
