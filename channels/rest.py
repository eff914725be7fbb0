r"""Rasa's REST channel with its request checked and its text cleaned before Rasa sees it.

Same URL and JSON as Rasa's `rest` channel (`POST /webhooks/rest/webhook` with
`{"sender": "...", "message": "..."}`). Rasa's own channel answers a JSON body that is not an
object with a 500, lets `["a"]` or `5` through as a message (silently no reply), and a sender
id with a lone surrogate (`"\ud800"`) stops the whole server. Here such requests get a 400 with
a short reason, and the text is cleaned (safety/user_input.py). The handler is wrapped in the
reply guard (channels/reply_guard.py), and the client cannot name the input channel.

The client's `sender` is stored as `rest:<sender>` (channels/conversation_ids.py): whatever it
sends, a REST client cannot join a conversation of another channel (a parent's Telegram chat,
a widget session). The public entry point does not route this channel unless
REST_CHANNEL_PUBLIC=on (deploy/nginx/clinic.conf.template): the widget uses socket.io.

The request's `X-Request-ID` (set by nginx, the same on its retry of one client request on the
other replica) becomes the message id, so a turn replayed after its replica died is answered
from the store instead of being processed twice (rasa_patches.py).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from channels.conversation_ids import rest_conversation_id
from channels.reply_guard import guard_replies
from rasa_patches import REQUEST_MESSAGE_ID_PREFIX
from safety.log_redaction import install as install_log_redaction
from safety.user_input import clean_sender, clean_text

REQUEST_ID_HEADER = "X-Request-ID"
# nginx's $request_id is 32 hex digits; anything else is not used as a message id.
_REQUEST_ID = re.compile(r"[0-9A-Za-z_-]{8,64}")
#: The current request's id: set by the request check, read by the message handler (Sanic
#: runs both in the request's task, one after the other).
_request_id: ContextVar[Optional[str]] = ContextVar("rest_request_id", default=None)


def request_id(request: Request) -> Optional[str]:
    """The request's usable X-Request-ID, or None."""
    value = request.headers.get(REQUEST_ID_HEADER)
    return value if value and _REQUEST_ID.fullmatch(value) else None


def with_request_id(on_new_message: Callable[[UserMessage], Awaitable[Any]]
                    ) -> Callable[[UserMessage], Awaitable[Any]]:
    """Gives each message the id of its request, when the request has one."""

    async def handle(message: UserMessage) -> Any:
        request = _request_id.get()
        if request:
            message.message_id = REQUEST_MESSAGE_ID_PREFIX + request
        return await on_new_message(message)

    return handle


def _refuse(reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=400)


def checked_body(request: Request) -> Optional[HTTPResponse]:
    """Replaces the parsed JSON body by a cleaned copy; returns a 400 response if unusable."""
    try:
        body = request.json
    except Exception:  # noqa: BLE001 (Sanic raises its own error types for bad JSON)
        return _refuse("the body must be a JSON object")
    if not isinstance(body, dict):
        return _refuse("the body must be a JSON object")
    sender = clean_sender(body.get("sender"))
    if sender is None:
        return _refuse("sender must be a non-empty string of printable characters")
    message = body.get("message")
    if not isinstance(message, str):
        return _refuse("message must be a string")
    metadata = body.get("metadata")
    # Sanic declares parsed_json as None (its cache of request.json); the cleaned body goes there.
    request.parsed_json = {  # type: ignore[assignment]
        "sender": sender,
        "message": clean_text(message),
        # Rasa passes metadata on to actions: an object or nothing. A client-chosen
        # `input_channel` is dropped: escalation records must name the real channel.
        "metadata": metadata if isinstance(metadata, dict) else None,
    }
    return None


class ClinicRestInput(RestInput):
    """The REST channel, hardened against malformed requests."""

    @classmethod
    def name(cls) -> str:
        """Keeps Rasa's URL: /webhooks/rest/webhook."""
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        # The checked body always has a sender (check_request refused it otherwise).
        return rest_conversation_id(req.json["sender"])

    def _extract_input_channel(self, req: Request) -> Text:
        # Rasa lets the client name any channel; the staff shell's debug output is keyed on
        # the channel name, so a web client must not be able to claim to be the shell.
        return self.name()

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Rasa's blueprint with a request check in front of the webhook, replies guarded."""
        # Also where run_services.sh's start-up hook is not used (e.g. a container).
        install_log_redaction()
        blueprint: Blueprint = super().blueprint(guard_replies(with_request_id(on_new_message)))

        @blueprint.middleware("request")
        async def check_request(request: Request) -> Optional[HTTPResponse]:
            if request.method == "POST" and request.path.endswith("/webhook"):
                # Set on every request: a kept-alive connection runs its requests in one task.
                _request_id.set(request_id(request))
                return checked_body(request)
            return None

        return blueprint
