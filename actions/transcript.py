"""The last turns of a conversation, for the clinician who picks up an escalation."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List

from rasa_sdk import Tracker

#: How many user and bot messages an escalation keeps.
TRANSCRIPT_TURNS = 20


def transcript_lines(
    events: Iterable[Dict[str, Any]], turns: int = TRANSCRIPT_TURNS
) -> List[Dict[str, str]]:
    """The last `turns` user and bot texts of serialised tracker events, oldest first."""
    lines: List[Dict[str, str]] = []
    for event in events:
        if event.get("event") == "user" and event.get("text"):
            lines.append({"speaker": "user", "text": str(event["text"])})
        elif event.get("event") == "bot" and event.get("text"):
            lines.append({"speaker": "bot", "text": str(event["text"])})
    return lines[-turns:]


def recent_transcript(tracker: Tracker, turns: int = TRANSCRIPT_TURNS) -> List[Dict[str, str]]:
    """The last `turns` user and bot texts, oldest first."""
    return transcript_lines(tracker.events, turns)


def last_user_text(tracker: Tracker, skip_commands: bool = True) -> str:
    """The latest thing the parent typed (not a button payload such as /affirm)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            text = str(event.get("text") or "").strip()
            if text and not (skip_commands and text.startswith("/")):
                return text
    return ""
