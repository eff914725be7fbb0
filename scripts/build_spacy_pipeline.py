"""Builds the project's spaCy pipeline from official packages only (no model download).

    python scripts/build_spacy_pipeline.py OUTPUT_DIR

The pipeline is `spacy.blank("en")` + the English lookup lemmatizer (tables from
spacy-lookups-data, copied into the pipeline so they are not needed at run time) + an entity
ruler with the domain's patterns (content/entity_patterns.yml), matched on lemmas. Rasa's
SpacyNLP loads the result by path (config.yml).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List

import spacy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic.entity_patterns import load_entity_patterns  # noqa: E402


def build(output: Path) -> None:
    """Builds the pipeline and writes it to `output` (replacing what is there)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # Lemmas of the phrases need the lemmatizer's tables, so initialise it first.
    nlp.initialize()

    patterns: List[Dict[str, Any]] = []
    entity_patterns = load_entity_patterns()
    for term in entity_patterns.terms:
        for phrase in term.phrases:
            # The same lemma pattern as messages will produce (Rasa lowercases input).
            tokens = [{"LEMMA": token.lemma_} for token in nlp(phrase.lower())]
            patterns.append({"label": term.label, "id": term.id, "pattern": tokens})
    for age in entity_patterns.age_patterns:
        patterns.append({"label": "age", "pattern": age})

    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    nlp.meta["name"] = "clinic_pipeline"
    nlp.meta["description"] = "Blank English + lookup lemmatizer + clinic entity ruler"

    if output.exists():
        shutil.rmtree(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    print(f"spaCy pipeline written to {output} ({len(patterns)} entity patterns)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
