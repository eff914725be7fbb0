"""Clinician escalation: the offer, the form that collects contact details, submit and cancel."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.transcript import last_user_text, recent_transcript
from clinic.resources import get_resources
from escalation.service import record_escalation
from knowledge.buttons import yes_no_buttons

logger = logging.getLogger(__name__)

FORM_SLOTS = ("parent_name", "contact", "child_age", "question", "consent")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[a-z]{2,}$", re.IGNORECASE)
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{5,20}[0-9]$")
SKIP_WORDS = {"skip", "no", "rather not", "prefer not to say", "-", "n/a", "pass"}
YES_WORDS = {"yes", "y", "yeah", "yep", "correct", "that's right", "right", "ok", "okay", "sure"}


def forget_escalation(form_too: bool = True) -> List[EventType]:
    """Clears what an escalation collected: the pending question, reason and form slots."""
    events: List[EventType] = [
        SlotSet("pending_question", None), SlotSet("escalation_reason", None)
    ]
    if form_too:
        events += [SlotSet(slot, None) for slot in FORM_SLOTS]
    return events


def normalise_contact(text: str) -> Optional[str]:
    """A valid phone number or e-mail address from what the parent typed, else None."""
    value = " ".join(text.strip().split())
    if EMAIL.match(value):
        return value.lower()
    digits = re.sub(r"\D", "", value)
    if PHONE.match(value) and 7 <= len(digits) <= 15:
        return value
    return None



class ActionOfferEscalation(Action):
    """Offers to have a clinician contact the parent, remembering the unanswered question."""

    def name(self) -> Text:
        """Action name used in the domain and rules."""
        return "action_offer_escalation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Sends the offer with yes/no buttons."""
        dispatcher.utter_message(
            text=get_resources().message("escalation_offer"), buttons=yes_no_buttons()
        )
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False) or "unknown"
        return [
            SlotSet("pending_question", last_user_text(tracker) or None),
            SlotSet("escalation_reason", intent),
        ]


class ActionDeclineEscalation(Action):
    """The parent said no to the offer."""

    def name(self) -> Text:
        """Action name used in the domain and rules."""
        return "action_decline_escalation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Gives the clinic's number and forgets the pending question."""
        dispatcher.utter_message(text=get_resources().message("escalation_declined"))
        return forget_escalation(form_too=False)


class AskSlotAction(Action):
    """Asks for one form slot with its vetted message."""

    slot = ""
    message_id = ""
    yes_no = False

    def name(self) -> Text:
        """`action_ask_<slot>`, the name Rasa forms look for."""
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Sends the question (with yes/no buttons for yes/no questions)."""
        dispatcher.utter_message(
            text=get_resources().message(self.message_id),
            buttons=yes_no_buttons() if self.yes_no else None,
        )
        return []


class ActionAskParentName(AskSlotAction):
    """Asks for the parent's name."""

    slot, message_id = "parent_name", "ask_parent_name"


class ActionAskContact(AskSlotAction):
    """Asks for a phone number or e-mail address."""

    slot, message_id = "contact", "ask_contact"


class ActionAskChildAge(AskSlotAction):
    """Asks for the child's age (optional)."""

    slot, message_id = "child_age", "ask_child_age"


class ActionAskQuestion(Action):
    """Asks to confirm the pre-filled question, or for the question if there is none."""

    def name(self) -> Text:
        """Action name Rasa forms look for."""
        return "action_ask_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Shows the unanswered message so the parent can keep or replace it."""
        resources = get_resources()
        pending = tracker.get_slot("pending_question")
        if pending:
            dispatcher.utter_message(
                text=resources.message("ask_question_confirm", question=pending),
                buttons=[{"title": resources.message("button_yes"), "payload": "yes"}],
            )
        else:
            dispatcher.utter_message(text=resources.message("ask_question"))
        return []


class ActionAskConsent(AskSlotAction):
    """Asks for explicit consent to store and use the details."""

    slot, message_id, yes_no = "consent", "ask_consent", True


