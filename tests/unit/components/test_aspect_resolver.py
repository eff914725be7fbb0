import pytest
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.aspect_resolver import ASPECT_KEY, AspectResolver
from components.second_opinion import SECOND_OPINION_KEY
from knowledge.spacy_pipeline import build_pipeline

NECK = {"entity": "body_area", "value": "neck"}
EYELID = {"entity": "body_area", "value": "eyelid"}


@pytest.fixture(scope="module")
def model():
    return SpacyModel(model=build_pipeline(), model_name="clinic")


def resolved(model, text, intent, ranking, opinion=None, entities=()):
    ranking = [{"name": name, "confidence": c} for name, c in ranking]
    message = Message(data={
        TEXT: text,
        SPACY_DOCS[TEXT]: model.model(text.lower()),
        INTENT: {"name": intent, "confidence": ranking[0]["confidence"]},
        INTENT_RANKING_KEY: ranking,
        ENTITIES: list(entities),
        SECOND_OPINION_KEY: {"name": opinion or ranking[0]["name"], "confidence": 0.6},
    })
    AspectResolver().process([message], model)
    return message


def test_condition_and_aspect_hesitation_is_settled_for_the_aspect(model):
    message = resolved(
        model, "how soon will we see a difference for his neck", "nlu_fallback",
        [("ask_neck_dystonia", 0.5), ("ask_onset", 0.35)], entities=[NECK],
    )
    assert message.get(INTENT) == {"name": "ask_onset", "confidence": 0.35}
    assert message.get(ASPECT_KEY) == {
        "aspects": ["onset"], "condition": "cervical_dystonia", "resolved": True,
    }


def test_confident_condition_answer_gives_way_to_the_named_aspect(model):
    message = resolved(
        model, "does it hurt for the eyelids", "ask_eyelid_spasm",
        [("ask_eyelid_spasm", 0.8), ("ask_facial_spasm", 0.1), ("ask_pain", 0.05)],
        entities=[EYELID],
    )
    assert message.get(INTENT)["name"] == "ask_pain"


def test_aspect_the_classifiers_did_not_find_likely_is_not_forced(model):
    message = resolved(
        model, "does it hurt for the eyelids", "ask_eyelid_spasm",
        [("ask_eyelid_spasm", 0.8), ("ask_facial_spasm", 0.1), ("ask_strabismus", 0.05),
         ("ask_pain", 0.01)],
        entities=[EYELID],
    )
    assert message.get(INTENT)["name"] == "ask_eyelid_spasm"


def test_two_aspects_named_settle_nothing(model):
    message = resolved(
        model, "how soon does it work and how long does it last", "nlu_fallback",
        [("ask_onset", 0.45), ("ask_duration_of_effect", 0.4)],
    )
    assert message.get(INTENT)["name"] == "nlu_fallback"


def test_aspect_words_settle_a_hesitation_between_two_aspects(model):
    message = resolved(
        model, "how soon does it kick in", "nlu_fallback",
        [("ask_procedure_duration", 0.45), ("ask_onset", 0.4)],
    )
    assert message.get(INTENT)["name"] == "ask_onset"


def test_an_agreed_other_topic_is_left_alone(model):
    message = resolved(
        model, "what side effects does botox have for the neck", "ask_side_effects",
        [("ask_side_effects", 0.9), ("ask_neck_dystonia", 0.05)], entities=[NECK],
    )
    assert message.get(INTENT)["name"] == "ask_side_effects"
    assert message.get(ASPECT_KEY)["resolved"] is False


def test_without_a_condition_a_confident_condition_answer_stays(model):
    message = resolved(
        model, "how long does botox last for torticollis", "ask_neck_dystonia",
        [("ask_neck_dystonia", 0.9), ("ask_duration_of_effect", 0.05)],
    )
    assert message.get(INTENT)["name"] == "ask_neck_dystonia"


def test_general_question_naming_a_condition_gets_the_conditions_answer(model):
    message = resolved(
        model, "I have torticollis, would botox help me?", "ask_benefits",
        [("ask_benefits", 0.7), ("ask_neck_dystonia", 0.2)],
        entities=[{"entity": "condition", "value": "cervical_dystonia"}],
    )
    assert message.get(INTENT)["name"] == "ask_neck_dystonia"


def test_general_question_about_spasticity_keeps_its_answer(model):
    message = resolved(
        model, "would botox help his cerebral palsy", "ask_benefits",
        [("ask_benefits", 0.7), ("ask_spasticity_in_children", 0.2)],
        entities=[{"entity": "condition", "value": "cerebral_palsy"}],
    )
    assert message.get(INTENT)["name"] == "ask_benefits"
