"""The project's spaCy pipeline, built from official packages only (no model download).

`spacy.blank("en")` + the English lookup lemmatizer (tables from spacy-lookups-data, stored
inside the pipeline so they are not needed at run time) + an entity ruler with the domain's
patterns (content/entity_patterns.yml), matched on lemmas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import spacy
from spacy.language import Language

from clinic.paths import ENTITY_PATTERNS_FILE
from knowledge.entity_patterns import EntityPatterns, load_entity_patterns


def ruler_patterns(nlp: Language, entity_patterns: EntityPatterns) -> List[Dict[str, Any]]:
    """Entity-ruler patterns: each phrase as the lemmas `nlp` gives its (lowercased) words."""
    patterns: List[Dict[str, Any]] = []
    for term in entity_patterns.terms:
        for phrase in term.phrases:
            tokens = [{"LEMMA": token.lemma_} for token in nlp(phrase.lower())]
            patterns.append({"label": term.label, "id": term.id, "pattern": tokens})
    for age in entity_patterns.age_patterns:
        patterns.append({"label": "age", "pattern": age})
    return patterns


def build_pipeline(patterns_file: Path = ENTITY_PATTERNS_FILE) -> Language:
    """Builds the pipeline in memory."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # The phrases' lemmas need the lemmatizer's tables, so initialise before adding the ruler.
    nlp.initialize()
    patterns = ruler_patterns(nlp, load_entity_patterns(patterns_file))
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    nlp.meta["name"] = "clinic_pipeline"
    nlp.meta["description"] = "Blank English + lookup lemmatizer + clinic entity ruler"
    return nlp
