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
