"""Staff inbox (HTML): sign in, cases urgent first, search and filters, one case's page.

A case page shows the conversation's other cases, the contact details the parent shared with
consent, the transcript, status, notes and assignee (each change audited and CSRF-protected).
Test cases (staff shell, test runs) are listed apart and can be closed in bulk.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Callable, Optional, Sequence, Tuple

from sanic import Blueprint, Request, Sanic, response
from sanic.response import HTTPResponse

from escalation.store import STATUSES, URGENCIES, Escalation
from webapp.labels import FILTERS, time_zone_name
from webapp.rate_limit import client_address
from webapp.staff_auth import (
    FAILURE_WINDOW_SECONDS,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Refused,
    Session,
    constant_time_equal,
)
from webapp.widget import STATIC_DIR

staff_inbox = Blueprint("staff_inbox", url_prefix="/staff")

TOO_MANY_TEXT = (f"Too many failed sign-ins for this user name or from this network. Please "
                 f"wait {FAILURE_WINDOW_SECONDS // 60} minutes and try again.")


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTTPResponse:
    """Renders an autoescaped Jinja2 template."""
    html = request.app.ctx.templates.get_template(template).render(**values)
    return response.html(html, status=status, headers={
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
    })


@staff_inbox.before_server_start
async def load_stylesheet(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
    """Reads the staff pages' stylesheet once per process (like the widget's files)."""
    app.ctx.staff_css = (STATIC_DIR / "staff.css").read_text(encoding="utf-8")
    app.ctx.templates.filters.update(FILTERS)


@staff_inbox.get("/static/staff.css")
async def stylesheet(request: Request) -> HTTPResponse:
    """The staff pages' styles: a file, because their CSP allows no inline <style>."""
    return response.text(request.app.ctx.staff_css, content_type="text/css; charset=utf-8",
                         headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})


def current_session(request: Request) -> Optional[Session]:
    """The signed-in staff member's session, if any."""
    return request.app.ctx.auth.session(request.cookies.get(SESSION_COOKIE))


def set_cookie(request: Request, resp: HTTPResponse, name: str, value: str, max_age: int) -> None:
    """Sets a cookie only this site's pages can send back, never readable by scripts."""
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["secure"] = request.app.ctx.cookie_secure
    cookie["path"] = "/staff"
    cookie["max-age"] = max_age


def csrf_ok(request: Request, session: Session) -> bool:
    """Whether the form carries this session's CSRF token."""
    return constant_time_equal(request.form.get("csrf", ""), session.csrf)


@staff_inbox.get("/login")
async def login_form(request: Request) -> HTTPResponse:
    """The sign-in form with a fresh double-submit CSRF token."""
    token = secrets.token_urlsafe(32)
    resp = render(request, "login.html", csrf=token, error=None)
    set_cookie(request, resp, LOGIN_CSRF_COOKIE, token, 600)
    return resp


@staff_inbox.post("/login")
async def login(request: Request) -> HTTPResponse:
    """Signs in; wrong credentials or a missing CSRF token get the form again."""
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form_token = request.form.get("csrf", "")
    if not cookie_token or not constant_time_equal(cookie_token, form_token):
        return response.text("Invalid or expired form, please reload the sign-in page.", 403)
    result = await request.app.ctx.auth.sign_in(
        request.form.get("username", ""), request.form.get("password", ""),
        client_address(request),
    )
    if isinstance(result, Refused):
        # The same answer whether or not the user name exists.
        too_many = result is Refused.TOO_MANY
        fresh = secrets.token_urlsafe(32)
        resp = render(request, "login.html", status=429 if too_many else 401, csrf=fresh,
                      error=TOO_MANY_TEXT if too_many else "Wrong user name or password.")
        if too_many:
            resp.headers["Retry-After"] = str(FAILURE_WINDOW_SECONDS)
        set_cookie(request, resp, LOGIN_CSRF_COOKIE, fresh, 600)
        return resp
    resp = response.redirect("/staff/")
    set_cookie(request, resp, SESSION_COOKIE, result, SESSION_SECONDS)
    return resp


@staff_inbox.post("/logout")
async def logout(request: Request) -> HTTPResponse:
    """Signs out (CSRF-protected like every state change)."""
    session = current_session(request)
    if session is not None and csrf_ok(request, session):
        request.app.ctx.auth.logout(request.cookies.get(SESSION_COOKIE))
    return response.redirect("/staff/login")


#: The inbox's status filter: its value -> the statuses it shows.
STATUS_FILTERS = {"active": ("open", "contacted"), "open": ("open",),
                  "contacted": ("contacted",), "closed": ("closed",), "all": STATUSES}


