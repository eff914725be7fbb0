"""The loaded content and settings, shared by one process.

Loaded on first use (never at import time) and kept, because both are read on every message
and do not change while a server runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import FrozenSet

from clinic.settings import ClinicSettings, load_settings
from knowledge.aspects import read_aspect_file
from knowledge.content import Content, Entry, load_content
from knowledge.entity_patterns import EntityPatterns, load_entity_patterns


@dataclass(frozen=True)
class Resources:
    """Vetted content, clinic settings and entity patterns, with helpers that render texts."""

    content: Content
    settings: ClinicSettings
    entity_patterns: EntityPatterns
    #: Answer ids that are aspects of the treatment (content/aspects.yml).
    aspects: FrozenSet[str] = frozenset()

    def render(self, entry: Entry, **extra: str) -> str:
        """An entry's text with clinic settings (and `extra` values) filled in."""
        return entry.render({**self.settings.template_values(), **extra})

    def message(self, message_id: str, **extra: str) -> str:
        """A conversation message by id, rendered."""
        return self.render(self.content.messages[message_id], **extra)


@lru_cache(maxsize=1)
def get_resources() -> Resources:
    """The process-wide resources, loaded (and validated) on first call."""
    return Resources(
        content=load_content(),
        settings=load_settings(),
        entity_patterns=load_entity_patterns(),
        aspects=frozenset(read_aspect_file().aspects),
    )
