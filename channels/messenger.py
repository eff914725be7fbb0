"""Facebook Messenger: Rasa's connector, configurable Graph API base, 403 on bad requests.

Rasa checks X-Hub-Signature (HMAC of the body with the app secret); this connector keeps that
check but answers 403 instead of 200 "not validated", and lets the Graph API base be set
(tests point it at a local stand-in). Buttons are Messenger's own (Rasa's output): a button
template holds at most 3 buttons with titles of at most 20 characters, so larger sets are sent
as numbered choices, which a reply "2" picks (channels.choices).
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import requests
from fbmessenger import MessengerClient
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.choices import numbered_text, payload_for_reply
from channels.reply_guard import guard_replies

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com"
#: Seconds to wait for the Graph API (fbmessenger waits forever by default).
SEND_TIMEOUT = 10
#: Messenger's button template limits.
MAX_TEMPLATE_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_TEMPLATE_TEXT = 640


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # noqa: D102
        kwargs.setdefault("timeout", SEND_TIMEOUT)
        return super().request(*args, **kwargs)


def messenger_client(page_access_token: str, api_base: str) -> MessengerClient:
    """An fbmessenger client that talks to the given Graph API base."""
    client = MessengerClient(page_access_token, session=_TimeoutSession())
    client.graph_url = f"{api_base.rstrip('/')}/v{client.api_version}"
    return client


class ClinicMessengerBot(MessengerBot):
    """Rasa's Messenger output; button sets the template cannot hold become numbered text."""

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Sends a button template, or the text with numbered choices when it would not fit."""
        fits = (len(buttons) <= MAX_TEMPLATE_BUTTONS and len(text) <= MAX_TEMPLATE_TEXT
                and all(len(str(b.get("title", ""))) <= MAX_BUTTON_TITLE for b in buttons))
        if fits:
            await super().send_text_with_buttons(recipient_id, text, buttons, **kwargs)
        else:
            # Rasa would drop the buttons; the parent still needs the choices.
            self.send_text(recipient_id, numbered_text(text, buttons))

    def send_text(self, recipient_id: Text, text: Text) -> None:
        """Sends one text message as it is (Rasa's splits at blank lines)."""
        self.messenger_client.send({"text": text}, recipient_id, "RESPONSE")


class _ClinicMessenger(Messenger):
    """Rasa's webhook handler, with our client and output channel."""

    def __init__(
        self,
        client: MessengerClient,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        tracker_store: Any,
    ) -> None:
        self.on_new_message = on_new_message
        self.client = client
        self.tracker_store = tracker_store
        self.last_message: Dict[Text, Any] = {}

    async def _handle_user_message(
        self, text: Text, sender_id: Text, metadata: Optional[Dict[Text, Any]]
    ) -> None:
        out_channel = ClinicMessengerBot(self.client)
        text = await payload_for_reply(self.tracker_store, sender_id, text)
        await self.on_new_message(
            UserMessage(text, out_channel, sender_id, input_channel=self.name(),
                        metadata=metadata)
        )


class ClinicMessengerInput(FacebookInput):
    """Facebook Messenger input channel (webhook /webhooks/facebook/webhook)."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Builds the channel from its credentials.yml entry."""
        if not credentials:
            cls.raise_missing_credentials_exception()
        channel = cls(str(credentials["verify"]), str(credentials["secret"]),
                      str(credentials["page-access-token"]))
        channel.api_base = str(credentials.get("api_base") or DEFAULT_API_BASE)
        return channel

    api_base = DEFAULT_API_BASE

    def is_signed(self, request: Request) -> bool:
        """Rasa's X-Hub-Signature check; a malformed header is simply not signed."""
        signature = request.headers.get("X-Hub-Signature") or ""
        try:
            return self.validate_hub_signature(self.fb_secret, request.body, signature)
        except (AttributeError, TypeError, ValueError):
            return False  # e.g. an unknown hash name in the header

    def get_output_channel(self) -> OutputChannel:
        """Output channel on the configured Graph API base."""
        return ClinicMessengerBot(messenger_client(self.fb_access_token, self.api_base))

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The webhook routes: verification (GET) and signed events (POST)."""
        # Every message gets a reply, emergency guidance first (channels/reply_guard.py).
        on_new_message = guard_replies(on_new_message)
        webhook = Blueprint("fb_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def token_verification(request: Request) -> HTTPResponse:
            if request.args.get("hub.verify_token") == self.fb_verify:
                return response.text(request.args.get("hub.challenge") or "")
            return response.text("invalid verify token", status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.is_signed(request):
                logger.warning("messenger: rejected a request without a valid signature")
                return response.text("invalid signature", status=403)
            agent = getattr(request.app.ctx, "agent", None)
            handler = _ClinicMessenger(
                messenger_client(self.fb_access_token, self.api_base), on_new_message,
                getattr(agent, "tracker_store", None),
            )
            await handler.handle(request.json, self.get_metadata(request))
            return response.text("success")

        return webhook
