import datetime as dt
import re

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.escalation import (
    ActionAskQuestion,
    ActionCancelEscalation,
    ActionDeclineEscalation,
    ActionOfferEscalation,
    ActionSubmitEscalation,
    ValidateEscalationForm,
    confirmation,
    normalise_contact,
)
from tests.conftest import texts

FILLED = {
    "parent_name": "Alex Morgan",
    "contact": "+1 555 0100 123",
    "child_age": "7 years",
    "question": "Can my son go swimming after the injection?",
    "consent": True,
    "escalation_reason": "out_of_scope",
}


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_offer_remembers_the_unanswered_question(tracker_factory, dispatcher, resources):
    tracker = tracker_factory("out_of_scope", "can my son swim in the sea after botox?")
    events = await ActionOfferEscalation().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["text"] == resources.message("escalation_offer")
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
    assert slot_events(events) == {
        "pending_question": "can my son swim in the sea after botox?",
        "escalation_reason": "out_of_scope",
    }


async def test_offer_ignores_button_payloads(tracker_factory, dispatcher):
    earlier = [{"event": "user", "text": "is phenol better?"}]
    tracker = tracker_factory("request_human", "/request_human", events=earlier)
    events = await ActionOfferEscalation().run(dispatcher, tracker, {})
    assert slot_events(events)["pending_question"] == "is phenol better?"


async def test_decline_gives_the_clinic_number(tracker_factory, dispatcher, resources):
    events = await ActionDeclineEscalation().run(dispatcher, tracker_factory("deny"), {})
    assert texts(dispatcher) == [resources.message("escalation_declined")]
    assert slot_events(events)["pending_question"] is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+1 555 0100 123", "+1 555 0100 123"),
        ("07700 900123", "07700 900123"),
        ("Alex@Example.org", "alex@example.org"),
        ("  555-0100-1234 ", "555-0100-1234"),
        ("call me", None),
        ("12345", None),
        ("alex@", None),
        ("alex at example dot com", None),
        ("+1 555 0100 123 4567 8910 11", None),
    ],
)
def test_contact_validation(typed, expected):
    assert normalise_contact(typed) == expected


async def test_invalid_contact_is_re_asked_with_an_example(tracker_factory, dispatcher, resources):
    result = await ValidateEscalationForm().validate_contact(
        "my phone", dispatcher, tracker_factory("inform"), {}
    )
    assert result == {"contact": None}
    assert texts(dispatcher) == [resources.message("contact_invalid")]
    assert "name@example.com" in texts(dispatcher)[0]


async def test_email_instead_of_phone_is_accepted(tracker_factory, dispatcher):
    result = await ValidateEscalationForm().validate_contact(
        "parent@example.com", dispatcher, tracker_factory("inform"), {}
    )
    assert result == {"contact": "parent@example.com"}
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("7", "7 years"), ("she is 11", "11 years"), ("18 months", "18 months"),
     ("skip", "not given"), ("ninety", None), ("40", None)],
)
async def test_child_age_is_optional(tracker_factory, dispatcher, typed, expected):
    result = await ValidateEscalationForm().validate_child_age(
        typed, dispatcher, tracker_factory("inform"), {}
    )
    assert result == {"child_age": expected}


async def test_name_needs_a_letter(tracker_factory, dispatcher):
    form = ValidateEscalationForm()
    assert await form.validate_parent_name("  Sam  Lee ", dispatcher, tracker_factory("x"), {}) \
        == {"parent_name": "Sam Lee"}
    assert await form.validate_parent_name("1234", dispatcher, tracker_factory("x"), {}) \
        == {"parent_name": None}


async def test_pre_filled_question_is_confirmed_or_replaced(tracker_factory, dispatcher):
    form = ValidateEscalationForm()
    tracker = tracker_factory("affirm", "yes", slots={"pending_question": "is phenol better?"})
    assert await form.validate_question("yes", dispatcher, tracker, {}) == {
        "question": "is phenol better?"
    }
    assert await form.validate_question("Can she swim?", dispatcher, tracker, {}) == {
        "question": "Can she swim?"
    }
    no_pending = tracker_factory("affirm", "yes")
    assert await form.validate_question("yes", dispatcher, no_pending, {}) == {"question": None}


async def test_question_prompt_shows_the_pending_question(tracker_factory, dispatcher, resources):
    tracker = tracker_factory("x", slots={"pending_question": "is phenol better?"})
    await ActionAskQuestion().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [
        resources.message("ask_question_confirm", question="is phenol better?")
    ]


async def test_submit_stores_the_case_and_gives_a_reference(
    tracker_factory, dispatcher, escalation_store
):
    tracker = tracker_factory("affirm", "yes", slots=FILLED,
                              events=[{"event": "bot", "text": "Would you like a clinician?"}])
    events = await ActionSubmitEscalation().run(dispatcher, tracker, {})

    [case] = escalation_store.list()
    assert (case.parent_name, case.contact, case.child_age, case.question) == (
        "Alex Morgan", "+1 555 0100 123", "7 years", "Can my son go swimming after the injection?"
    )
    assert case.consent and case.urgency == "routine" and case.reason == "out_of_scope"
    assert case.channel == "rest" and case.conversation_id == "test-conversation"
    assert case.transcript[-1] == {"speaker": "user", "text": "yes"}
    [text] = texts(dispatcher)
    assert case.reference in text
    assert all(value is None for value in slot_events(events).values())


