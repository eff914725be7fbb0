"""Action server hardening, loaded by rasa-sdk's own plugin mechanism.

rasa-sdk imports a top-level package named `rasa_sdk_plugins` (on PYTHONPATH, the project root)
at start and calls `init_hooks`; `attach_sanic_app_extensions` then gets the action server's
Sanic app. This works however the server is started (`rasa run actions`, a container, ...).

What it changes: rasa-sdk answers a body that is not an action call (`[]`, `5`, a tracker
that is not an object, ...) with a 500 that echoes the whole request body, tracker and slot
values included, and logs the traceback. Here a malformed call gets a 400 naming the problem,
and an unexpected error a 500 without the request body, logged by exception type only.
And it takes out sanic-cors, which rasa-sdk always installs: only the Rasa server calls the
action server (server to server, on loopback), so no browser ever needs its CORS headers, and
its per-request resource matching was 30 % of the action server's CPU (py-spy, issue 17).
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from typing import Any, Optional

import pluggy
from sanic import Request, Sanic, response
from sanic.response import HTTPResponse

from safety.log_redaction import install as install_log_redaction

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")

#: Tracker fields and the JSON types Rasa sends for them (None allowed where Rasa sends null).
_TRACKER_FIELDS = {
    "sender_id": (str,),
    "slots": (dict,),
    "latest_message": (dict, type(None)),
    "events": (list,),
    "paused": (bool,),
    "followup_action": (str, type(None)),
    "active_loop": (dict, type(None)),
    "latest_action_name": (str, type(None)),
    "latest_input_channel": (str, type(None)),
    "latest_event_time": (int, float, type(None)),
}


def action_call_problem(body: bytes, deflated: bool = False) -> Optional[str]:
    """Why `body` is not an action call as the Rasa server sends it, or None if it is."""
    try:
        call = json.loads(zlib.decompress(body) if deflated else body)
    except (ValueError, zlib.error):
        return "the body must be a JSON object"
    if not isinstance(call, dict):
        return "the body must be a JSON object"
    if not isinstance(call.get("next_action"), str) or not call["next_action"]:
        return "next_action must be an action name"
    if not isinstance(call.get("version", ""), str):
        return "version must be a string"
    if not isinstance(call.get("domain", {}), dict):
        return "domain must be an object"
    tracker = call.get("tracker")
    if not isinstance(tracker, dict) or "sender_id" not in tracker:
        return "tracker must be an object with a sender_id"
    for name, types in _TRACKER_FIELDS.items():
        if name in tracker and not isinstance(tracker[name], types):
            return f"tracker.{name} has the wrong type"
    if not all(isinstance(event, dict) for event in tracker.get("events", [])):
        return "tracker.events must be objects"
    return None


def remove_cors(app: Sanic) -> None:
    """Undoes rasa-sdk's `CORS(app, ...)` before the server starts.

    sanic-cors adds its request and response middleware in a `before_server_start` listener
    and wraps the error handler; the listener is dropped and the handler unwrapped.
    """
    def is_cors(listener: Any) -> bool:
        return getattr(listener, "__qualname__", "").startswith("CORS.")

    app._future_listeners[:] = [  # noqa: SLF001 (Sanic keeps listeners here until start)
        future for future in app._future_listeners if not is_cors(future.listener)
    ]
    for listeners in app.listeners.values():
        listeners[:] = [listener for listener in listeners if not is_cors(listener)]
    original = getattr(app.error_handler, "orig_handler", None)
    if original is not None:
        app.error_handler = original


class _Hardening:
    @staticmethod
    @hookimpl
    def attach_sanic_app_extensions(app: Sanic) -> None:
        """Adds the request check and the non-echoing error handler; removes CORS."""
        remove_cors(app)

        @app.middleware("request")
        async def check_action_call(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST" or request.path != "/webhook":
                return None
            problem = action_call_problem(
                request.body, request.headers.get("Content-Encoding") == "deflate"
            )
            return response.json({"error": problem}, status=400) if problem else None

        async def internal_error(request: Request, exception: Exception) -> HTTPResponse:
            # The request body holds the tracker (a parent's details): never echoed or logged.
            logger.error("action server error (%s) on %s", type(exception).__name__,
                         request.path)
            return response.json({"error": "internal error"}, status=500)

        app.error_handler.add(Exception, internal_error)


def init_hooks(manager: Any) -> None:
    """Called by rasa_sdk.plugin when the action server starts."""
    # Also where run_services.sh's start-up hook and umask are not used (a container, the
    # cluster): files this server creates (the escalation outbox, with parents' details) are
    # readable by their owner only.
    os.umask(0o077)
    install_log_redaction()
    manager.register(_Hardening)