class ValidateEscalationForm(FormValidationAction):
    """Validates what the parent types into the escalation form."""

    def name(self) -> Text:
        """The form validation action's name."""
        return "validate_escalation_form"

    async def validate_parent_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """A name is 1-100 characters with at least one letter."""
        name = " ".join(str(value or "").split())
        if not name or len(name) > 100 or not any(ch.isalpha() for ch in name):
            dispatcher.utter_message(text=get_resources().message("ask_parent_name"))
            return {"parent_name": None}
        return {"parent_name": name}

    async def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """A phone number or e-mail address; re-asked with an example when invalid."""
        contact = normalise_contact(str(value or ""))
        if contact is None:
            dispatcher.utter_message(text=get_resources().message("contact_invalid"))
        return {"contact": contact}

    async def validate_child_age(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """An age (0-25, years or months) or "skip"."""
        text = " ".join(str(value or "").lower().split())
        if text in SKIP_WORDS:
            return {"child_age": "not given"}
        match = re.search(r"\b(\d{1,2})\b", text)
        if match and int(match.group(1)) <= 25:
            unit = "months" if "month" in text else "years"
            return {"child_age": f"{int(match.group(1))} {unit}"}
        dispatcher.utter_message(text=get_resources().message("child_age_invalid"))
        return {"child_age": None}

    async def validate_question(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """'yes' keeps the pre-filled question; anything else of substance replaces it."""
        text = " ".join(str(value or "").split())
        pending = tracker.get_slot("pending_question")
        if pending and text.lower().strip(".! ") in YES_WORDS:
            return {"question": pending}
        if len(text) < 3 or text.lower() in YES_WORDS:
            return {"question": None}
        return {"question": text[:2000]}


class ActionSubmitEscalation(Action):
    """Stores the case (with consent) and tells the parent the reference and response time."""

    def name(self) -> Text:
        """Action name used in the domain and rules."""
        return "action_submit_escalation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Stores nothing without consent; otherwise stores, notifies and confirms."""
        resources = get_resources()
        reset = forget_escalation()
        if tracker.get_slot("consent") is not True:
            dispatcher.utter_message(text=resources.message("escalation_no_consent"))
            return reset

        escalation = await record_escalation(
            urgency="routine",
            reason=tracker.get_slot("escalation_reason") or "request",
            channel=tracker.get_latest_input_channel() or "unknown",
            conversation_id=tracker.sender_id,
            transcript=recent_transcript(tracker),
            parent_name=tracker.get_slot("parent_name"),
            contact=tracker.get_slot("contact"),
            child_age=tracker.get_slot("child_age"),
            question=tracker.get_slot("question"),
            consent=True,
        )
        if escalation is None:
            dispatcher.utter_message(text=resources.message("escalation_store_failed"))
            return reset
        dispatcher.utter_message(text=confirmation(escalation.reference))
        # The reference only: the record holds the personal details, the log never does.
        logger.info("escalation %s stored", escalation.reference)
        return reset


def confirmation(reference: str, now: Optional[dt.datetime] = None) -> str:
    """The submitted message: response time while open, next opening time when closed."""
    resources = get_resources()
    settings = resources.settings
    local_now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(settings.zone)
    if settings.opening_hours.is_open(local_now):
        return resources.message("escalation_submitted_open", reference=reference)
    opening = settings.opening_hours.next_opening(local_now)
    return resources.message(
        "escalation_submitted_closed",
        reference=reference,
        next_opening=opening.strftime("%A %H:%M"),
    )


class ActionCancelEscalation(Action):
    """"Stop" or "cancel" during the form: leaves it and stores nothing."""

    def name(self) -> Text:
        """Action name used in the domain and rules."""
        return "action_cancel_escalation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Deactivates the form and clears everything it collected."""
        dispatcher.utter_message(text=get_resources().message("escalation_cancelled"))
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + forget_escalation()
