from rasa_sdk.executor import CollectingDispatcher

from actions.safety import ActionEmergency
from tests.conftest import texts


async def test_emergency_message_comes_first_with_numbers_from_settings(
    tracker_factory, dispatcher, resources, escalation_store
):
    events = await ActionEmergency().run(dispatcher, tracker_factory("emergency"), {})

    [text] = texts(dispatcher)
    assert text.startswith("This could be serious. Call " + resources.settings.emergency_number)
    assert "emergency department" in text
    assert resources.settings.urgent_phone in text
    assert not dispatcher.messages[0]["buttons"]
    assert events == []


async def test_emergency_is_recorded_as_an_urgent_case_with_transcript(
    tracker_factory, dispatcher, resources, escalation_store
):
    tracker = tracker_factory("emergency", "he is choking since the shots")
    tracker.latest_message["red_flags"] = {"alarm": True, "categories": ["breathing"]}
    await ActionEmergency().run(dispatcher, tracker, {})

    [case] = escalation_store.list()
    assert case.urgency == "urgent"
    assert case.reason == "emergency: breathing"
    assert case.question == "he is choking since the shots"
    assert case.transcript == [
        {"speaker": "user", "text": "he is choking since the shots"},
        {"speaker": "bot", "text": resources.message("emergency")},
    ]
    assert case.parent_name is None and case.contact is None


async def test_emergency_interrupts_the_form_and_drops_what_it_collected(
    tracker_factory, dispatcher, escalation_store
):
    tracker = tracker_factory("emergency", "she can't breathe", active_loop="escalation_form",
                              requested_slot="contact", slots={"parent_name": "Alex"})
    events = await ActionEmergency().run(dispatcher, tracker, {})
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == dict.fromkeys(
        ["parent_name", "contact", "child_age", "question", "consent"]
    )


async def test_emergency_message_is_sent_even_if_the_store_is_down(
    tracker_factory, dispatcher, resources, escalation_store, monkeypatch
):
    def broken(**_):
        raise RuntimeError("database is down")

    monkeypatch.setattr(escalation_store, "create_or_append", broken)
    await ActionEmergency().run(dispatcher, tracker_factory("emergency"), {})
    assert texts(dispatcher) == [resources.message("emergency")]


async def test_emergency_message_is_marked_for_the_web_widget(
    tracker_factory, dispatcher, escalation_store
):
    await ActionEmergency().run(dispatcher, tracker_factory("emergency"), {})
    assert dispatcher.messages[0]["kind"] == "emergency"


async def test_repeated_emergencies_notify_the_clinic_once(
    tracker_factory, escalation_store, monkeypatch
):
    from escalation.notifier import WebhookNotifier

    delivered = []

    async def deliver(self, store, escalation):
        delivered.append(escalation.reference)
        return True

    monkeypatch.setattr(WebhookNotifier, "deliver", deliver)
    for _ in range(5):
        await ActionEmergency().run(CollectingDispatcher(), tracker_factory(
            "emergency", text="he can't breathe"), {})
    [case] = escalation_store.list()
    assert delivered == [case.reference]
