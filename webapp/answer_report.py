"""Per-answer analytics for staff: helpful/unhelpful votes and questions that were escalated."""

from __future__ import annotations

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from clinic.escalation_store import STATUSES
from clinic.resources import get_resources
from webapp.staff_inbox import current_session, render

answer_report = Blueprint("answer_report", url_prefix="/staff")


@answer_report.get("/answers")
async def answers(request: Request) -> HTTPResponse:
    """Answers by votes (most unhelpful first, then answers without votes) and escalations."""
    session = current_session(request)
    if session is None:
        return response.redirect("/staff/login")
    content = get_resources().content
    counts = request.app.ctx.feedback.counts()
    voted = {row.answer_id for row in counts}
    unvoted = [answer_id for answer_id in content.answers if answer_id not in voted]
    escalated = [case for case in request.app.ctx.store.list(STATUSES) if case.question]
    escalated.sort(key=lambda case: case.created_at, reverse=True)
    return render(request, "answers.html", session=session, counts=counts, unvoted=unvoted,
                  answers=content.answers, escalated=escalated)
