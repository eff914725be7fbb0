"""Where the project's data files live (relative to the repository root)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = PROJECT_ROOT / "content"
ANSWERS_FILE = CONTENT_DIR / "answers.yml"
MESSAGES_FILE = CONTENT_DIR / "messages.yml"
VARIANTS_FILE = CONTENT_DIR / "variants.yml"
ENTITY_PATTERNS_FILE = CONTENT_DIR / "entity_patterns.yml"
SETTINGS_FILE = PROJECT_ROOT / "settings" / "clinic.yml"
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
SPACY_PIPELINE_DIR = PROJECT_ROOT / "build" / "spacy" / "en_clinic"
