"""JSON API for the staff inbox, protected by the STAFF_API_TOKEN bearer token."""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, Coroutine

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from escalation.store import STATUSES, URGENCIES

staff_api = Blueprint("staff_api", url_prefix="/api")

# A coroutine function, as Sanic's route decorators take.
Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


def token_required(handler: Handler) -> Handler:
    """401 without a valid `Authorization: Bearer <STAFF_API_TOKEN>` header."""

    @wraps(handler)
    async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        if not request.app.ctx.auth.api_allowed(request.headers.get("authorization")):
            return response.json({"error": "unauthorized"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
        return await handler(request, *args, **kwargs)

    return guarded


@staff_api.get("/escalations")
@token_required
async def list_escalations(request: Request) -> HTTPResponse:
    """Open and contacted cases, urgent first (`?status=closed` for others).

    `?urgency=urgent` keeps one urgency, `?q=` searches reference, name and contact.
    """
    statuses = request.args.getlist("status") or ["open", "contacted"]
    if any(status not in STATUSES for status in statuses):
        return response.json({"error": f"status must be one of {list(STATUSES)}"}, status=400)
    urgency = request.args.get("urgency") or None
    if urgency is not None and urgency not in URGENCIES:
        return response.json({"error": f"urgency must be one of {list(URGENCIES)}"}, status=400)
    cases = request.app.ctx.store.list(statuses, urgency, (request.args.get("q") or "")[:200])
    return response.json({"escalations": [case.payload() for case in cases]})


@staff_api.get("/escalations/<reference:str>")
@token_required
async def get_escalation(request: Request, reference: str) -> HTTPResponse:
    """One case with its change history."""
    found = request.app.ctx.store.get(reference)
    if found is None:
        return response.json({"error": "not found"}, status=404)
    audit = [{"at": e.at.isoformat(), "actor": e.actor, "change": e.change}
             for e in request.app.ctx.store.audit(reference)]
    return response.json({"escalation": found.payload(), "audit": audit})


@staff_api.post("/escalations/<reference:str>/status")
@token_required
async def set_status(request: Request, reference: str) -> HTTPResponse:
    """Changes a case's status: {"status": "contacted", "actor": "name"}."""
    body = request.json if isinstance(request.json, dict) else {}
    status, actor = body.get("status"), str(body.get("actor") or "api")[:100]
    if status not in STATUSES:
        return response.json({"error": f"status must be one of {list(STATUSES)}"}, status=400)
    try:
        updated = request.app.ctx.store.set_status(reference, status, actor=f"api:{actor}")
    except KeyError:
        return response.json({"error": "not found"}, status=404)
    return response.json({"escalation": updated.payload()})
