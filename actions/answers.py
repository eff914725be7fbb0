"""Vetted topic answers and the confidence gate."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from clinic.resources import Resources, get_resources
from knowledge.buttons import something_else_button, topic_buttons
from knowledge.content import EMERGENCY_MESSAGE
from knowledge.intents import EMERGENCY_INTENT, FALLBACK_INTENT, answer_id_for_intent
from knowledge.message_parts import PARTS_KEY
from knowledge.signoffs import ServingPolicy, serving_policy

logger = logging.getLogger(__name__)

#: A topic is offered as a choice only with at least this much of the classifier's belief.
MIN_CHOICE_CONFIDENCE = 0.15
#: A single likely topic (the second is implausible) is offered alone from this confidence.
MIN_SINGLE_CHOICE_CONFIDENCE = 0.4
#: The clarifying question offers at most this many topics (and "Something else").
MAX_CHOICES = 3
#: A message that asks several things gets this many answers; the rest are offered.
MAX_ANSWERS_PER_MESSAGE = 2
#: "and for the neck?", "what about blepharospasm?", "same for his legs?"
FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|what if it'?s|same|also|for|in|with)\b", re.IGNORECASE
)
MAX_FOLLOW_UP_WORDS = 8
#: (intent name, confidence) pairs, best first.
Ranking = List[Tuple[str, float]]


def send_answers(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    resources: Resources,
    answer_ids: List[str],
) -> List[EventType]:
    """Sends vetted answers verbatim with their source lines, and the disclaimer once.

    A message that asked several things gets its first two answers; the rest are offered as
    buttons. When the question named a condition, an aspect answer is sent as that condition's
    variant if one is written (content/variants.yml), otherwise as the general answer followed
    by the note that the child's team confirms what applies.

    Under CONTENT_POLICY=signed (knowledge/signoffs.py) an answer whose current text no clinician
    has signed is withheld: the parent gets the hand-over (the clinic's number) and the offer of
    a clinician instead, and the withheld answer is counted for the answer report. An unsigned
    variant falls back to its signed general answer.
    """
    policy = serving_policy()
    condition = question_condition(tracker, resources)
    chosen = answer_ids[:MAX_ANSWERS_PER_MESSAGE]
    sent: List[str] = []
    withheld: List[str] = []
    for answer_id in chosen:
        if send_answer(dispatcher, resources, policy, answer_id, condition):
            sent.append(answer_id)
        else:
            withheld.append(answer_id)
    if answer_ids[len(chosen):]:
        dispatcher.utter_message(
            text=resources.message("more_parts"),
            buttons=topic_buttons(resources.content, answer_ids[len(chosen):]),
        )
    return after_answers(dispatcher, tracker, resources, sent, withheld)


def send_answer(
    dispatcher: CollectingDispatcher,
    resources: Resources,
    policy: ServingPolicy,
    answer_id: str,
    condition: Optional[str],
) -> bool:
    """Sends one answer (or its signed variant) and its source line; False when withheld."""
    entry, is_variant = resources.content.answer_for(answer_id, condition)
    if is_variant and not policy.allows(entry):
        entry, is_variant = resources.content.answers[answer_id], False
    if not policy.allows(entry):
        policy.count_withheld(answer_id)
        logger.info("withheld %s: text not signed off", entry.id)
        return False
    # `kind` and `answer_id` let the web widget ask "Was this helpful?" for this answer
    # id (other channels ignore them).
    dispatcher.utter_message(text=resources.render(entry), kind="answer",
                             answer_id=answer_id)
    dispatcher.utter_message(text=resources.message("source_line", source=entry.source),
                             kind="source", answer_id=answer_id)
    if condition and not is_variant and answer_id in resources.aspects:
        dispatcher.utter_message(text=resources.message("condition_note"))
    # Ids only: the message text may contain personal details.
    logger.info("answered %s (status %s)", entry.id, entry.status)
    return True


def after_answers(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    resources: Resources,
    sent: List[str],
    withheld: List[str],
) -> List[EventType]:
    """The disclaimer (once per conversation) and the hand-over if an answer was withheld."""
    events: List[EventType] = []
    if sent:
        # The last answer sent is the one a follow-up ("and for the neck?") refers to.
        events.append(SlotSet("last_answer_id", sent[-1]))
        if not tracker.get_slot("disclaimer_shown"):
            dispatcher.utter_message(text=resources.message("disclaimer"))
            events.append(SlotSet("disclaimer_shown", True))
    if withheld:
        dispatcher.utter_message(text=resources.message("answer_withheld"))
        events.append(FollowupAction("action_offer_escalation"))
    return events


def question_condition(tracker: Tracker, resources: Resources) -> Optional[str]:
    """The condition (variant id) the parent's question named, if exactly one.

    After a button click (a bare `/intent` payload) the question is the message before it.
    """
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if str(event.get("text") or "").startswith("/"):
            continue
        entities = (event.get("parse_data") or {}).get("entities") or []
        return resources.entity_patterns.variant_condition(entities)
    return None


def follow_up_aspect(tracker: Tracker, resources: Resources) -> Optional[str]:
    """The aspect answer a short follow-up naming a condition asks for again, if any.

    "How long does it last?" then "and for the neck?": the parent wants how long it lasts for
    neck dystonia, not the neck dystonia answer.
    """
    last = tracker.get_slot("last_answer_id")
    text = str(tracker.latest_message.get("text") or "")
    if last not in resources.aspects or not FOLLOW_UP.match(text):
        return None
    # "and what are the side effects for the neck?" asks an aspect of its own.
    intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
    if answer_id_for_intent(intent) in resources.aspects:
        return None
    if (tracker.latest_message.get("aspect") or {}).get("aspects"):
        return None
    if len(text.split()) > MAX_FOLLOW_UP_WORDS:
        return None
    entities = tracker.latest_message.get("entities") or []
    return last if resources.entity_patterns.variant_condition(entities) else None


class ActionAnswerTopic(Action):
    """Answers the topic the latest question asks about (intent ask_<answer id>)."""

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Sends the vetted answer(s), or the cannot-answer message for an unknown topic."""
        resources = get_resources()
        aspect = follow_up_aspect(tracker, resources)
        if aspect:
            return send_answers(dispatcher, tracker, resources, [aspect])
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
        answer_id = answer_id_for_intent(intent)
        if answer_id not in resources.content.answers:
            # Only reachable if NLU and content disagree; never improvise an answer.
            logger.error("no vetted answer for intent %s", intent)
            dispatcher.utter_message(text=resources.message("cannot_answer"))
            return []
        # A message that asked several things (knowledge/message_parts.py): each part's answer.
        parts = [
            part for part in tracker.latest_message.get(PARTS_KEY) or []
            if part in resources.content.answers
        ]
        return send_answers(dispatcher, tracker, resources, parts or [answer_id])


class ActionClarify(Action):
    """The confidence gate: asks which topic was meant, or hands over to the clinic."""

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Offers the likely topics as buttons, or says it cannot answer.

        The topics are the first of the ranking (both classifiers' beliefs,
        components/second_opinion.py), the second opinion's pick, then the ranking's next
        ones: at most three, each with enough belief, plus "Something else" (a clinician).
        Emergency guidance comes first if the ranking's top two or the second opinion's pick
        is the emergency intent with at least the belief a topic needs.
        """
        resources = get_resources()
        text = str(tracker.latest_message.get("text") or "")
        if not any("a" <= ch.lower() <= "z" for ch in text):
            # Empty, only emoji/digits/symbols, or a script we cannot read: say so politely.
            # (Red flags were checked before this, in the NLU pipeline.)
            dispatcher.utter_message(text=resources.message("bad_input"))
            return []
        aspect = follow_up_aspect(tracker, resources)
        if aspect:
            return send_answers(dispatcher, tracker, resources, [aspect])
        ranking, candidates = self._candidates(tracker)
        if self._possible_emergency(ranking, candidates):
            dispatcher.utter_message(text=resources.message(EMERGENCY_MESSAGE), kind="emergency")
            return []
        choices = self._choices(candidates, resources)
        worth_asking = self._worth_asking(choices, ranking)
        area_topic = self._area_topic(tracker, resources)
        if area_topic and area_topic in choices:
            # "what about for the neck?": the body area names the topic among the likely two.
            return send_answers(dispatcher, tracker, resources, [area_topic])
        if worth_asking and not self._asked_already(tracker):
            buttons = [*topic_buttons(resources.content, choices), something_else_button()]
            dispatcher.utter_message(text=resources.message("clarify"), buttons=buttons)
            return []
        # Not understood, or a second failed attempt: hand over to a clinician.
        dispatcher.utter_message(text=resources.message("cannot_answer"))
        return [FollowupAction("action_offer_escalation")]

    @staticmethod
    def _candidates(tracker: Tracker) -> Tuple[Ranking, Ranking]:
        """The ranking (no fallback) and the topics to consider, in the order run describes."""
        ranking = [
            (str(item.get("name")), float(item.get("confidence") or 0.0))
            for item in tracker.latest_message.get("intent_ranking", [])
            if item.get("name") != FALLBACK_INTENT
        ]
        opinion = tracker.latest_message.get("second_opinion") or {}
        candidates = ranking[:1]
        if opinion.get("name"):
            # The second opinion's pick (components/second_opinion.py) comes next.
            candidates.append((str(opinion["name"]), float(opinion.get("confidence") or 0.0)))
        candidates += ranking[1:MAX_CHOICES]
        return ranking, candidates

    @staticmethod
    def _possible_emergency(ranking: Ranking, candidates: Ranking) -> bool:
        """Whether the top two of either ranking name the emergency intent with enough belief."""
        # Unsure, but possibly an emergency: emergency guidance costs little, a miss a lot.
        # With less belief than a topic needs to be offered, and no red flag found by the rules
        # (they ran before this), it is a false alarm: measured on the blind set, DIET's second
        # guess "emergency" at 0.13 sent "is botox first choice ...?" to the emergency message.
        return any(
            name == EMERGENCY_INTENT and confidence >= MIN_CHOICE_CONFIDENCE
            for name, confidence in ranking[:2] + candidates[:2]
        )

    @staticmethod
    def _choices(candidates: Ranking, resources: Resources) -> List[str]:
        """The answer ids worth offering: known topics with enough belief, at most MAX_CHOICES."""
        choices: List[str] = []
        for name, confidence in candidates:
            answer_id = answer_id_for_intent(name)
            if (
                answer_id in resources.content.answers
                and answer_id not in choices
                and confidence >= MIN_CHOICE_CONFIDENCE
            ):
                choices.append(answer_id)
        return choices[:MAX_CHOICES]

    @staticmethod
    def _worth_asking(choices: List[str], ranking: Ranking) -> bool:
        """Whether to ask: two or more choices, or one the ranking itself is fairly sure of."""
        return len(choices) >= 2 or (
            len(choices) == 1 and ranking[0][1] >= MIN_SINGLE_CHOICE_CONFIDENCE
            and answer_id_for_intent(ranking[0][0]) == choices[0]
        )

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
        """The topic a body area named in the message points to (e.g. the neck), if any."""
        for entity in tracker.latest_message.get("entities", []):
            if entity.get("entity") != "body_area":
                continue
            term = resources.entity_patterns.term("body_area", str(entity.get("value")))
            if term and term.topic:
                return term.topic
        return None
