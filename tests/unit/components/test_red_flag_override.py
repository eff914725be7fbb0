import pytest
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.red_flag_override import RedFlagOverride
from knowledge.spacy_pipeline import build_pipeline


@pytest.fixture(scope="module")
def model():
    return SpacyModel(model=build_pipeline(), model_name="clinic")


# One component for the module: it compiles its rules once, on the module's model (a new one
# per test compiled them again, about 0.2 s of CPU each).
RULES = RedFlagOverride()


def classified(model, text, ranking):
    intent = ranking[0]
    return Message(
        data={
            TEXT: text,
            SPACY_DOCS[TEXT]: model.model(text.lower()),
            INTENT: intent,
            INTENT_RANKING_KEY: ranking,
        }
    )


def run(model, message):
    RULES.process([message], model)
    return message


def test_alarm_overrides_a_confident_wrong_intent(model):
    message = run(model, classified(model, "he is choking since the shots", [
        {"name": "ask_side_effects", "confidence": 0.97},
        {"name": "emergency", "confidence": 0.02},
    ]))
    assert message.get(INTENT) == {"name": "emergency", "confidence": 1.0}
    assert [i["name"] for i in message.get(INTENT_RANKING_KEY)] == [
        "emergency", "ask_side_effects",
    ]
    assert message.get("red_flags")["categories"] == ["breathing"]


def test_alarm_overrides_the_confidence_gate(model):
    message = run(model, classified(model, "her eyelids are hanging", [
        {"name": "nlu_fallback", "confidence": 0.6},
        {"name": "ask_eyelid_spasm", "confidence": 0.4},
    ]))
    assert message.get(INTENT)["name"] == "emergency"


def test_negated_mention_withdraws_a_classifier_emergency(model):
    message = run(model, classified(model, "no trouble breathing", [
        {"name": "emergency", "confidence": 0.8},
        {"name": "ask_side_effects", "confidence": 0.15},
    ]))
    assert message.get(INTENT) == {"name": "nlu_fallback", "confidence": 0.8}
    names = [i["name"] for i in message.get(INTENT_RANKING_KEY)]
    assert "emergency" not in names
    assert names[1] == "ask_side_effects"


def test_message_without_symptoms_is_untouched(model):
    ranking = [{"name": "ask_pain", "confidence": 0.9}, {"name": "ask_onset", "confidence": 0.1}]
    message = run(model, classified(model, "does it hurt?", list(ranking)))
    assert message.get(INTENT) == ranking[0]
    assert message.get(INTENT_RANKING_KEY) == ranking
    assert message.get("red_flags")["alarm"] is False


def test_trained_emergency_intent_is_kept_when_rules_find_nothing(model):
    # The trained intent backs up the rules for wordings they miss.
    ranking = [{"name": "emergency", "confidence": 0.9}]
    message = run(model, classified(model, "something is very wrong with my son", ranking))
    assert message.get(INTENT)["name"] == "emergency"


def test_background_mention_withdraws_a_classifier_emergency(model):
    # "he has seizures" is background here: the question goes to the confidence gate.
    message = run(model, classified(model, "he has seizures, can he still have botox?", [
        {"name": "emergency", "confidence": 0.7},
        {"name": "ask_candidates", "confidence": 0.25},
    ]))
    assert message.get(INTENT)["name"] == "nlu_fallback"
    assert message.get("red_flags")["background"] is True
    assert "emergency" not in [i["name"] for i in message.get(INTENT_RANKING_KEY)]


def test_negated_mention_withdraws_the_second_opinions_emergency_too(model):
    message = classified(model, "he has no trouble breathing at all",
                         [{"name": "ask_side_effects", "confidence": 0.5},
                          {"name": "emergency", "confidence": 0.3}])
    message.set("second_opinion", {"name": "emergency", "confidence": 0.6})
    run(model, message)
    assert message.get("second_opinion") == {}
    assert "emergency" not in [i["name"] for i in message.get(INTENT_RANKING_KEY)]


def test_second_opinion_of_another_topic_is_kept(model):
    message = classified(model, "he has no trouble breathing at all",
                         [{"name": "ask_side_effects", "confidence": 0.5},
                          {"name": "emergency", "confidence": 0.3}])
    message.set("second_opinion", {"name": "ask_safety", "confidence": 0.6})
    run(model, message)
    assert message.get("second_opinion") == {"name": "ask_safety", "confidence": 0.6}
