from actions.safety import ActionEmergency
from tests.conftest import texts


async def test_emergency_message_comes_first_with_numbers_from_settings(
    tracker_factory, dispatcher, resources
):
    events = await ActionEmergency().run(dispatcher, tracker_factory("emergency"), {})

    [text] = texts(dispatcher)
    assert text.startswith("This could be serious. Call " + resources.settings.emergency_number)
    assert "emergency department" in text
    assert resources.settings.urgent_phone in text
    assert not dispatcher.messages[0]["buttons"]
    assert events == []
