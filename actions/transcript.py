"""The last turns of a conversation, for the clinician who picks up an escalation."""

from __future__ import annotations

from typing import Dict, List

from rasa_sdk import Tracker

from escalation.service import TRANSCRIPT_TURNS, transcript_lines


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
