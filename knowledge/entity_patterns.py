"""Entity patterns (content/entity_patterns.yml): loading, validation and lookups."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from clinic.paths import ENTITY_PATTERNS_FILE
from knowledge.yaml_files import read_mapping

PHRASE_LABELS = ("body_area", "condition")


@dataclass(frozen=True)
class Term:
    """A canonical entity value with the phrases that mean it."""

    label: str
    id: str
    phrases: Tuple[str, ...]
    topic: Optional[str] = None
    #: The condition whose answer variants apply (content/variants.yml), if any.
    variant: Optional[str] = None


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

    def variant_condition(self, entities: Iterable[Mapping[str, Any]]) -> Optional[str]:
        """The one condition whose answer variants apply to these Rasa entities, or None.

        None when no named term has a variant, or when terms of different conditions are
        named ("his neck and his legs"): then no variant is chosen for the parent.
        """
        found = {
            term.variant
            for entity in entities
            if (term := self.term(str(entity.get("entity")), str(entity.get("value"))))
            and term.variant
        }
        return found.pop() if len(found) == 1 else None


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
                    variant=item.get("variant"),
                )
            )
    ages = raw.get("age") or []
    if not all(isinstance(p, list) and p for p in ages):
        raise ValueError(f"{path}: 'age' must be a list of spaCy token patterns")
    return EntityPatterns(terms=tuple(terms), age_patterns=tuple(ages))
