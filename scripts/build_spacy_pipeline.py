"""Builds the project's spaCy pipeline and writes it where config.yml's SpacyNLP loads it.

python scripts/build_spacy_pipeline.py OUTPUT_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.spacy_pipeline import build_pipeline


def main(output: Path) -> None:
    """Builds the pipeline and replaces `output` with it."""
    nlp = build_pipeline()
    if output.exists():
        shutil.rmtree(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    patterns = len(nlp.get_pipe("entity_ruler").patterns)  # type: ignore[attr-defined]
    print(f"spaCy pipeline written to {output} ({patterns} entity patterns)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
