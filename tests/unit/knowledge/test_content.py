from pathlib import Path

import pytest

from clinic.paths import MESSAGES_FILE, NLU_DIR
from clinic.settings import load_settings
from knowledge.content import (
    ContentError,
    check_nlu_coverage,
    count_nlu_examples,
    load_content,
)

TIER_1 = [
    "what_is_botox", "how_botox_works", "benefits", "when_recommended", "spasticity_in_children",
    "injection_procedure", "pain", "procedure_duration", "candidates", "expectations",
    "neck_dystonia", "facial_spasm", "eyelid_spasm", "strabismus", "aftercare_activities",
    "physiotherapy", "safety",
]
TIER_2 = [
    "onset", "duration_of_effect", "repeat_injections", "side_effects", "numbing_and_sedation",
    "cosmetic_vs_therapeutic", "casting_and_splints", "clinic_logistics",
]
TIER_2_ENDING = "Your child's team will confirm what applies to your child."

ENTRY = """\
  - id: {id}
    title: A title
    text: Some vetted text.
    source: "Clinic article"
    status: approved
    reviewed_by: "Reviewer"
    reviewed_on: 2026-11-25
"""


def write_answers(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "answers.yml"
    path.write_text("answers:\n" + body)
    return path


@pytest.fixture(scope="module")
def content():
    return load_content()


def test_every_contract_id_exists(content):
    assert set(TIER_1 + TIER_2) <= set(content.answers)


def test_tier_1_is_approved_unless_rewritten_and_tier_2_needs_review(content):
    # A tier 1 text rewritten in plain language (issue 14) is marked for review again.
    for answer_id in TIER_1:
        answer = content.answers[answer_id]
        assert answer.status == "approved" or (
            answer.status == "needs_review" and "rewrite" in answer.reviewed_by), answer_id
    assert {content.answers[i].status for i in TIER_2} == {"needs_review"}


def test_tier_2_answers_end_with_the_team_confirmation(content):
    for answer_id in TIER_2:
        assert content.answers[answer_id].text.endswith(TIER_2_ENDING), answer_id


def test_answers_are_40_to_90_words_with_source_and_reviewer(content):
    values = load_settings(environ={}).template_values()
    for answer in content.answers.values():
        words = len(answer.render(values).split())
        assert 40 <= words <= 95, (answer.id, words)
        assert answer.source and answer.reviewed_by and answer.title


@pytest.mark.parametrize(
    ("answer_id", "must_contain"),
    [
        ("physiotherapy", "exercises the treated muscles"),
        ("eyelid_spasm", "functionally unable to see"),
        ("facial_spasm", "95%"),
        ("physiotherapy", "three days after"),
        ("aftercare_activities", "biking, climbing"),
        ("procedure_duration", "half an hour or less"),
        ("injection_procedure", "very fine needle"),
    ],
)
def test_key_facts_are_stated_correctly(content, answer_id, must_contain):
    assert must_contain in content.answers[answer_id].text


def test_no_answer_states_a_dose(content):
    for answer in content.answers.values():
        lowered = answer.text.lower()
        assert "units" not in lowered and "mg" not in lowered.split(), answer.id


def test_mistranslations_of_the_article_are_not_copied(content):
    every_text = " ".join(a.text for a in content.answers.values()).lower()
    assert "market" not in every_text
    assert "aggravate blindness" not in every_text


def test_messages_render_with_settings(content):
    values = load_settings(environ={}).template_values()
    for message in content.messages.values():
        rendered = message.render(
            {**values, "source": "x", "question": "q", "reference": "r", "next_opening": "n"}
        )
        assert "{" not in rendered, message.id


def test_real_nlu_data_covers_every_answer(content):
    counts = count_nlu_examples(sorted(NLU_DIR.glob("*.yml")))
    assert check_nlu_coverage(content, counts, minimum=30) == []


def test_answer_without_nlu_examples_is_named(content):
    counts = count_nlu_examples(sorted(NLU_DIR.glob("*.yml")))
    counts.pop("ask_strabismus")
    problems = check_nlu_coverage(content, counts, minimum=30)
    assert len(problems) == 1
    assert "answers.yml: entry 'strabismus'" in problems[0]
    assert "has 0 NLU example(s)" in problems[0]


def load_one(tmp_path, body):
    return load_content(write_answers(tmp_path, body), MESSAGES_FILE)


def test_missing_field_names_file_and_entry(tmp_path):
    body = ENTRY.format(id="pain").replace('    source: "Clinic article"\n', "")
    expected = r"answers\.yml: entry 'pain' \(#1\): missing field\(s\): source"
    with pytest.raises(ContentError, match=expected):
        load_one(tmp_path, body)


def test_duplicate_id_is_rejected(tmp_path):
    with pytest.raises(ContentError, match=r"answers\.yml: entry 'pain' \(#2\): duplicate id"):
        load_one(tmp_path, ENTRY.format(id="pain") + ENTRY.format(id="pain"))


def test_empty_text_is_rejected(tmp_path):
    body = ENTRY.format(id="pain").replace("text: Some vetted text.", 'text: "  "')
    with pytest.raises(ContentError, match=r"entry 'pain' \(#1\): field 'text' is empty"):
        load_one(tmp_path, body)


def test_unknown_status_is_rejected(tmp_path):
    body = ENTRY.format(id="pain").replace("status: approved", "status: draft")
    with pytest.raises(ContentError, match="status must be one of approved, needs_review"):
        load_one(tmp_path, body)


def test_unknown_placeholder_is_rejected(tmp_path):
    body = ENTRY.format(id="pain").replace("Some vetted text.", "Call {fax_number}.")
    with pytest.raises(ContentError, match="unknown placeholder.*fax_number"):
        load_one(tmp_path, body)


def test_message_button_must_name_an_answer(tmp_path):
    # The real messages file offers buttons for answers this one-entry file does not have.
    with pytest.raises(ContentError, match=r"messages\.yml: entry 'greet': buttons name unknown"):
        load_one(tmp_path, ENTRY.format(id="pain"))


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ContentError, match="not found"):
        load_content(tmp_path / "absent.yml", MESSAGES_FILE)


