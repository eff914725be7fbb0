"""`GET /webhooks/health/`: whether this Rasa replica can answer a parent right now.

Rasa keeps answering when its tracker store fails, from an in-memory tracker that forgets the
conversation, and only logs the error; with its action server dead it can only apologise (the
reply guard). This endpoint makes both visible to a load balancer, the Kubernetes probes and the
cluster supervisor: 200 when the tracker store, the lock store and this replica's action server
answer, 503 naming the failing part otherwise (error types and times only). The escalation
store is the web app's and the action server's, and deliberately not checked here: an outage of
one must not take down the other.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, Dict, Optional, Text
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_patches import unwrapped_store


def _store_status(store: Any) -> Dict[Text, Any]:
    """Pings a project store and returns its health record (unknown stores are reported)."""
    store = unwrapped_store(store)
    health = getattr(store, "health", None)
    if health is None:
        return {"ok": False, "store": type(store).__name__, "last_error": "not monitored"}
    try:
        store.ping()
        health.succeeded()
    except Exception as error:  # noqa: BLE001 (reported, not raised)
        health.failed(error)
    return health.as_dict()


#: Seconds the action server has to answer its /health (it answers in milliseconds when alive).
ACTION_SERVER_TIMEOUT = 2.0


def action_health_url(webhook_url: Text) -> Text:
    """The action server's /health beside its /webhook URL."""
    parts = urlsplit(webhook_url)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))


async def _action_server_status(endpoint: Optional[Any]) -> Dict[Text, Any]:
    """Asks this replica's action server for /health (its host and port only: no secrets)."""
    url = getattr(endpoint, "url", None)
    if not url:
        return {"ok": False, "last_error": "no action endpoint configured"}
    parts = urlsplit(url)
    status: Dict[Text, Any] = {"server": f"{parts.hostname}:{parts.port}",
                               "checked_at": time.time()}
    try:
        timeout = aiohttp.ClientTimeout(total=ACTION_SERVER_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(
            action_health_url(url)
        ) as answer:
            status["ok"] = answer.status == 200
            status["last_error"] = None if status["ok"] else f"HTTP {answer.status}"
    except Exception as error:  # noqa: BLE001 (reported, not raised)
        status.update(ok=False, last_error=type(error).__name__)
    return status


class HealthInput(InputChannel):
    """Not a chat channel: the health endpoint, mounted where Rasa mounts channels."""

    @classmethod
    def name(cls) -> Text:
        """URL prefix: /webhooks/health/."""
        return "health"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """One GET route."""
        health = Blueprint("clinic_health", __name__)

        @health.route("/", methods=["GET"])
        async def status(request: Request) -> HTTPResponse:
            agent = request.app.ctx.agent
            stores = {
                "tracker_store": _store_status(agent.tracker_store),
                "lock_store": _store_status(agent.lock_store),
                "action_server": await _action_server_status(agent.action_endpoint),
            }
            failing = [part for part, state in stores.items() if not state["ok"]]
            return response.json(
                {"status": "degraded" if failing else "ok", "failing": failing, **stores},
                status=503 if failing else 200,
            )

        return health
