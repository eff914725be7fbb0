"""Small talk, help and guard replies, each a vetted message chosen by intent."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from clinic.resources import get_resources
from knowledge.buttons import topic_buttons

logger = logging.getLogger(__name__)


class ActionReply(Action):
    """Replies with the content/messages.yml entry whose `intents` list the latest intent."""

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_reply"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Sends the message for the intent (with its topic buttons), or hands over."""
        resources = get_resources()
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False) or ""
        message = resources.content.message_for_intent(intent)
        if message is None:
            # A rule points here for an intent without a message: do not improvise.
            logger.error("no vetted message for intent %s", intent)
            dispatcher.utter_message(text=resources.message("cannot_answer"))
            return []
        dispatcher.utter_message(
            text=resources.render(message),
            buttons=topic_buttons(resources.content, message.buttons) or None,
        )
        return []
