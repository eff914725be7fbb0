"""Starts the real action server and Rasa server and talks to them over the REST channel."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from clinic.local_services import RunningServices, running_services
from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> RunningServices:
    assert MODEL.exists(), f"{MODEL} is missing: run `make train` (make test does it first)"
    work_dir = tmp_path_factory.mktemp("services")
    with running_services(MODEL, work_dir) as running:
        yield running


def answer_texts(replies):
    return [reply.get("text") for reply in replies]


def test_six_turn_conversation_over_rest(services):
    resources = get_resources()
    answers = resources.content.answers
    sender = f"it-{uuid.uuid4().hex}"

    greeting = services.send(sender, "Hello!")
    assert answer_texts(greeting) == [resources.message("greet")]
    assert {"title": answers["pain"].title, "payload": "/ask_pain"} in greeting[0]["buttons"]

    first = answer_texts(services.send(sender, "does it hurt?"))
    assert first == [
        answers["pain"].text,
        f"Source: {answers['pain'].source}",
        resources.message("disclaimer"),
    ]

    duration = answer_texts(services.send(sender, "how long does the injection take?"))
    # The disclaimer is said once per conversation.
    assert duration == [answers["procedure_duration"].text,
                        f"Source: {answers['procedure_duration'].source}"]

    bike = answer_texts(services.send(sender, "can my son ride his bike after?"))
    assert bike[0] == answers["aftercare_activities"].text

    eyes = answer_texts(services.send(sender, "what about eye spasms?"))
    assert eyes[0] == answers["eyelid_spasm"].text

    weather = answer_texts(services.send(sender, "what's the weather in Paris tomorrow?"))
    assert weather == [resources.message("out_of_scope")]


def test_conversation_is_stored_in_the_sqlite_tracker_store(services):
    sender = f"it-{uuid.uuid4().hex}"
    services.send(sender, "is botox safe?")
    database = Path(services.env["TRACKER_DB"])
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "select count(*) from events where sender_id = ?", (sender,)
        ).fetchone()
    assert rows[0] > 0


def test_conversations_do_not_share_state(services):
    resources = get_resources()
    first, second = f"it-{uuid.uuid4().hex}", f"it-{uuid.uuid4().hex}"
    services.send(first, "does it hurt?")
    replies = answer_texts(services.send(second, "does it hurt?"))
    # A new conversation gets its own disclaimer.
    assert replies[-1] == resources.message("disclaimer")

