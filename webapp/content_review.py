"""Clinicians' review of parent-facing texts (/staff/content): sign off or request changes.

Every text a parent can read (answers, condition variants, messages) with its id, tier, source,
word count, reading grade, sign-off state and the word diff since the last sign-off. Only
`clinician` accounts may open these pages or act; every action is CSRF-protected and recorded
in the sign-off store (knowledge/signoffs.py), which is also the history shown here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from clinic.resources import get_resources
from knowledge.content import EMERGENCY_MESSAGE, Content, Entry
from knowledge.reading_grade import entry_grade, grade_band
from knowledge.signoffs import (
    CHANGES_REQUESTED,
    SIGNED,
    SIGNED_OFF,
    Review,
    entry_hash,
    review_state,
    word_diff,
)
from webapp.staff_auth import Session
from webapp.staff_inbox import csrf_ok, current_session, render

content_review = Blueprint("content_review", url_prefix="/staff")

#: The longest note or comment kept (a form field can be any size up to the request limit).
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class TextRow:
    """One parent-facing text as the review page shows it."""

    kind: str
    entry: Entry
    words: int
    grade: Optional[float]
    band: str
    state: str
    #: Newest first.
    reviews: List[Review]

    @property
    def last_signoff(self) -> Optional[Review]:
        """The latest sign-off, of this text or an earlier version of it."""
        return next((review for review in self.reviews if review.action == SIGNED_OFF), None)

    @property
    def diff(self) -> List[Tuple[str, str]]:
        """Word diff from the last signed text to the current one (empty if none)."""
        signed = self.last_signoff
        if signed is None or signed.text_hash == entry_hash(self.entry):
            return []
        return word_diff(f"{signed.text} [Source: {signed.source}]",
                         f"{self.entry.text} [Source: {self.entry.source}]")


def text_row(kind: str, entry: Entry, reviews: List[Review],
             settings_values: Dict[str, str]) -> TextRow:
    """One text with its grade (as the parent reads it) and state."""
    grade = entry_grade(entry, settings_values)
    return TextRow(kind, entry, len(entry.text.split()), grade, grade_band(grade),
                   review_state(entry, reviews), reviews)


def text_rows(content: Content, reviews: Dict[str, List[Review]],
              settings_values: Dict[str, str]) -> List[TextRow]:
    """Every parent-facing text; the emergency message first while it is not signed."""
    rows = [text_row(kind, entry, reviews.get(text_id, []), settings_values)
            for text_id, (kind, entry) in content.parent_facing().items()]
    rows.sort(key=lambda row: not (row.entry.id == EMERGENCY_MESSAGE and row.state != SIGNED))
    return rows


def _clinician(request: Request) -> Tuple[Optional[Session], Optional[HTTPResponse]]:
    """The signed-in clinician's session, or the response for anyone else (sign-in or 403)."""
    session = current_session(request)
    if session is None:
        return None, response.redirect("/staff/login")
    if not session.clinician:
        return None, render(request, "forbidden.html", status=403, session=session)
    return session, None


@content_review.get("/content")
async def texts(request: Request) -> HTTPResponse:
    """All texts with their state (clinicians only)."""
    session, refused = _clinician(request)
    if session is None:
        return refused  # type: ignore[return-value]
    resources = get_resources()
    by_text = await asyncio.to_thread(request.app.ctx.signoffs.by_text)
    rows = text_rows(resources.content, by_text, resources.settings.template_values())
    history = [review for reviews in by_text.values() for review in reviews]
    history.sort(key=lambda review: review.at, reverse=True)
    return render(request, "content.html", session=session, rows=rows, history=history[:50])


@content_review.get("/content/<text_id:str>")
async def text(request: Request, text_id: str) -> HTTPResponse:
    """One text: source, grade, diff since the last sign-off, the actions and its history."""
    session, refused = _clinician(request)
    if session is None:
        return refused  # type: ignore[return-value]
    resources = get_resources()
    found = resources.content.parent_facing().get(text_id)
    if found is None:
        return render(request, "not_found.html", status=404, session=session)
    reviews = await asyncio.to_thread(request.app.ctx.signoffs.history, text_id)
    kind, entry = found
    row = text_row(kind, entry, reviews, resources.settings.template_values())
    return render(request, "content_text.html", session=session, row=row,
                  text_hash=entry_hash(entry), error=request.args.get("error"))


@content_review.post("/content/<text_id:str>/review")
async def review(request: Request, text_id: str) -> HTTPResponse:
    """Signs off the text, or requests changes (a comment is required); audited."""
    session, refused = _clinician(request)
    if session is None:
        return refused  # type: ignore[return-value]
    if not csrf_ok(request, session):
        return response.text("Invalid form token, please reload the page.", 403)
    found = get_resources().content.parent_facing().get(text_id)
    if found is None:
        return render(request, "not_found.html", status=404, session=session)
    entry = found[1]
    action = request.form.get("action", "")
    note = request.form.get("note", "").strip()[:MAX_NOTE_CHARS]
    if action not in (SIGNED_OFF, CHANGES_REQUESTED):
        return response.text("Unknown action.", 400)
    if request.form.get("text_hash", "") != entry_hash(entry):
        # The text changed after the page was loaded: the reviewer did not see this one.
        return response.redirect(f"/staff/content/{text_id}?error=changed")
    if action == CHANGES_REQUESTED and not note:
        return response.redirect(f"/staff/content/{text_id}?error=comment")
    await asyncio.to_thread(request.app.ctx.signoffs.record, entry, action, session.user, note)
    return response.redirect(f"/staff/content/{text_id}")
