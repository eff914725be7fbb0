"""Entity extractor that reads the entity ruler's canonical ids from the shared spaCy doc.

Rasa's SpacyEntityExtractor runs spaCy a second time on the raw text and returns the matched
words ("necks", "Cerebral Palsy"). This component reuses the doc SpacyNLP already made (the
lowercased text our lemma patterns are written for) and returns the canonical value the
pattern file gives (`neck`, `cerebral_palsy`), so actions and slots see one spelling.
"""

from __future__ import annotations

from typing import Any, Dict, List, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class ClinicEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Turns the entities of the project's spaCy entity ruler into Rasa entities."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """SpacyNLP must have put a doc on the message."""
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Entity labels to keep (None keeps all)."""
        return {"dimensions": None}

    def __init__(self, config: Dict[str, Any]) -> None:
        """Creates the extractor with its configuration."""
        self._config = config

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ClinicEntityExtractor:
        """Creates a new component (see parent class for full docstring)."""
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the ruler's entities, with canonical values, to each message."""
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            if doc is None:
                continue
            extracted = [
                {
                    "entity": ent.label_,
                    "value": ent.ent_id_ or ent.text,
                    "start": ent.start_char,
                    "end": ent.end_char,
                    "confidence": None,
                }
                for ent in doc.ents
            ]
            extracted = self.filter_irrelevant_entities(
                self.add_extractor_name(extracted), self._config["dimensions"]
            )
            message.set(ENTITIES, message.get(ENTITIES, []) + extracted, add_to_output=True)
        return messages
