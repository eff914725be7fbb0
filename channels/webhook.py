"""What every project channel sets up the same way: itself from credentials.yml, and its webhook.

- `CredentialedInput.from_credentials` builds a channel from its credentials.yml entry, as
  named by the channel's `required_credentials` and `optional_credentials`.
- `guarded_webhook` opens a channel's blueprint: the handler wrapped by the reply guard (every
  message gets a reply, emergency guidance first: channels/reply_guard.py) and Rasa's
  `GET /` health route.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, ClassVar, Dict, Mapping, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.reply_guard import GuardedHandler, guard_replies


class CredentialedInput(InputChannel):
    """An input channel whose `__init__` takes the values of its credentials.yml entry."""

    #: credentials.yml key -> `__init__` argument; each must be set (passed as a string).
    required_credentials: ClassVar[Mapping[str, str]] = {}
    #: credentials.yml key -> (`__init__` argument, default); a missing or empty value takes
    #: the default.
    optional_credentials: ClassVar[Mapping[str, Tuple[str, Any]]] = {}

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Builds the channel from its credentials.yml entry."""
        if not credentials and cls.required_credentials:
            cls.raise_missing_credentials_exception()
        credentials = credentials or {}
        arguments = {arg: str(credentials[key]) for key, arg in cls.required_credentials.items()}
        for key, (arg, default) in cls.optional_credentials.items():
            value = credentials.get(key)
            arguments[arg] = default if value is None or value == "" else value
        return cls(**arguments)


def with_health_route(blueprint: Blueprint) -> Blueprint:
    """Adds Rasa's channel health route, `GET /` answering {"status": "ok"}."""

    @blueprint.route("/", methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    return blueprint


def guarded_webhook(
    name: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]
) -> Tuple[Blueprint, GuardedHandler]:
    """A channel's blueprint `name` with the health route, and its guarded message handler."""
    return with_health_route(Blueprint(name)), guard_replies(on_new_message)


def tracker_store_of(request: Request) -> Any:
    """The Rasa agent's tracker store (None before the agent is loaded)."""
    return getattr(getattr(request.app.ctx, "agent", None), "tracker_store", None)
