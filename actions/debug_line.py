"""The staff shell's debug line: recognised intent, confidence, answer id and review status.

Shown only when the action server runs with STAFF_SHELL_DEBUG=1 (`make shell DEBUG=1`) and the
latest message came from the terminal (`rasa shell`, input channel "cmdline"): parents on any
other channel never see it. A REST client can claim the "cmdline" channel, so
scripts/run_services.sh passes the switch to the action server only with --shell.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from clinic.resources import Resources, get_resources

#: Environment switch (set by `make shell DEBUG=1`).
DEBUG_ENV = "STAFF_SHELL_DEBUG"
#: Rasa's input channel name for `rasa shell`.
SHELL_CHANNEL = "cmdline"

RunMethod = Callable[..., Awaitable[List[Dict[str, Any]]]]


def debug_enabled(tracker: Tracker) -> bool:
    """Whether the switch is on and the latest message came from the staff shell."""
    switched_on = os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    return switched_on and tracker.get_latest_input_channel() == SHELL_CHANNEL


def debug_line(tracker: Tracker, resources: Resources, answer_id: Optional[str]) -> str:
    """'[debug] intent ask_pain (0.97) · answer pain · status approved'."""
    intent = tracker.latest_message.get("intent") or {}
    confidence = float(intent.get("confidence") or 0.0)
    head = f"[debug] intent {intent.get('name') or 'none'} ({confidence:.2f})"
    answer = resources.content.answers.get(answer_id) if answer_id else None
    if answer is None:
        return f"{head} · answer none"
    return f"{head} · answer {answer.id} · status {answer.status}"


def answer_id_in(events: List[Dict[str, Any]]) -> Optional[str]:
    """The answer id an action's events record (SlotSet last_answer_id), if any."""
    for event in events:
        if event.get("event") == "slot" and event.get("name") == "last_answer_id":
            return event.get("value")
    return None


def with_debug_line(run: RunMethod) -> RunMethod:
    """Decorates an action's run: appends the debug line after everything it sent."""

    @functools.wraps(run)
    async def wrapped(
        self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        events = await run(self, dispatcher, tracker, domain)
        if debug_enabled(tracker):
            # Last, so an emergency message stays first (safety rule 1).
            line = debug_line(tracker, get_resources(), answer_id_in(events))
            dispatcher.utter_message(text=line)
        return events

    return wrapped
