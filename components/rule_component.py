"""Base for graph components that apply reviewed rules to the doc SpacyNLP made.

The red-flag override, the scope guard and the aspect resolver each compile a detector from a
content file with the pipeline's own spaCy model (so lemmas match the messages'), once, on first
use: loading files is kept out of import and model loading. The loop over a batch's messages is
here; each component says what its detector does to one message (`apply`).
"""

from __future__ import annotations

from typing import Any, Dict, Generic, List, Optional, Text, Type, TypeVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language
from spacy.tokens import Doc

DetectorT = TypeVar("DetectorT")


def set_top_intent(message: Message, name: str, confidence: float) -> None:
    """Puts intent `name` first, with `confidence`, on the message and its ranking."""
    ranking = [i for i in message.get(INTENT_RANKING_KEY) or [] if i.get("name") != name]
    top = {"name": name, "confidence": confidence}
    message.set(INTENT, top, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)


class RuleComponent(GraphComponent, Generic[DetectorT]):
    """A component without options whose rules are compiled into a detector on first use."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """SpacyNLP must have put a doc on the message."""
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """No options: the rules are in a content file."""
        return {}

    def __init__(self) -> None:
        """Creates the component; the detector is compiled on first use with the pipeline."""
        self._detector: Optional[DetectorT] = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RuleComponent:
        """Creates a new component (see parent class for full docstring)."""
        return cls()

    def detector(self, model: SpacyModel) -> DetectorT:
        """The detector, compiled once with the pipeline's own spaCy model."""
        if self._detector is None:
            self._detector = self.compile_detector(model.model)
        return self._detector

    def compile_detector(self, nlp: Language) -> DetectorT:
        """Reads the rules and compiles them with `nlp` (each component says which)."""
        raise NotImplementedError

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        """Applies the rules to each message SpacyNLP parsed; one without a doc is left alone."""
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            if doc is not None:
                self.apply(message, doc, self.detector(model))
        return messages

    def apply(self, message: Message, doc: Doc, detector: DetectorT) -> None:
        """Marks what `detector` finds in `doc` on the message and settles its intent."""
        raise NotImplementedError
