"""The REST channel (`/webhooks/rest/webhook`) with the reply guard and strict input."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from channels.reply_guard import guard_replies

#: Rasa's tracker store keeps sender ids in a 255-character column.
MAX_SENDER_CHARS = 255


class ClinicRestInput(RestInput):
    """Rasa's REST channel: guarded replies; the client cannot pick the input channel."""

    @classmethod
    def name(cls) -> Text:
        """Same URL as Rasa's REST channel."""
        return "rest"

    def _extract_input_channel(self, req: Request) -> Text:
        # Rasa lets the client name any channel; the staff shell's debug output is keyed on
        # the channel name, so a web client must not be able to claim to be the shell.
        return self.name()

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Rasa's REST routes around the guarded handler."""
        return super().blueprint(guard_replies(on_new_message))

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        sender = _body(req).get("sender")
        if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARS:
            raise InvalidUsage(f'"sender" must be a string of 1 to {MAX_SENDER_CHARS} characters')
        return sender

    def _extract_message(self, req: Request) -> Optional[Text]:
        message = _body(req).get("message")
        if not isinstance(message, str):
            raise InvalidUsage('"message" must be a string')
        return message


def _body(req: Request) -> Dict[Text, Any]:
    try:
        body = req.json
    except InvalidUsage:
        raise
    except Exception as error:  # noqa: BLE001 (any unreadable body is the client's error)
        raise InvalidUsage("the body must be a JSON object") from error
    if not isinstance(body, dict):
        raise InvalidUsage("the body must be a JSON object")
    return body
