import dataclasses
import importlib.util

from clinic.paths import PROJECT_ROOT

spec = importlib.util.spec_from_file_location(
    "validate_content", PROJECT_ROOT / "scripts" / "validate_content.py")
validate_content = importlib.util.module_from_spec(spec)
spec.loader.exec_module(validate_content)

HARD = ("Botulinum toxin type A administration necessitates individualised anatomical "
        "localisation, considering musculoskeletal characteristics and concomitant medications.")
MEDIUM = ("Physiotherapy is an important part of the treatment and should start about three "
          "days after the injection. It exercises the muscles.")


def test_reading_grades_warn_above_eight_and_fail_above_ten(resources):
    content = resources.content
    values = resources.settings.template_values()
    problems, warnings, grades = validate_content.check_reading_grades(content, values)
    assert problems == [] and warnings == []
    assert len(grades) == len(content.parent_facing())

    answers = dict(content.answers)
    answers["pain"] = dataclasses.replace(answers["pain"], text=HARD)
    answers["onset"] = dataclasses.replace(answers["onset"], text=MEDIUM)
    harder = dataclasses.replace(content, answers=answers)
    problems, warnings, grades = validate_content.check_reading_grades(harder, values)
    assert len(problems) == 1 and "'pain': reading grade" in problems[0]
    assert len(warnings) == 1 and "'onset': reading grade" in warnings[0]
    assert "2 above 8, 1 above 10" in validate_content.grade_summary(grades)
