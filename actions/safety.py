"""Emergency guidance: sent first, before anything else, then recorded as an urgent case."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.escalation import FORM_SLOTS
from actions.transcript import last_user_text, recent_transcript
from clinic.resources import get_resources
from escalation.service import record_escalation
from knowledge.content import EMERGENCY_MESSAGE

logger = logging.getLogger(__name__)


class ActionEmergency(Action):
    """Tells the family to call the emergency number / go to the emergency department now."""

    def name(self) -> Text:
        """Action name used in the domain and rules."""
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Sends the emergency message, records an urgent case, drops any form's details."""
        # The message goes out whatever happens to the record below. `kind` lets the web
        # widget show it as an alert (other channels ignore it).
        dispatcher.utter_message(text=get_resources().message(EMERGENCY_MESSAGE), kind="emergency")
        red_flags = tracker.latest_message.get("red_flags") or {}
        escalation = await record_escalation(
            urgency="urgent",
            reason="emergency: " + (", ".join(red_flags.get("categories") or []) or "classifier"),
            channel=tracker.get_latest_input_channel() or "unknown",
            conversation_id=tracker.sender_id,
            # The transcript as the bot saw it, including the message it is answering now.
            transcript=recent_transcript(tracker) + [
                {"speaker": "bot", "text": get_resources().message(EMERGENCY_MESSAGE)}
            ],
            question=last_user_text(tracker) or None,
        )
        logger.warning(
            "emergency guidance sent; urgent case %s",
            escalation.reference if escalation else "NOT STORED",
        )
        if tracker.active_loop_name:
            # An emergency interrupts the escalation form (the rule then deactivates it);
            # nothing the form collected is kept.
            return [SlotSet(slot, None) for slot in FORM_SLOTS]
        return []
