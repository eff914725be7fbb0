import pytest

from knowledge.reading_grade import FAIL_ABOVE, entry_grade, grade_band, reading_grade

HARD = ("Botulinum toxin type A administration necessitates individualised anatomical "
        "localisation, considering musculoskeletal characteristics and concomitant medications.")
PLAIN = "The doctor gives the shot in the leg. It takes a few minutes. Your child can go home."


def test_plain_text_grades_lower_than_technical_text():
    assert reading_grade(PLAIN) < 4 < FAIL_ABOVE < reading_grade(HARD)
    assert grade_band(reading_grade(PLAIN)) == "ok"
    assert grade_band(reading_grade(HARD)) == "too hard"
    assert grade_band(9.0) == "hard"


def test_labels_are_not_graded():
    # "{clinic_name} assistant" came out at grade 17: the formula needs sentences.
    assert reading_grade("Sunny Clinic assistant") is None
    assert grade_band(None) == "label"


def test_no_parent_facing_text_is_above_grade_ten(resources):
    values = resources.settings.template_values()
    too_hard = {
        text_id: entry_grade(entry, values)
        for text_id, (_, entry) in resources.content.parent_facing().items()
        if (entry_grade(entry, values) or 0) > FAIL_ABOVE
    }
    assert too_hard == {}


@pytest.mark.parametrize("text_id", ["emergency", "disclaimer"])
def test_the_emergency_message_and_disclaimer_read_at_grade_eight_or_below(resources, text_id):
    entry = resources.content.messages[text_id]
    assert entry_grade(entry, resources.settings.template_values()) <= 8
