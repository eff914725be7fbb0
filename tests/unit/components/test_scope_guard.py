import pytest
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.red_flag_override import RedFlagOverride
from components.scope_guard import ScopeGuard
from knowledge.spacy_pipeline import build_pipeline


@pytest.fixture(scope="module")
def model():
    return SpacyModel(model=build_pipeline(), model_name="clinic")


# One of each component for the module: each compiles its rules once, on the module's model (new
# ones per test compiled them again, about 0.2 s of CPU each).
RULES, GUARD = RedFlagOverride(), ScopeGuard()


def classified(model, text, *ranking):
    ranking = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    return Message(
        data={
            TEXT: text,
            SPACY_DOCS[TEXT]: model.model(text.lower()),
            INTENT: ranking[0],
            INTENT_RANKING_KEY: ranking,
        }
    )


def run(model, message):
    # The pipeline's order: the red-flag rules first, then the scope guard.
    RULES.process([message], model)
    GUARD.process([message], model)
    return message


def test_topic_question_about_an_uncovered_subject_is_out_of_scope(model):
    message = run(model, classified(
        model, "can botox reduce tremors?", ("ask_benefits", 0.91), ("ask_candidates", 0.05),
    ))
    assert message.get(INTENT) == {"name": "out_of_scope", "confidence": 1.0}
    assert [i["name"] for i in message.get(INTENT_RANKING_KEY)] == [
        "out_of_scope", "ask_benefits", "ask_candidates",
    ]
    assert message.get("outside_scope") == ["other_conditions"]


def test_confidence_gate_question_is_out_of_scope_too(model):
    message = run(model, classified(
        model, "is myobloc better", ("nlu_fallback", 0.6), ("ask_what_is_botox", 0.4),
    ))
    assert message.get(INTENT)["name"] == "out_of_scope"


def test_red_flag_alarm_is_never_taken_away(model):
    message = run(model, classified(
        model, "my son is drooling and can't swallow since the injection",
        ("ask_side_effects", 0.8), ("emergency", 0.1),
    ))
    assert message.get(INTENT)["name"] == "emergency"


def test_general_question_about_a_red_flag_symptom_is_left_to_the_classifier(model):
    message = run(model, classified(
        model, "with myobloc, can it cause trouble swallowing?", ("nlu_fallback", 0.5),
        ("ask_side_effects", 0.5),
    ))
    assert message.get("red_flags")["general_question"] is True
    assert message.get(INTENT)["name"] == "nlu_fallback"


def test_side_effects_question_keeps_the_answer_with_the_urgent_signs(model):
    message = run(model, classified(
        model, "she sweats a lot since the injection", ("ask_side_effects", 0.7),
    ))
    assert message.get("outside_scope") == ["other_conditions"]
    assert message.get(INTENT)["name"] == "ask_side_effects"


@pytest.mark.parametrize("intent", ["ask_dose", "ask_personal_advice", "greet", "request_human"])
def test_guarded_and_conversational_intents_are_kept(model, intent):
    message = run(model, classified(model, "hello, about baclofen", (intent, 0.9)))
    assert message.get(INTENT)["name"] == intent


def test_cosmetic_request_is_out_of_scope_but_the_comparison_is_answered(model):
    request = run(model, classified(
        model, "can i book botox for my wrinkles", ("ask_clinic_logistics", 0.9),
    ))
    assert request.get(INTENT)["name"] == "out_of_scope"
    comparison = run(model, classified(
        model, "is it the same botox they use for wrinkles?",
        ("ask_cosmetic_vs_therapeutic", 0.9),
    ))
    assert comparison.get(INTENT)["name"] == "ask_cosmetic_vs_therapeutic"


def test_covered_question_is_untouched(model):
    message = run(model, classified(model, "does it hurt?", ("ask_pain", 0.95)))
    assert message.get(INTENT) == {"name": "ask_pain", "confidence": 0.95}
    assert message.get("outside_scope") == []
