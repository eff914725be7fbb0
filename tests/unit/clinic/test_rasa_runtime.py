import jsonschema
import pytest
import rasa.core.actions.action as rasa_action
from rasa.core.actions.action import RemoteAction

from clinic.rasa_runtime import tune_rasa_runtime


@pytest.fixture
def tuned(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result",
                        RemoteAction._validate_action_result)
    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT",
                        rasa_action.DEFAULT_REQUEST_TIMEOUT)
    monkeypatch.setenv("ACTION_TIMEOUT_SECONDS", "4")
    tune_rasa_runtime()
    tune_rasa_runtime()  # idempotent


def test_action_timeout_comes_from_the_environment(tuned):
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT == 4.0


def test_valid_responses_pass_and_invalid_ones_fail_as_in_rasa(tuned):
    action = RemoteAction("action_answer_topic", None)
    assert action._validate_action_result(
        {"events": [{"event": "slot", "name": "x", "value": 1}],
         "responses": [{"text": "an answer"}]})
    with pytest.raises(jsonschema.ValidationError) as raised:
        action._validate_action_result({"events": [{"no_event_key": 1}]})
    assert "Failed to validate Action server response" in raised.value.message
