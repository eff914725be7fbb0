import pytest

from knowledge.spacy_pipeline import build_pipeline
from safety.red_flags import RedFlagDetector
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


def alarm(detector, nlp, text):
    return assess(detector, nlp, text).alarm


def test_lists_are_large_enough():
    # Grown with the red-flag precision work: reports phrased as questions, and look-alikes.
    assert len(EMERGENCY_WORDINGS) >= 110
    assert len(LOOKALIKES) >= 90


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
        ("he had a seizure after the botox", "seizure"),
        ("can't chew properly since the jaw injections", "swallowing"),
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


# --- Red-flag precision: condition being treated, background, what-if, and reports.


def test_background_seizures_are_not_an_alarm(detector, nlp):
    found = assess(detector, nlp, "he has seizures, can he still have botox?")
    assert not found.alarm and found.background
    assert found.categories == ("seizure",)
    assert found.only_harmless_mentions


def test_a_seizure_needs_a_sign_it_came_with_the_injection(detector, nlp):
    assert alarm(detector, nlp, "he had a seizure after the botox")
    assert alarm(detector, nlp, "she's been fitting on and off")
    assert alarm(detector, nlp, "my son had a fit, what should we do?")
    assert not alarm(detector, nlp, "he had a seizure last year, before any botox")
    assert not assess(detector, nlp, "is botox a good fit for him").categories


def test_an_injection_cue_beats_background(detector, nlp):
    assert alarm(
        detector, nlp, "he has seizures and had one after the botox, can he still have it?"
    )
    assert alarm(detector, nlp, "he had botox for his squint and he sees double")
    assert not alarm(detector, nlp, "can he have botox for his squint? he sees double")


def test_a_medicine_named_after_a_symptom_is_not_a_mention(detector, nlp):
    found = assess(detector, nlp, "my son takes seizure medication, is that a problem?")
    assert not found.alarm and found.categories == ()


def test_condition_being_treated_is_not_an_alarm(detector, nlp):
    assert not alarm(detector, nlp, "is botox used for a squint or double vision?")
    assert not alarm(
        detector, nlp, "her eyes close because of blepharospasm, she can't keep her eyes open"
    )
    assert alarm(detector, nlp, "she had botox for her squint and since then she sees double")


def test_what_if_covers_the_rest_of_its_sentence_only(detector, nlp):
    found = assess(detector, nlp, "what if he gets an allergic reaction?")
    assert not found.alarm and found.general_question
    assert not alarm(detector, nlp, "what happens if it spreads and he can't swallow?")
    # The symptom comes before the what-if, or in its own sentence: a report.
    assert alarm(detector, nlp, "what if he chokes? he is drooling more")
    assert alarm(detector, nlp, "he can't swallow, what if it spreads?")
    # An indirect question is not a what-if.
    assert alarm(detector, nlp, "not sure if it matters but he is choking on his food")


def test_a_report_followed_by_a_question_stays_an_alarm(detector, nlp):
    for text in (
        "I have had double vision since the injections; is it temporary, how long will it last?",
        "is it normal that her eyelid is drooping after the injection?",
        "is double vision a side effect? she sees double since friday",
        "is it normal she can't chew her food after the injections in her face?",
        "my son has had no bladder control since the injections, will it come back?",
    ):
        assert assess(detector, nlp, text).alarm, text
    assert not alarm(detector, nlp, "is double vision a side effect after botox?")


def test_lifelong_since_is_not_a_report_cue(detector, nlp):
    assert not alarm(detector, nlp, "she has had seizures since she was a baby, is botox ok?")
    assert not alarm(detector, nlp, "he's had swallowing problems since birth, can he have botox")
    assert alarm(detector, nlp, "she has had swallowing problems since the botox")


def test_a_present_statement_beats_background(detector, nlp):
    assert alarm(detector, nlp, "she takes keppra and she is wheezing")
    assert not alarm(detector, nlp, "she takes keppra and had a fit years ago")


def test_report_required_must_name_a_category(nlp, tmp_path):
    path = tmp_path / "red_flags.yml"
    path.write_text("categories:\n  breathing: [choke]\nreport_required: [seizure]\n")
    with pytest.raises(ValueError, match="report_required"):
        RedFlagDetector(nlp, path)
