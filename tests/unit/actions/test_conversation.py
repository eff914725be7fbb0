import pytest

from actions.conversation import ActionReply
from tests.conftest import texts

REPLIES = {
    "greet": "greet",
    "goodbye": "goodbye",
    "thanks": "thanks",
    "bot_challenge": "bot_challenge",
    "help": "help_topics",
    "affirm": "affirm_without_context",
    "deny": "affirm_without_context",
    "out_of_scope": "out_of_scope",
    "ask_dose": "dose_guard",
    "ask_personal_advice": "personal_advice_guard",
    "request_human": "request_human",
}


@pytest.mark.parametrize(("intent", "message_id"), REPLIES.items())
async def test_each_intent_gets_its_vetted_message(
    tracker_factory, dispatcher, resources, intent, message_id
):
    await ActionReply().run(dispatcher, tracker_factory(intent), {})
    assert texts(dispatcher) == [resources.message(message_id)]


async def test_help_lists_topics_as_buttons(tracker_factory, dispatcher, resources):
    await ActionReply().run(dispatcher, tracker_factory("help"), {})
    buttons = dispatcher.messages[0]["buttons"]
    assert len(buttons) >= 8
    assert {"title": "Does it hurt?", "payload": "/ask_pain"} in buttons
    for button in buttons:
        assert button["payload"][len("/ask_"):] in resources.content.answers


async def test_out_of_scope_says_what_it_can_do_and_gives_the_clinic(
    tracker_factory, dispatcher, resources
):
    await ActionReply().run(dispatcher, tracker_factory("out_of_scope"), {})
    [text] = texts(dispatcher)
    assert "I can only help with" in text
    assert resources.settings.phone in text


async def test_dose_question_gets_no_numbers(tracker_factory, dispatcher):
    await ActionReply().run(dispatcher, tracker_factory("ask_dose"), {})
    [text] = texts(dispatcher)
    assert "can't give doses" in text
    assert not any(word in text.lower() for word in (" units", " mg", "kg"))


async def test_intent_without_message_hands_over(tracker_factory, dispatcher, resources):
    await ActionReply().run(dispatcher, tracker_factory("ask_weather"), {})
    assert texts(dispatcher) == [resources.message("cannot_answer")]
