"""Validates everything a parent can read before training, testing or serving.

    python scripts/validate_content.py

Checks the vetted content files, the clinic settings and the entity patterns, that every answer
id has enough NLU examples (intent ask_<id>) and a rule, and that every message intent exists.
Reports the reading grade (Flesch-Kincaid, knowledge/reading_grade.py) of every parent-facing text:
a warning above grade 8, a failure above grade 10.
Exits non-zero with one line per problem, each naming the file and the entry.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic.paths import (  # noqa: E402
    ANSWERS_FILE,
    MESSAGES_FILE,
    NLU_DIR,
    PROJECT_ROOT,
    VARIANTS_FILE,
)
from clinic.settings import SettingsError, load_settings  # noqa: E402
from knowledge.aspects import ASPECTS_FILE, AspectFile, read_aspect_file  # noqa: E402
from knowledge.content import (  # noqa: E402
    Content,
    ContentError,
    check_nlu_coverage,
    count_nlu_examples,
    load_content,
)
from knowledge.entity_patterns import EntityPatterns, load_entity_patterns  # noqa: E402
from knowledge.reading_grade import FAIL_ABOVE, WARN_ABOVE, entry_grade  # noqa: E402

#: Every vetted answer needs at least this many training examples.
MIN_EXAMPLES_PER_ANSWER = 30


def rule_intents(rules_dir: Path) -> set:
    """Intents that start a rule in data/rules/."""
    intents = set()
    for path in sorted(rules_dir.glob("**/*.yml")):
        for rule in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules", []):
            for step in rule.get("steps", []):
                if "intent" in step:
                    intents.add(step["intent"])
    return intents


def check_conditions(
    content: Content, patterns: EntityPatterns, aspect_file: AspectFile
) -> List[str]:
    """Aspects, condition answers and variants name answers and conditions that exist."""
    conditions = {term.variant for term in patterns.terms if term.variant}
    aspects = aspect_file.aspects
    problems = [
        f"{ASPECTS_FILE}: '{answer_id}' (an aspect or general question) is not an answer id"
        for answer_id in [*aspects, *aspect_file.general_questions]
        if answer_id not in content.answers
    ]
    for answer_id, condition in aspect_file.condition_answers.items():
        if answer_id not in content.answers or condition not in conditions:
            problems.append(
                f"{ASPECTS_FILE}: condition_answers '{answer_id}: {condition}' needs an answer "
                f"id and a condition some entity pattern has as `variant`"
            )
    for answer_id, condition in content.variants:
        if condition not in conditions:
            problems.append(
                f"{VARIANTS_FILE}: variant '{answer_id}' for '{condition}': no entity pattern "
                f"has `variant: {condition}`, so it can never be sent"
            )
        if answer_id not in aspects:
            problems.append(
                f"{VARIANTS_FILE}: variant of '{answer_id}': only aspects ({ASPECTS_FILE.name}) "
                "have condition variants"
            )
    return problems


def check_reading_grades(
    content: Content, settings_values: Mapping[str, str]
) -> Tuple[List[str], List[str], Dict[str, Optional[float]]]:
    """(problems above FAIL_ABOVE, warnings above WARN_ABOVE, grade per text id)."""
    files = {"answer": ANSWERS_FILE, "variant": VARIANTS_FILE, "message": MESSAGES_FILE}
    problems, warnings, grades = [], [], {}
    for text_id, (kind, entry) in content.parent_facing().items():
        grade = grades[text_id] = entry_grade(entry, settings_values)
        if grade is None or grade <= WARN_ABOVE:
            continue
        line = f"{files[kind]}: entry '{text_id}': reading grade {grade:.1f}"
        if grade > FAIL_ABOVE:
            problems.append(f"{line} is above {FAIL_ABOVE:g}: rewrite it in plainer words")
        else:
            warnings.append(f"{line} is above {WARN_ABOVE:g} (aim for 6-8)")
    return problems, warnings, grades


def grade_summary(grades: Mapping[str, Optional[float]]) -> str:
    """Median, highest and how many texts are above grade 8 and 10."""
    graded = [grade for grade in grades.values() if grade is not None]
    if not graded:
        return "reading grades: no text long enough to grade"
    return (f"reading grades (Flesch-Kincaid) of {len(graded)} texts: median "
            f"{statistics.median(graded):.1f}, highest {max(graded):.1f}, "
            f"{sum(grade > WARN_ABOVE for grade in graded)} above {WARN_ABOVE:g}, "
            f"{sum(grade > FAIL_ABOVE for grade in graded)} above {FAIL_ABOVE:g}")


def main() -> int:
    """Runs all checks and prints the problems found."""
    problems: List[str] = []
    settings_values: Dict[str, str] = {}
    try:
        settings_values = load_settings().template_values()
    except SettingsError as exc:
        problems.append(str(exc))
    try:
        patterns = load_entity_patterns()
        aspect_file = read_aspect_file()
    except ValueError as exc:
        print(f"content validation failed:\n  {exc}", file=sys.stderr)
        return 1
    try:
        content = load_content()
    except ContentError as exc:
        print(f"content validation failed:\n  {exc}", file=sys.stderr)
        return 1
    problems += check_conditions(content, patterns, aspect_file)
    grade_problems, grade_warnings, grades = check_reading_grades(content, settings_values)
    problems += grade_problems
    print(grade_summary(grades))
    for warning in grade_warnings:
        print(f"  warning: {warning}")

    counts = count_nlu_examples(sorted(NLU_DIR.glob("**/*.yml")))
    problems += check_nlu_coverage(content, counts, MIN_EXAMPLES_PER_ANSWER)
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    domain_intents = set(domain.get("intents", []))
    with_rule = rule_intents(PROJECT_ROOT / "data" / "rules")
    for answer in content.answers.values():
        if answer.intent not in with_rule:
            problems.append(
                f"{ANSWERS_FILE}: entry '{answer.id}': no rule in data/rules/ answers "
                f"intent '{answer.intent}'"
            )
    for message in content.messages.values():
        for intent in message.intents:
            if intent not in domain_intents:
                problems.append(
                    f"{MESSAGES_FILE}: entry '{message.id}': intent '{intent}' is not in domain.yml"
                )
    if problems:
        print("content validation failed:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(
        f"content OK: {len(content.answers)} answers, {len(content.messages)} messages, "
        f"every answer has >= {MIN_EXAMPLES_PER_ANSWER} NLU examples and a rule"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
