import pytest

from knowledge.scope import SCOPE_FILE, ScopeDetector
from knowledge.spacy_pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


@pytest.fixture(scope="module")
def detector(nlp):
    return ScopeDetector(nlp)


@pytest.mark.parametrize(
    ("text", "subjects"),
    [
        ("can botox help with tremors?", ("other_conditions",)),
        ("could they inject his salivary glands", ("other_conditions",)),
        ("is myobloc the same as botox", ("other_medicines",)),
        ("she takes baclofen and is pregnant", ("other_medicines", "pregnancy")),
        ("do they use ultrasound to find the muscle", ("injection_technique",)),
        ("would a selective dorsal rhizotomy be better", ("other_treatments",)),
    ],
)
def test_uncovered_subjects_are_found_by_lemma(nlp, detector, text, subjects):
    assert detector.subjects(nlp(text.lower())) == subjects


@pytest.mark.parametrize(
    "text",
    [
        "does it hurt?",
        "how long does botox last for neck dystonia",
        "can my son ride his bike after",
        "what is botox made from",
        # A red-flag wording, left to the red-flag rules and the side-effects answer.
        "he is drooling more since the injection",
        # Words that only look like listed subjects.
        "is the stick very sticky",
        "tickets for the clinic",
    ],
)
def test_covered_questions_name_no_subject(nlp, detector, text):
    assert detector.subjects(nlp(text.lower())) == ()


def test_every_listed_phrase_is_found_in_a_sentence(nlp, detector):
    import yaml

    subjects = yaml.safe_load(SCOPE_FILE.read_text(encoding="utf-8"))["subjects"]
    for category, phrases in subjects.items():
        for phrase in phrases:
            text = f"can botox help with {phrase.lower()}?"
            assert category in detector.subjects(nlp(text)), phrase


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("subjects: {}\n", "no subjects"),
        ("subjects:\n  other: []\n", "subject 'other' needs a list of phrases"),
        ("subjects:\n  other: [tremor, '']\n", "subject 'other' needs a list of phrases"),
        ("[not, a, mapping]\n", "expected a mapping"),
    ],
)
def test_bad_scope_file_fails_naming_the_file(nlp, tmp_path, content, message):
    path = tmp_path / "scope.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as failure:
        ScopeDetector(nlp, path)
    assert str(path) in str(failure.value)
