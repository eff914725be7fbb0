"""Per-answer analytics for staff: helpful/unhelpful votes and questions that were escalated."""

from __future__ import annotations

import asyncio

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from clinic.resources import get_resources
from feedback.report import build_report
from webapp.staff_inbox import current_session, render

answer_report = Blueprint("answer_report", url_prefix="/staff")


@answer_report.get("/answers")
async def answers(request: Request) -> HTTPResponse:
    """Answers by votes, escalations by reason and the escalated questions (staff only)."""
    session = current_session(request)
    if session is None:
        return response.redirect("/staff/login")
    # Database reads off the event loop, like the retry loop's.
    report = await asyncio.to_thread(build_report, request.app.ctx.feedback,
                                     request.app.ctx.store, get_resources().content.answers,
                                     request.app.ctx.signoffs)
    return render(request, "answers.html", session=session, report=report)
