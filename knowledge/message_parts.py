"""Messages that ask more than one thing: split into parts, and the parts' parses combined.

Parents write "is it safe? and how long does it last?" or "my 6 year old has cerebral palsy,
what is botox?". One intent for the whole message answers only one of two questions, or is
pulled off course by the background. Here the message is split into its sentences and its
"..., and how ..." questions; each question part is parsed on its own by the same NLU pipeline
(rasa_patches.py does that), and `combine` decides:

* an emergency anywhere wins: the whole message's, or any part's (red flags in any part);
* two or more parts the gate answered with different topics: the first is the intent, and all
  of them (in order) go under `parts`, so the answer action sends the first two and offers the
  rest;
* one question after background ("my son has CP, what is botox?"): the question's own parse,
  when the gate answered it, replaces the whole message's, except where the background names
  the condition a general question is about ("I have torticollis, would botox help me?");
* otherwise the whole message's parse stands. Guarded replies (dose, personal advice, out of
  scope, a person) are never replaced by a part's topic.

Framework-free: works on Rasa's parse dictionaries.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Collection, Dict, List, Sequence, Tuple

from knowledge.intents import EMERGENCY_INTENT, FALLBACK_INTENT, answer_id_for_intent

#: Where the answer ids of a multi-part message go on the parse result, in message order.
PARTS_KEY = "parts"
#: At most this many question parts are parsed (each one costs a pass of the NLU pipeline).
MAX_PARTS = 4

_WH = r"how|what|whats|what's|when|where|why|who|which"
_AUX = r"is|are|can|could|does|do|did|will|would|should|has|have|may|must"
_SUBJECT = (
    r"it|he|she|they|we|i|you|botox|the|this|that|there|my|his|her|our|your|a|an|kids|children"
)
#: A question starts with a wh-word, or with an auxiliary followed by its subject ("is it",
#: "can he"), so "and is having botox" is not taken for a question.
_QUESTION_START = rf"(?:{_WH})\b|(?:{_AUX})\s+(?:{_SUBJECT})\b"
_LEAD = r"(?:and|also|but|plus|so|ok|okay|then|and also)\s+"
_LEADING = re.compile(rf"^(?:{_LEAD})+", re.IGNORECASE)
_QUESTION = re.compile(rf"^(?:{_LEAD})*(?:{_QUESTION_START})", re.IGNORECASE)
#: Phrases that make a sentence a question without a question word.
_ASKING = re.compile(
    r"\b(?:i (?:want|would like|'d like|need) to know|tell me|wondering|wonder if|"
    r"please explain|any (?:info|information|advice) (?:on|about))\b",
    re.IGNORECASE,
)
_SENTENCES = re.compile(r"(?<=[?!;])\s*|(?<=\.)\s+|\n+")
#: "..., and how long does it last": a comma or a joining word before a new question.
_JOINED = re.compile(
    rf"\s*(?:,\s*(?:{_LEAD})?|\s+(?:and|also|plus|but)\s+)(?=(?:{_QUESTION_START}))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Part:
    """One sentence or joined question of a message."""

    text: str
    is_question: bool


def split_parts(text: str) -> List[Part]:
    """The message's parts in order; a message of one part is returned as one part."""
    pieces: List[str] = []
    for sentence in _SENTENCES.split(text or ""):
        pieces.extend(_JOINED.split(sentence))
    # "and how long does it last?" is parsed as "how long does it last?".
    texts = [_LEADING.sub("", piece.strip()) for piece in pieces]
    parts = [Part(t, _is_question(t)) for t in texts if len(t.split()) >= 2]
    return parts if len(parts) > 1 else [Part((text or "").strip(), True)]


def question_parts(text: str) -> Tuple[List[str], bool]:
    """The question parts worth parsing on their own, and whether there is background too.

    ([], False) when the message is one question, or has no question part.
    """
    parts = split_parts(text)
    questions = [part.text for part in parts if part.is_question]
    if len(parts) < 2 or not questions:
        return [], False
    return questions[:MAX_PARTS], len(questions) < len(parts)


def _is_question(text: str) -> bool:
    return text.endswith("?") or bool(_QUESTION.match(text)) or bool(_ASKING.search(text))


def _intent(parse: Dict[str, Any]) -> str:
    return str((parse.get("intent") or {}).get("name") or "")


def combine(
    whole: Dict[str, Any],
    parts: Sequence[Tuple[str, Dict[str, Any]]],
    has_background: bool,
    answer_ids: Collection[str],
    condition_answers: Collection[str] = (),
    general_questions: Collection[str] = (),
) -> Dict[str, Any]:
    """The parse result for the whole message, given each question part's own parse.

    Args:
        whole: the whole message's parse.
        parts: (part text, parse) for each question part, in message order.
        has_background: whether the message also has parts that are not questions.
        answer_ids: the vetted answers' ids (`ask_dose` is a guard, not a topic).
        condition_answers: the answers about one condition (content/aspects.yml).
        general_questions: the general questions ("would it help?") that mean a condition's
            answer when the condition is named (content/aspects.yml).
    """

    def _is_topic(intent: str) -> bool:
        return answer_id_for_intent(intent) in answer_ids

    whole_intent = _intent(whole)
    if whole_intent == EMERGENCY_INTENT or not parts:
        return whole
    emergency = next((p for _, p in parts if _intent(p) == EMERGENCY_INTENT), None)
    if emergency is not None:
        return _with_intent(whole, emergency["intent"], [])
    if not (whole_intent == FALLBACK_INTENT or _is_topic(whole_intent)):
        return whole  # dose, personal advice, out of scope, a person: their guarded reply
    answered = [p for _, p in parts if _is_topic(_intent(p))]
    asked: List[str] = []
    for parse in answered:
        answer_id = str(answer_id_for_intent(_intent(parse)))
        if answer_id not in asked:
            asked.append(answer_id)
    if len(asked) >= 2:
        return _with_intent(whole, answered[0]["intent"], asked)
    # The question decides, unless the background names the condition the question is about:
    # "I have torticollis, ... Would botox help me?" asks for the neck dystonia answer, which
    # the whole message found and its general last sentence cannot.
    background_question = len(asked) == 1 and len(parts) == 1 and has_background
    condition_kept = (
        answer_id_for_intent(whole_intent) in condition_answers and asked[0] in general_questions
    )
    if background_question and whole_intent != _intent(answered[0]) and not condition_kept:
        return _with_intent(whole, answered[0]["intent"], [])
    return whole


def _with_intent(
    whole: Dict[str, Any], intent: Dict[str, Any], answer_ids: List[str]
) -> Dict[str, Any]:
    result = copy.copy(whole)
    top = {"name": intent.get("name"), "confidence": float(intent.get("confidence") or 0.0)}
    result["intent"] = top
    ranking = [i for i in whole.get("intent_ranking") or [] if i.get("name") != top["name"]]
    result["intent_ranking"] = [top] + ranking
    if answer_ids:
        result[PARTS_KEY] = answer_ids
    return result
