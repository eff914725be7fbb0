from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from components.typed_intent_guard import TypedIntentGuard


def run(text):
    [message] = TypedIntentGuard().process([Message({TEXT: text})])
    return message.get(TEXT)


def test_button_payloads_pass_unchanged():
    assert run("/affirm") == "/affirm"
    assert run("/ask_pain") == "/ask_pain"


def test_typed_intents_with_entities_or_text_become_text():
    assert run('/request_human{"contact": "+44 7700 900123"}') == \
        'request_human{"contact": "+44 7700 900123"}'
    assert run('/greet{"a": 1} he is choking') == 'greet{"a": 1} he is choking'


def test_unprocessable_text_is_cleaned():
    assert run("a\ud800\x00") == "a\ufffd "
    assert run(None) == ""


def test_bare_intents_no_button_sends_are_read_as_text():
    # A typed `/emergency` opened an urgent case and notified the clinic with no emergency in
    # sight; `/restart` wiped the conversation. No button sends them.
    assert run("/emergency") == "emergency"
    assert run(" /restart ") == "restart"
    assert run("/session_start") == "session_start"


def test_every_button_the_assistant_sends_is_obeyed(resources):
    from channels.telegram import GREETING
    from knowledge.buttons import topic_buttons, yes_no_buttons

    payloads = [button["payload"] for button in yes_no_buttons()]
    payloads += [b["payload"] for b in topic_buttons(resources.content, resources.content.answers)]
    payloads += ["/request_human", GREETING]  # "talk to someone"; Telegram's /start, the widget
    for payload in payloads:
        assert run(payload) == payload


def test_the_stop_command_is_obeyed():
    assert run("/stop") == "/stop"
