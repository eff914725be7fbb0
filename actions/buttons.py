"""Suggestion buttons that lead to vetted answers."""

from __future__ import annotations

from typing import Dict, Iterable, List

from clinic.content import Content


def topic_buttons(content: Content, answer_ids: Iterable[str]) -> List[Dict[str, str]]:
    """One button per answer id: the answer's title, and the intent that asks for it."""
    answers = [content.answers[answer_id] for answer_id in answer_ids]
    return [{"title": answer.title, "payload": f"/{answer.intent}"} for answer in answers]
