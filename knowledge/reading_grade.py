"""Reading grade of parent-facing texts: the Flesch-Kincaid US school grade.

Health-literacy guidance asks for patient texts at about grade 6-8. textstat 0.7.4 counts
syllables with pyphen's bundled dictionaries, offline (later versions fetch a corpus from the
network at first use). A text is graded as the parent reads it: placeholders filled with the
clinic settings. Labels and one-line prompts (fewer than MIN_WORDS words) get no grade: the
formula needs sentences, and "{clinic_name} assistant" came out at grade 17.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

import textstat

from knowledge.content import ACTION_PLACEHOLDERS, Entry

#: Above this grade `make validate` warns and the text should be rewritten.
WARN_ABOVE = 8.0
#: Above this grade `make validate` fails.
FAIL_ABOVE = 10.0
#: Shorter texts are not graded.
MIN_WORDS = 10
#: Stand-ins for the placeholders the actions fill (a source line, a case reference, ...).
_ACTION_VALUES = {name: "it" for name in ACTION_PLACEHOLDERS}

textstat.set_lang("en_US")


def reading_grade(text: str) -> Optional[float]:
    """The Flesch-Kincaid grade of `text` to one decimal; None under MIN_WORDS words."""
    if len(text.split()) < MIN_WORDS:
        return None
    return round(float(textstat.flesch_kincaid_grade(text)), 1)


def entry_grade(entry: Entry, settings_values: Mapping[str, str]) -> Optional[float]:
    """The grade of an entry's text as sent: clinic settings filled in."""
    return reading_grade(entry.render({**_ACTION_VALUES, **settings_values}))


def grade_band(grade: Optional[float]) -> str:
    """`ok` (up to grade 8), `hard` (above 8), `too hard` (above 10) or `label` (not graded)."""
    if grade is None:
        return "label"
    if grade > FAIL_ABOVE:
        return "too hard"
    return "hard" if grade > WARN_ABOVE else "ok"


def grades(
    entries: Mapping[str, Entry], settings_values: Mapping[str, str]
) -> Dict[str, Optional[float]]:
    """Grade per entry id."""
    return {key: entry_grade(entry, settings_values) for key, entry in entries.items()}
