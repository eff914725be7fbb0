"""Emergency guidance: sent first, before anything else, with the numbers from settings."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from clinic.resources import get_resources

logger = logging.getLogger(__name__)


class ActionEmergency(Action):
    """Tells the family to call the emergency number / go to the emergency department now."""

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Sends the emergency message; no question is asked before it."""
        dispatcher.utter_message(text=get_resources().message("emergency"))
        logger.warning("emergency guidance sent (conversation %s)", tracker.sender_id)
        return []
