import pytest
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.clinic_entity_extractor import ClinicEntityExtractor
from knowledge.spacy_pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def extract(nlp, text, dimensions=None):
    # SpacyNLP (case_sensitive: false) puts the doc of the lowercased text on the message.
    message = Message(data={TEXT: text, SPACY_DOCS[TEXT]: nlp(text.lower())})
    ClinicEntityExtractor({"dimensions": dimensions}).process([message])
    return [(e["entity"], e["value"]) for e in message.get(ENTITIES, [])]


def test_body_areas_are_canonical_across_plural_and_case(nlp):
    assert extract(nlp, "What about for the NECK?") == [("body_area", "neck")]
    assert extract(nlp, "both necks") == [("body_area", "neck")]
    assert extract(nlp, "his calves are tight") == [("body_area", "leg")]


def test_conditions_and_ages(nlp):
    found = extract(nlp, "My 6 year old has Cerebral Palsy and dystonia")
    assert ("condition", "cerebral_palsy") in found
    assert ("condition", "dystonia") in found
    assert ("age", "6 year old") in found


def test_multiword_body_area(nlp):
    assert extract(nlp, "she has crossed eyes") == [("body_area", "squint")]


def test_dimensions_filter(nlp):
    assert extract(nlp, "my 6 year old's neck", dimensions=["body_area"]) == [
        ("body_area", "neck")
    ]


def test_entity_positions_point_into_the_text(nlp):
    text = "and for the eyelids?"
    message = Message(data={TEXT: text, SPACY_DOCS[TEXT]: nlp(text.lower())})
    ClinicEntityExtractor({"dimensions": None}).process([message])
    [entity] = message.get(ENTITIES)
    assert text[entity["start"]:entity["end"]] == "eyelids"
    assert entity["extractor"] == "ClinicEntityExtractor"


def test_message_without_doc_is_left_alone():
    message = Message(data={TEXT: "hello"})
    ClinicEntityExtractor({"dimensions": None}).process([message])
    assert message.get(ENTITIES) is None