def shared_details(case: Escalation, linked: Sequence[Escalation]) -> Optional[Escalation]:
    """The case whose name and contact staff may use.

    This case, else the newest linked case of the conversation where the parent gave them
    with consent (an urgent case asks for none).
    """
    for candidate in [case, *reversed(list(linked))]:
        if candidate.consent and (candidate.parent_name or candidate.contact):
            return candidate
    return None


@staff_inbox.get("/")
async def inbox(request: Request) -> HTTPResponse:
    """Cases urgent first: searched and filtered; test cases apart."""
    session = current_session(request)
    if session is None:
        return response.redirect("/staff/login")
    status = request.args.get("status", "active")
    status = status if status in STATUS_FILTERS else "active"
    urgency = request.args.get("urgency", "")
    urgency = urgency if urgency in URGENCIES else ""
    query = request.args.get("q", "")[:200]
    store = request.app.ctx.store
    cases = store.list(STATUS_FILTERS[status], urgency or None, query, tests=False)
    tests = store.list(STATUS_FILTERS["active"], tests=True)
    return render(request, "inbox.html", session=session, cases=cases, tests=tests,
                  status_filter=status, statuses=list(STATUS_FILTERS), urgency=urgency,
                  urgencies=URGENCIES, query=query, time_zone=time_zone_name(),
                  notification_on=request.app.ctx.notifier.enabled)


@staff_inbox.get("/escalations/<reference:str>")
async def case(request: Request, reference: str) -> HTTPResponse:
    """One escalation: details, linked cases, transcript, history and the forms."""
    session = current_session(request)
    if session is None:
        return response.redirect("/staff/login")
    store = request.app.ctx.store
    found = store.get(reference)
    if found is None:
        return render(request, "not_found.html", status=404, session=session)
    linked = store.conversation_cases(found)
    return render(request, "case.html", session=session, case=found, statuses=STATUSES,
                  audit=store.audit(reference), linked=linked,
                  details=shared_details(found, linked), staff=sorted(request.app.ctx.auth.users),
                  time_zone=time_zone_name(), notification_on=request.app.ctx.notifier.enabled)


def _checked_form(request: Request) -> Tuple[Optional[Session], Optional[HTTPResponse]]:
    """The session of a state-changing form, or the response that refuses it."""
    session = current_session(request)
    if session is None:
        return None, response.redirect("/staff/login")
    if not csrf_ok(request, session):
        return None, response.text("Invalid form token, please reload the page.", 403)
    return session, None


class _RefusedValueError(Exception):
    """A form value a case change does not accept (answered 400 with the message)."""


def _change_case(request: Request, reference: str,
                 change: Callable[[Any, str], None]) -> HTTPResponse:
    """Runs `change(store, staff user)` for a checked form post, then shows the case again.

    One shape for every change of a case: the form check (403), a refused value (400), an
    unknown case (404), and the store's audit of who changed what.
    """
    session, refused = _checked_form(request)
    if session is None:
        return refused  # type: ignore[return-value]
    try:
        change(request.app.ctx.store, session.user)
    except _RefusedValueError as error:
        return response.text(str(error), 400)
    except KeyError:
        return render(request, "not_found.html", status=404, session=session)
    return response.redirect(f"/staff/escalations/{reference}")


@staff_inbox.post("/escalations/<reference:str>/status")
async def change_status(request: Request, reference: str) -> HTTPResponse:
    """Changes a case's status; the change is recorded with who and when."""
    def change(store: Any, actor: str) -> None:
        status = request.form.get("status", "")
        if status not in STATUSES:
            raise _RefusedValueError("Unknown status.")
        store.set_status(reference, status, actor=actor)

    return _change_case(request, reference, change)


@staff_inbox.post("/escalations/<reference:str>/notes")
async def change_notes(request: Request, reference: str) -> HTTPResponse:
    """Saves a case's staff notes (audited)."""
    def change(store: Any, actor: str) -> None:
        store.set_notes(reference, request.form.get("notes", ""), actor=actor)

    return _change_case(request, reference, change)


@staff_inbox.post("/escalations/<reference:str>/assign")
async def change_assignee(request: Request, reference: str) -> HTTPResponse:
    """Assigns a case to a staff member with an account, or to nobody (audited)."""
    def change(store: Any, actor: str) -> None:
        assignee = request.form.get("assignee", "")
        if assignee and assignee not in request.app.ctx.auth.users:
            raise _RefusedValueError("Unknown staff member.")
        store.assign(reference, assignee or None, actor=actor)

    return _change_case(request, reference, change)


@staff_inbox.post("/tests/close")
async def close_tests(request: Request) -> HTTPResponse:
    """Closes every open test case at once (each closing audited)."""
    session, refused = _checked_form(request)
    if session is None:
        return refused  # type: ignore[return-value]
    request.app.ctx.store.close_tests(actor=session.user)
    return response.redirect("/staff/")
