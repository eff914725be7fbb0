"""Vetted topic answers and the confidence gate."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import topic_buttons
from actions.debug_line import with_debug_line
from clinic.content import answer_id_for_intent
from clinic.resources import Resources, get_resources

logger = logging.getLogger(__name__)

#: Intents the classifier can rank that are not topics but must never be out-voted by one.
EMERGENCY_INTENT = "emergency"
#: A topic is offered as a choice only with at least this much of the classifier's belief.
MIN_CHOICE_CONFIDENCE = 0.15
#: A single likely topic (the second is implausible) is offered alone from this confidence.
MIN_SINGLE_CHOICE_CONFIDENCE = 0.4


def send_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, resources: Resources, answer_id: str
) -> List[EventType]:
    """Sends a vetted answer verbatim, its source line, and the disclaimer once."""
    answer = resources.content.answers[answer_id]
    # `kind` and `answer_id` let the web widget ask "Was this helpful?" for this answer id
    # (other channels ignore them).
    dispatcher.utter_message(text=resources.render(answer), kind="answer", answer_id=answer_id)
    dispatcher.utter_message(text=resources.message("source_line", source=answer.source),
                             kind="source", answer_id=answer_id)
    events: List[EventType] = [SlotSet("last_answer_id", answer_id)]
    if not tracker.get_slot("disclaimer_shown"):
        dispatcher.utter_message(text=resources.message("disclaimer"))
        events.append(SlotSet("disclaimer_shown", True))
    # Ids only: the message text may contain personal details.
    logger.info("answered %s (status %s)", answer_id, answer.status)
    return events


class ActionAnswerTopic(Action):
    """Answers the topic the latest question asks about (intent ask_<answer id>)."""

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_answer_topic"

    @with_debug_line
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Sends the vetted answer, or the cannot-answer message for an unknown topic."""
        resources = get_resources()
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
        answer_id = answer_id_for_intent(intent)
        if answer_id not in resources.content.answers:
            # Only reachable if NLU and content disagree; never improvise an answer.
            logger.error("no vetted answer for intent %s", intent)
            dispatcher.utter_message(text=resources.message("cannot_answer"))
            return []
        return send_answer(dispatcher, tracker, resources, answer_id)


class ActionClarify(Action):
    """The confidence gate: asks which of two topics was meant, or hands over to the clinic."""

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_clarify"

    @with_debug_line
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Offers the two most likely topics as buttons, or says it cannot answer.

        The two are DIET's top two, or, when the second opinion names another intent than
        DIET's top, DIET's top and the second opinion's.
        """
        resources = get_resources()
        text = str(tracker.latest_message.get("text") or "")
        if not any("a" <= ch.lower() <= "z" for ch in text):
            # Empty, only emoji/digits/symbols, or a script we cannot read: say so politely.
            # (Red flags were checked before this, in the NLU pipeline.)
            dispatcher.utter_message(text=resources.message("bad_input"))
            return []
        ranking = [
            (item.get("name"), float(item.get("confidence") or 0.0))
            for item in tracker.latest_message.get("intent_ranking", [])
            if item.get("name") != "nlu_fallback"
        ]
        candidates = ranking[:2]
        opinion = tracker.latest_message.get("second_opinion") or {}
        if ranking and opinion.get("name") and opinion.get("name") != ranking[0][0]:
            # The two classifiers disagree (components/second_opinion.py): offer each one's pick.
            candidates = [ranking[0], (opinion["name"], float(opinion.get("confidence") or 0.0))]
        top_two = [name for name, _ in candidates]
        if EMERGENCY_INTENT in top_two:
            # Unsure, but possibly an emergency: emergency guidance costs little, a miss a lot.
            dispatcher.utter_message(text=resources.message("emergency"), kind="emergency")
            return []

        choices = [
            answer_id
            for name, confidence in candidates
            if (answer_id := answer_id_for_intent(name)) in resources.content.answers
            and confidence >= MIN_CHOICE_CONFIDENCE
        ]
        worth_asking = len(choices) == 2 or (
            len(choices) == 1 and ranking[0][1] >= MIN_SINGLE_CHOICE_CONFIDENCE
            and answer_id_for_intent(ranking[0][0]) == choices[0]
        )
        area_topic = self._area_topic(tracker, resources)
        if area_topic and area_topic in choices:
            # "what about for the neck?": the body area names the topic among the likely two.
            return send_answer(dispatcher, tracker, resources, area_topic)
        if worth_asking and not self._asked_already(tracker):
            buttons = topic_buttons(resources.content, choices)
            buttons.append(
                {"title": resources.message("clarify_none"), "payload": "/request_human"}
            )
            dispatcher.utter_message(text=resources.message("clarify"), buttons=buttons)
            return []
        # Not understood, or a second failed attempt: hand over to a clinician.
        dispatcher.utter_message(text=resources.message("cannot_answer"))
        return [FollowupAction("action_offer_escalation")]

    @staticmethod
    def _asked_already(tracker: Tracker) -> bool:
        """Whether the bot's last turn was already this clarifying question."""
        seen_user = False
        for event in reversed(tracker.events):
            if event.get("event") == "user":
                if seen_user:
                    return False
                seen_user = True
            elif event.get("event") == "action" and event.get("name") not in (
                "action_listen", None,
            ) and seen_user:
                return event.get("name") == "action_clarify"
        return False

    @staticmethod
    def _area_topic(tracker: Tracker, resources: Resources) -> Optional[str]:
        for entity in tracker.latest_message.get("entities", []):
            if entity.get("entity") != "body_area":
                continue
            term = resources.entity_patterns.term("body_area", str(entity.get("value")))
            if term and term.topic:
                return term.topic
        return None
