"""Buttons the assistant sends: topic suggestions, "something else" and yes/no.

Framework-free, so the staff inbox can show a button's title instead of the payload it sent.
"""

from __future__ import annotations

from typing import Dict, Iterable, List

from clinic.resources import get_resources
from knowledge.content import Content
from knowledge.intents import REQUEST_HUMAN_INTENT


def topic_buttons(content: Content, answer_ids: Iterable[str]) -> List[Dict[str, str]]:
    """One button per answer id: the answer's title, and the intent that asks for it."""
    answers = [content.answers[answer_id] for answer_id in answer_ids]
    return [{"title": answer.title, "payload": f"/{answer.intent}"} for answer in answers]


def something_else_button() -> Dict[str, str]:
    """The clarifying question's last button: none of the topics, so talk to a clinician."""
    return {"title": get_resources().message("clarify_none"), "payload": f"/{REQUEST_HUMAN_INTENT}"}


def yes_no_buttons() -> List[Dict[str, str]]:
    """Yes / no buttons with their vetted titles."""
    resources = get_resources()
    return [
        {"title": resources.message("button_yes"), "payload": "/affirm"},
        {"title": resources.message("button_no"), "payload": "/deny"},
    ]
