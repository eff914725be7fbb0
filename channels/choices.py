"""Buttons as numbered text choices, for messaging apps that have no buttons (WhatsApp, SMS).

The bot's message gets the numbered button titles appended ("1. Yes", "2. No"); a reply "2"
is turned into the second button's payload before Rasa sees it. The mapping is read from the
conversation's tracker (the buttons of the bot's latest turn), so it works whichever Rasa
replica handles the reply.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence

#: A reply that only names a choice: "2", "2.", " 2 ", "2)".
_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def numbered_text(text: str, buttons: Sequence[Dict[str, Any]]) -> str:
    """The message text followed by one numbered line per button title."""
    lines = [f"{number}. {button.get('title', '')}" for number, button in
             enumerate(buttons, start=1)]
    return "\n\n".join(part for part in (text.strip(), "\n".join(lines)) if part)


def choice_number(text: Optional[str]) -> Optional[int]:
    """The choice a reply names (1-based), or None when it is not just a number."""
    match = _CHOICE.match(text or "")
    return int(match.group(1)) if match else None


def latest_buttons(events: Sequence[Any]) -> List[Dict[str, Any]]:
    """The buttons of the bot's latest turn (since the last user message), or none."""
    for event in reversed(list(events)):
        data = event if isinstance(event, dict) else event.as_dict()
        if data.get("event") == "user":
            return []
        if data.get("event") == "bot":
            buttons = (data.get("data") or {}).get("buttons")
            if buttons:
                return list(buttons)
    return []


def resolve_choice(text: Optional[str], buttons: Sequence[Dict[str, Any]]) -> Optional[str]:
    """The payload of the button a reply picks, or None (the reply is then ordinary text)."""
    number = choice_number(text)
    if number is None or not 1 <= number <= len(buttons):
        return None
    payload = buttons[number - 1].get("payload")
    return str(payload) if payload else None


async def payload_for_reply(tracker_store: Any, sender_id: str, text: Optional[str]) -> str:
    """The text Rasa should see: the chosen button's payload, or the reply unchanged."""
    if choice_number(text) is None or tracker_store is None:
        return text or ""
    tracker = await tracker_store.retrieve(sender_id)
    if tracker is None:
        return text or ""
    return resolve_choice(text, latest_buttons(tracker.events)) or text or ""