async def test_no_consent_stores_nothing(tracker_factory, dispatcher, escalation_store, resources):
    tracker = tracker_factory("deny", "no", slots={**FILLED, "consent": False})
    await ActionSubmitEscalation().run(dispatcher, tracker, {})
    assert escalation_store.list() == []
    assert texts(dispatcher) == [resources.message("escalation_no_consent")]


async def test_store_down_keeps_the_case_in_the_outbox_until_it_is_back(
    tracker_factory, dispatcher, escalation_store, resources, monkeypatch
):
    from escalation.service import get_outbox

    def broken(**_):
        raise RuntimeError("database is down")

    working = escalation_store.create_or_append
    monkeypatch.setattr(escalation_store, "create_or_append", broken)
    await ActionSubmitEscalation().run(dispatcher, tracker_factory("affirm", slots=FILLED), {})
    [reply] = texts(dispatcher)
    reference = re.search(r"ESC-\d{4}-Q[0-9A-F]{6}", reply).group(0)
    assert reply == confirmation(reference)
    assert get_outbox().waiting() == 1

    # The store is back: the next case moves the waiting one in first, reference kept.
    monkeypatch.setattr(escalation_store, "create_or_append", working)
    await ActionSubmitEscalation().run(
        CollectingDispatcher(), tracker_factory("affirm", slots=FILLED), {}
    )
    stored = escalation_store.get(reference)
    assert stored is not None and stored.contact == FILLED["contact"]
    assert get_outbox().waiting() == 0
    assert len(escalation_store.list()) == 2


async def test_store_and_outbox_down_tell_the_parent_to_call(
    tracker_factory, dispatcher, escalation_store, resources, monkeypatch
):
    from escalation.service import get_outbox

    def broken(*_, **__):
        raise RuntimeError("disk is gone")

    monkeypatch.setattr(escalation_store, "create_or_append", broken)
    monkeypatch.setattr(get_outbox(), "put", broken)
    await ActionSubmitEscalation().run(dispatcher, tracker_factory("affirm", slots=FILLED), {})
    assert texts(dispatcher) == [resources.message("escalation_store_failed")]


async def test_cancel_stores_nothing_and_leaves_the_form(
    tracker_factory, dispatcher, escalation_store, resources
):
    tracker = tracker_factory("stop", "cancel", slots=FILLED, active_loop="escalation_form",
                              requested_slot="consent")
    events = await ActionCancelEscalation().run(dispatcher, tracker, {})
    assert escalation_store.list() == []
    assert texts(dispatcher) == [resources.message("escalation_cancelled")]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    assert all(value is None for value in slot_events(events).values())


def test_confirmation_while_open_and_after_hours(resources):
    zone = resources.settings.zone
    monday_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=zone)
    text = confirmation("ESC-2026-000123", now=monday_10)
    assert text == resources.message("escalation_submitted_open", reference="ESC-2026-000123")
    assert resources.settings.response_time in text

    sunday = dt.datetime(2026, 11, 29, 10, 0, tzinfo=zone)
    closed = confirmation("ESC-2026-000124", now=sunday)
    assert closed == resources.message(
        "escalation_submitted_closed", reference="ESC-2026-000124", next_opening="Monday 08:30"
    )


async def test_parent_gets_the_reference_while_the_webhook_is_down(
    tracker_factory, dispatcher, escalation_store, monkeypatch
):
    from escalation.service import get_notifier

    monkeypatch.setenv("ESCALATION_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("ESCALATION_WEBHOOK_SECRET", "s3cret")
    get_notifier.cache_clear()
    await ActionSubmitEscalation().run(dispatcher, tracker_factory("affirm", slots=FILLED), {})
    [case] = escalation_store.list()
    assert case.reference in texts(dispatcher)[0]
    assert case.notification_state == "failed"
    assert case.next_notification_at is not None


async def test_personal_details_never_reach_the_log(
    tracker_factory, dispatcher, escalation_store, monkeypatch, caplog
):
    import logging

    caplog.set_level(logging.DEBUG)
    await ActionSubmitEscalation().run(dispatcher, tracker_factory("affirm", slots=FILLED), {})

    def broken(**_):
        raise RuntimeError("insert failed for Alex Morgan +1 555 0100 123")

    monkeypatch.setattr(escalation_store, "create_or_append", broken)
    await ActionSubmitEscalation().run(dispatcher, tracker_factory("affirm", slots=FILLED), {})
    logged = caplog.text
    assert "ESC-" in logged
    for detail in ("Alex", "555 0100 123", "swimming"):
        assert detail not in logged
