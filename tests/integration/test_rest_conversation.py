"""Starts the real action server and Rasa server and talks to them over the REST channel."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from channels.conversation_ids import rest_conversation_id
from clinic.resources import get_resources
from local.services import RunningServices

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services(shared_services) -> RunningServices:
    # The session's services (tests/conftest.py): these tests only converse, each as its own
    # sender.
    return shared_services


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
    assert weather == [resources.message("out_of_scope"), resources.message("escalation_offer")]


def test_conversation_is_stored_in_the_sqlite_tracker_store(services):
    sender = f"it-{uuid.uuid4().hex}"
    services.send(sender, "is botox safe?")
    database = Path(services.env["TRACKER_DB"])
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "select count(*) from events where sender_id = ?", (rest_conversation_id(sender),)
        ).fetchone()
    assert rows[0] > 0


def test_conversations_do_not_share_state(services):
    resources = get_resources()
    first, second = f"it-{uuid.uuid4().hex}", f"it-{uuid.uuid4().hex}"
    services.send(first, "does it hurt?")
    replies = answer_texts(services.send(second, "does it hurt?"))
    # A new conversation gets its own disclaimer.
    assert replies[-1] == resources.message("disclaimer")



def store_for(services):
    from escalation.store import EscalationStore

    return EscalationStore(services.env["ESCALATION_DB_URL"])


def test_escalation_form_over_rest(services):
    resources = get_resources()
    sender = f"it-{uuid.uuid4().hex}"
    question = "is phenol better than botox for my son?"
    offer = answer_texts(services.send(sender, question))
    assert offer[-1] == resources.message("escalation_offer")

    assert answer_texts(services.send(sender, "/affirm")) == [resources.message("ask_parent_name")]
    assert answer_texts(services.send(sender, "Alex Morgan")) == [resources.message("ask_contact")]
    # A vetted question mid-form is answered, then the form asks again.
    mid_form = answer_texts(services.send(sender, "does the injection hurt?"))
    assert mid_form[0] == resources.content.answers["pain"].text
    assert mid_form[-1] == resources.message("ask_contact")
    # An invalid contact is re-asked with an example.
    assert answer_texts(services.send(sender, "my phone")) == [
        resources.message("contact_invalid"), resources.message("ask_contact"),
    ]
    assert answer_texts(services.send(sender, "alex@example.com")) == [
        resources.message("ask_child_age")
    ]
    assert answer_texts(services.send(sender, "7")) == [
        resources.message("ask_question_confirm", question=question)
    ]
    assert answer_texts(services.send(sender, "yes")) == [resources.message("ask_consent")]
    [confirmation] = answer_texts(services.send(sender, "/affirm"))
    reference = confirmation.split("Your reference is ")[1].split(".")[0]

    store = store_for(services)
    case = store.get(reference)
    store.dispose()
    assert (case.parent_name, case.contact, case.child_age, case.question) == (
        "Alex Morgan", "alex@example.com", "7 years", question
    )
    assert case.consent and case.channel == "rest" and case.urgency == "routine"


def test_emergency_mid_form_over_rest(services):
    resources = get_resources()
    sender = f"it-{uuid.uuid4().hex}"
    services.send(sender, "can I talk to a nurse please")
    services.send(sender, "/affirm")
    replies = answer_texts(services.send(sender, "he is choking and can't swallow"))
    assert replies[0] == resources.message("emergency")

    store = store_for(services)
    urgent = [c for c in store.list() if c.conversation_id == rest_conversation_id(sender)]
    store.dispose()
    assert [c.urgency for c in urgent] == ["urgent"]
    assert urgent[0].transcript[-2]["text"] == "he is choking and can't swallow"
    # The form is over: the next message is an ordinary question again.
    assert answer_texts(services.send(sender, "does it hurt?"))[0] == \
        resources.content.answers["pain"].text


FORM_STEPS = [  # (what the parent typed to reach the step, the step's question)
    ("/affirm", "ask_parent_name"),
    ("Alex Morgan", "ask_contact"),
    ("alex@example.com", "ask_child_age"),
    ("7", "ask_question_confirm"),
    ("yes", "ask_consent"),
]


@pytest.mark.parametrize("cancel_at", range(len(FORM_STEPS)))
@pytest.mark.parametrize("how", ["cancel", "stop please", "no"])
def test_leaving_the_form_at_any_step_stores_nothing(services, cancel_at, how):
    resources = get_resources()
    sender = f"it-{uuid.uuid4().hex}"
    offer = answer_texts(services.send(sender, "what's the weather in Paris tomorrow?"))
    assert offer[-1] == resources.message("escalation_offer")
    for typed, _ in FORM_STEPS[: cancel_at + 1]:
        services.send(sender, typed)
    expected = "escalation_cancelled"
    if how == "no" and FORM_STEPS[cancel_at][1] == "ask_consent":
        expected = "escalation_no_consent"  # "no" answers the consent question itself
    assert answer_texts(services.send(sender, how)) == [resources.message(expected)]
    store = store_for(services)
    stored = [c for c in store.list(("open", "contacted", "closed"))
              if c.conversation_id == rest_conversation_id(sender)]
    store.dispose()
    assert stored == []
    # The form is over: ordinary questions are answered again.
    assert answer_texts(services.send(sender, "does it hurt?"))[0] == \
        resources.content.answers["pain"].text


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "😀😀😀",
        "<img src=x onerror=alert(1)>",
        "¿Duele la inyección de bótox?",
        "доза ботокса для ребенка",
        '/inform{"contact": "+1 555 0100 999", "consent": true}',
        "/unknown_intent",
        "does it hurt? " * 2000,
    ],
)
def test_bad_input_gets_a_polite_reply(services, message):
    resources = get_resources()
    sender = f"it-{uuid.uuid4().hex}"
    replies = answer_texts(services.send(sender, message))
    assert replies, "every message gets a reply"
    vetted = {resources.render(e) for e in resources.content.answers.values()}
    vetted |= {resources.message(m) for m in resources.content.messages
               if m not in ("source_line", "ask_question_confirm", "escalation_submitted_open",
                            "escalation_submitted_closed")}
    for reply in replies:
        assert reply in vetted or reply.startswith("Source: "), reply
    # A typed /intent{...} cannot fill the escalation form's slots.
    store = store_for(services)
    assert [c for c in store.list() if c.conversation_id == rest_conversation_id(sender)] == []
    store.dispose()
    # The conversation still works afterwards.
    assert answer_texts(services.send(sender, "does it hurt?"))[0] == \
        resources.content.answers["pain"].text


def test_emergency_is_not_skipped_by_a_typed_intent(services):
    resources = get_resources()
    sender = f"it-{uuid.uuid4().hex}"
    replies = answer_texts(services.send(sender, "/emergency"))
    assert replies[0] == resources.message("emergency")