def test_variants_are_loaded_with_review_fields(content):
    assert content.variants
    for (answer_id, condition), variant in content.variants.items():
        assert answer_id in content.answers
        assert variant.id == f"{answer_id}_for_{condition}"
        assert variant.status == "needs_review" and variant.source and variant.reviewed_by
        assert 30 <= len(variant.text.split()) <= 95, variant.id
        assert variant.text.endswith(TIER_2_ENDING), variant.id


def test_a_side_effects_variant_keeps_the_emergency_signs(content):
    for (answer_id, _), variant in content.variants.items():
        if answer_id == "side_effects":
            assert "emergency help at once" in variant.text, variant.id
            assert "double vision" in variant.text and "drooping eyelids" in variant.text


def test_answer_for_falls_back_to_the_general_answer(content):
    assert content.answer_for("onset", "blepharospasm") == (
        content.variants[("onset", "blepharospasm")], True)
    assert content.answer_for("onset", "no_such_condition") == (content.answers["onset"], False)
    assert content.answer_for("onset", None) == (content.answers["onset"], False)


VARIANT = """\
variants:
  - answer: {answer}
    condition: {condition}
    text: Some vetted text.
    source: "A leaflet"
    status: needs_review
    reviewed_by: "Reviewer"
    reviewed_on: 2026-12-02
"""


@pytest.mark.parametrize(("answer", "condition", "problem"), [
    ("no_such_answer", "blepharospasm", "'answer' must be an answer id"),
    ("[onset]", "blepharospasm", "'answer' must be an answer id"),  # a list: was a TypeError
    ("onset", "Blepharo Spasm", "'condition' must be"),
])
def test_bad_variant_is_named(tmp_path, answer, condition, problem):
    answers = write_answers(tmp_path, ENTRY.format(id="onset"))
    messages = tmp_path / "messages.yml"
    greet = ENTRY.format(id="greet").replace("    title: A title\n", "")
    messages.write_text("messages:\n" + greet)
    variants = tmp_path / "variants.yml"
    variants.write_text(VARIANT.format(answer=answer, condition=condition))
    assert load_content(answers, messages, None).variants == {}
    with pytest.raises(ContentError, match=problem):
        load_content(answers, messages, variants)
