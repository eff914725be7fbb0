"""`GET /webhooks/health/`: whether the Rasa server can store conversations right now.

Rasa keeps answering when its tracker store fails, from an in-memory tracker that forgets the
conversation, and only logs the error. This endpoint makes that visible to a load balancer or
monitoring: 200 when the tracker store and the lock store answer, 503 with the failing store
otherwise (error types and times only). The escalation store is the web app's and the action
server's, and deliberately not checked here: an outage of one must not take down the other.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


def _store_status(store: Any) -> Dict[Text, Any]:
    """Pings a project store and returns its health record (unknown stores are reported)."""
    # Rasa wraps the tracker store (FailSafeTrackerStore, AwaitableTrackerStore).
    while hasattr(store, "_tracker_store"):
        store = store._tracker_store
    health = getattr(store, "health", None)
    if health is None:
        return {"ok": False, "store": type(store).__name__, "last_error": "not monitored"}
    try:
        store.ping()
        health.succeeded()
    except Exception as error:  # noqa: BLE001 (reported, not raised)
        health.failed(error)
    return health.as_dict()


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
            }
            healthy = all(store["ok"] for store in stores.values())
            return response.json(
                {"status": "ok" if healthy else "degraded", **stores},
                status=200 if healthy else 503,
            )

        return health
