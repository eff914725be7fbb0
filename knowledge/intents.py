"""The intent names the code acts on, defined once.

The NLU data (data/nlu/) and domain.yml name the same intents; the components, actions, channels,
scripts and the staff pages import them from here. An answer's intent is `ask_<answer id>`.
"""

from __future__ import annotations

from typing import Optional

#: An emergency symptom after an injection: emergency guidance comes first.
EMERGENCY_INTENT = "emergency"
#: The confidence gate's "not sure" intent (Rasa's FallbackClassifier).
FALLBACK_INTENT = "nlu_fallback"
#: A question outside the reviewed topics (components/scope_guard.py).
OUT_OF_SCOPE_INTENT = "out_of_scope"
#: "Talk to someone": the parent asks for a clinician.
REQUEST_HUMAN_INTENT = "request_human"
#: Intents a button or channel sends as `/intent`, besides each answer's `ask_<id>` (topic
#: buttons, knowledge/buttons.py): yes/no (actions/escalation.py), "talk to someone"
#: (actions/answers.py), and the greeting the widget and Telegram's /start send.
BUTTON_INTENTS = frozenset({"affirm", "deny", REQUEST_HUMAN_INTENT, "greet"})
#: Commands parents type in messaging apps: `/stop` leaves the escalation form (storing nothing).
COMMAND_INTENTS = frozenset({"stop"})
#: The intent that asks for an answer is named after the answer id.
ANSWER_INTENT_PREFIX = "ask_"


def answer_intent(answer_id: str) -> str:
    """The intent that asks for answer `answer_id` (``pain`` -> ``ask_pain``)."""
    return ANSWER_INTENT_PREFIX + answer_id


def answer_id_for_intent(intent: Optional[str]) -> Optional[str]:
    """The answer id an intent asks for (``ask_pain`` -> ``pain``), or None."""
    if intent and intent.startswith(ANSWER_INTENT_PREFIX):
        return intent[len(ANSWER_INTENT_PREFIX) :]
    return None
