"""What staff pages show instead of internal names: channels, reasons, button payloads, times.

One place for the labels, used as Jinja filters by the inbox and case pages.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Dict, Optional

from clinic.resources import get_resources
from knowledge.buttons import something_else_button, topic_buttons, yes_no_buttons
from knowledge.intents import (
    EMERGENCY_INTENT,
    FALLBACK_INTENT,
    OUT_OF_SCOPE_INTENT,
    REQUEST_HUMAN_INTENT,
    answer_id_for_intent,
)

CHANNEL_LABELS: Dict[str, str] = {
    "socketio": "Web chat",
    "rest": "REST API",
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "facebook": "Messenger",
    "cmdline": "Staff shell (test)",
    "unknown": "Unknown channel",
}

#: Escalation reasons are the intent that led to the offer, or "emergency: <categories>".
REASON_LABELS: Dict[str, str] = {
    "request": "Asked for a clinician",
    REQUEST_HUMAN_INTENT: "Asked for a person",
    "help": "Asked for help",
    "ask_dose": "Asked about a dose",
    "ask_personal_advice": "Asked for personal advice",
    OUT_OF_SCOPE_INTENT: "Question outside the topics",
    FALLBACK_INTENT: "Question not understood",
    EMERGENCY_INTENT: "Emergency",
}


def channel_label(channel: Optional[str]) -> str:
    """"Web chat" for `socketio`; an unknown channel's own name."""
    return CHANNEL_LABELS.get(channel or "unknown", channel or "")


def reason_label(reason: Optional[str]) -> str:
    """"Asked for a person" for `request_human`; "Emergency: breathing" for `emergency: ...`."""
    text = reason or ""
    head, _, detail = text.partition(":")
    if detail and head in REASON_LABELS:
        return f"{REASON_LABELS[head]}: {detail.strip().replace('_', ' ')}"
    if text in REASON_LABELS:
        return REASON_LABELS[text]
    if answer_id := answer_id_for_intent(text):
        return "Asked about " + answer_id.replace("_", " ")
    return text.replace("_", " ").capitalize()


@lru_cache(maxsize=1)
def button_titles() -> Dict[str, str]:
    """Payload -> title of every button the assistant sends (built where the buttons are)."""
    resources = get_resources()
    buttons = [*yes_no_buttons(), *topic_buttons(resources.content, resources.content.answers),
               something_else_button()]
    titles: Dict[str, str] = {}
    for button in buttons:
        titles.setdefault(button["payload"], button["title"])
    return titles


def said(text: Optional[str]) -> str:
    """A parent's transcript line: the title of the button pressed instead of its payload."""
    value = text or ""
    if value.startswith("/"):
        return button_titles().get(value, value)
    return value


def local_time(moment: Optional[dt.datetime], seconds: bool = False) -> str:
    """A stored UTC time in the clinic's time zone (settings: timezone), e.g. 2026-12-02 09:30."""
    if moment is None:
        return "–"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    local = moment.astimezone(get_resources().settings.zone)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def time_zone_name() -> str:
    """The clinic's time zone for column headings, e.g. America/New_York."""
    return get_resources().settings.timezone


FILTERS = {"channel_label": channel_label, "reason_label": reason_label, "said": said,
           "local_time": local_time}
