"""Subjects the vetted content does not cover, found by rules (content/scope.yml).

The classifier only knows the topics it was trained on, so "can botox help with tremor?"
lands on the nearest one (benefits) with some confidence. These reviewed phrase lists catch
such questions by what they name, so the assistant says it cannot answer instead of sending
an answer that does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Tuple

from spacy.language import Language
from spacy.tokens import Doc

from clinic.paths import CONTENT_DIR
from knowledge.lemma_phrases import LemmaPhrases
from knowledge.yaml_files import read_mapping, read_phrase_lists

SCOPE_FILE = CONTENT_DIR / "scope.yml"


@dataclass
class ScopeDetector:
    """Finds subjects outside the vetted content in spaCy docs made by `nlp`."""

    nlp: Language
    path: Path = SCOPE_FILE
    _phrases: LemmaPhrases = field(init=False)

    def __post_init__(self) -> None:
        """Reads the subject file and compiles one lemma matcher for all its phrases."""
        raw = read_mapping(self.path, ValueError, "scope file")
        subjects = read_phrase_lists(raw, "subjects", self.path, "subject")
        self._phrases = LemmaPhrases(self.nlp, subjects)

    def subjects(self, doc: Doc) -> Tuple[str, ...]:
        """The categories of uncovered subjects named in `doc` (sorted, no duplicates)."""
        return self._phrases.found(doc)
