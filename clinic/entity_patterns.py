"""Entity patterns (content/entity_patterns.yml): loading, validation and lookups."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from clinic.paths import ENTITY_PATTERNS_FILE
from clinic.yaml_files import read_mapping

PHRASE_LABELS = ("body_area", "condition")


@dataclass(frozen=True)
class Term:
    """A canonical entity value with the phrases that mean it."""

    label: str
    id: str
    phrases: Tuple[str, ...]
    topic: Optional[str] = None


@dataclass(frozen=True)
class EntityPatterns:
    """All terms plus the raw token patterns for ages."""

    terms: Tuple[Term, ...]
    age_patterns: Tuple[List[Dict[str, Any]], ...]

    def term(self, label: str, term_id: str) -> Optional[Term]:
        """The term with canonical id `term_id` (as the entity extractor reports it)."""
        for term in self.terms:
            if term.label == label and term.id == term_id:
                return term
        return None


def load_entity_patterns(path: Path = ENTITY_PATTERNS_FILE) -> EntityPatterns:
    """Loads and checks the entity pattern file; raises ValueError naming the problem."""
    raw = read_mapping(Path(path), ValueError, "entity pattern file")
    terms: List[Term] = []
    for label in PHRASE_LABELS:
        for item in raw.get(label) or []:
            if not item.get("id") or not item.get("phrases"):
                raise ValueError(f"{path}: every {label} entry needs an id and phrases: {item}")
            terms.append(
                Term(
                    label=label,
                    id=item["id"],
                    phrases=tuple(" ".join(str(p).lower().split()) for p in item["phrases"]),
                    topic=item.get("topic"),
                )
            )
    ages = raw.get("age") or []
    if not all(isinstance(p, list) and p for p in ages):
        raise ValueError(f"{path}: 'age' must be a list of spaCy token patterns")
    return EntityPatterns(terms=tuple(terms), age_patterns=tuple(ages))
