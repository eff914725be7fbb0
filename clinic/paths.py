"""Where the project's files live (relative to the repository root), and its code packages."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The project's top-level Python packages (root folders with an __init__.py, tests aside): one
#: list for the tools that walk the code (warning filters, lint, the deploy consistency test).
CODE_PACKAGES = ("actions", "channels", "clinic", "components", "escalation", "feedback",
                 "knowledge", "local", "rasa_sdk_plugins", "safety", "stores", "webapp")
#: CLINIC_CONTENT_DIR points the services at a copy of content/ (tests that edit a text).
CONTENT_DIR = Path(os.environ.get("CLINIC_CONTENT_DIR") or PROJECT_ROOT / "content")
ANSWERS_FILE = CONTENT_DIR / "answers.yml"
MESSAGES_FILE = CONTENT_DIR / "messages.yml"
VARIANTS_FILE = CONTENT_DIR / "variants.yml"
ENTITY_PATTERNS_FILE = CONTENT_DIR / "entity_patterns.yml"
SETTINGS_FILE = PROJECT_ROOT / "settings" / "clinic.yml"
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
SPACY_PIPELINE_DIR = PROJECT_ROOT / "build" / "spacy" / "en_clinic"
