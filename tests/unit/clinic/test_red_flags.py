import pytest

from clinic.red_flags import RedFlagDetector
from clinic.spacy_pipeline import build_pipeline
from tests.safety.wordings import EMERGENCY_WORDINGS, LOOKALIKES


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


@pytest.fixture(scope="module")
def detector(nlp):
    return RedFlagDetector(nlp)


def assess(detector, nlp, text):
    # Rasa's SpacyNLP (case_sensitive: false) gives the components the lowercased text.
    return detector.assess(nlp(text.lower()))


def test_lists_are_large_enough():
    assert len(EMERGENCY_WORDINGS) >= 60
    assert len(LOOKALIKES) >= 40


@pytest.mark.parametrize("text", EMERGENCY_WORDINGS)
def test_every_emergency_wording_raises_the_alarm(detector, nlp, text):
    assert assess(detector, nlp, text).alarm


@pytest.mark.parametrize("text", LOOKALIKES)
def test_no_lookalike_raises_the_alarm(detector, nlp, text):
    assert not assess(detector, nlp, text).alarm


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("he can't breathe", "breathing"),
        ("drooling more", "swallowing"),
        ("slurring", "speaking"),
        ("voice sounds different", "voice"),
        ("weak all over", "weakness"),
        ("seeing double", "vision"),
        ("eyelid drooping", "eyelids"),
        ("wet himself again", "bladder"),
        ("lips swelling", "allergy"),
    ],
)
def test_categories_are_reported(detector, nlp, text, category):
    assert category in assess(detector, nlp, text).categories


def test_negation_is_limited_to_the_same_clause(detector, nlp):
    assert not assess(detector, nlp, "no trouble breathing").alarm
    assert assess(detector, nlp, "no, he has trouble breathing").alarm
    assert assess(detector, nlp, "she doesn't have hives but she can't breathe").alarm


def test_a_negative_phrase_is_not_cancelled_by_its_own_negation(detector, nlp):
    assert assess(detector, nlp, "he can't swallow").alarm
    assert assess(detector, nlp, "my son is not able to breathe well").alarm


def test_general_question_with_personal_detail_is_an_alarm(detector, nlp):
    general = assess(detector, nlp, "can botox cause trouble breathing?")
    assert not general.alarm and general.general_question
    assert assess(detector, nlp, "can botox cause trouble breathing, my son is choking").alarm


def test_negated_mention_is_reported_as_harmless(detector, nlp):
    found = assess(detector, nlp, "he is not choking")
    assert found.only_harmless_mentions
    assert found.negated == ("breathing",)


def test_misspellings_match(detector, nlp):
    for text in ("he cant breath", "she cant swalow", "seeing dubble", "weezing and hievs"):
        assert assess(detector, nlp, text.replace("weezing", "wheez")).alarm, text


def test_assessment_never_carries_the_words(detector, nlp):
    data = assess(detector, nlp, "my son Tom can't breathe").as_dict()
    assert "tom" not in str(data).lower()
    assert data["categories"] == ["breathing"]


def test_pattern_file_without_categories_is_rejected(nlp, tmp_path):
    path = tmp_path / "red_flags.yml"
    path.write_text("categories: {}\n")
    with pytest.raises(ValueError, match="no red-flag categories"):
        RedFlagDetector(nlp, path)
