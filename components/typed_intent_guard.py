"""Rasa graph component: a hand-typed `/intent{...}` is read as text, not obeyed.

Rasa's RegexMessageHandler (always the last NLU node) replaces the classifier's verdict with the
intent and entities of any message that starts with "/". This component runs first in the
pipeline and rewrites such messages (safety/user_input.py) so that only the bare `/intent` form
of an intent the assistant's own buttons send reaches that handler. Everything else, e.g.
`/greet{"a": 1} he can't breathe`, `/request_human{"contact": "..."}`, or a bare intent no
button sends (`/emergency`, which would open an urgent case and notify the clinic with no
emergency in sight; `/restart`), goes through the classifier and the red-flag override like any
typed sentence. The tracker keeps what the parent actually typed.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic.resources import get_resources
from knowledge.intents import BUTTON_INTENTS, COMMAND_INTENTS
from safety.log_redaction import install as install_log_redaction
from safety.user_input import clean_text, is_button_payload, neutralise_typed_intent


def button_intents() -> FrozenSet[str]:
    """Every intent a parent may send as a bare `/intent`: the ones buttons send, and `/stop`."""
    answers = get_resources().content.answers.values()
    return BUTTON_INTENTS | COMMAND_INTENTS | {answer.intent for answer in answers}


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class TypedIntentGuard(GraphComponent):
    """Rewrites typed intent shortcuts into plain text before the NLU pipeline reads them."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """No options."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TypedIntentGuard:
        """Creates a new component (see parent class for full docstring)."""
        # Every process that loads the model (server, shell, tests) redacts its logs, also
        # where run_services.sh's start-up hook is not used.
        install_log_redaction()
        return cls(button_intents())

    def __init__(self, allowed: FrozenSet[str] = frozenset()) -> None:
        """Obeys a bare `/intent` only for the intents in `allowed` (button_intents())."""
        self.allowed = allowed or button_intents()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples are left alone (they never use the shortcut)."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Rewrites each message's text when it is a typed shortcut (or unprocessable)."""
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str):
                # Rasa's own components expect a string; nothing useful can be read from None.
                message.set(TEXT, "")
                continue
            safe = neutralise_typed_intent(clean_text(text))
            if is_button_payload(safe) and safe.strip()[1:] not in self.allowed:
                # A bare intent no button sends: read as the word(s) it names.
                safe = safe.strip()[1:]
            if safe != text:
                message.set(TEXT, safe)
        return messages
