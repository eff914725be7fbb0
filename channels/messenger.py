"""Facebook Messenger: Rasa's connector, configurable Graph API base, 403 on bad requests.

Every event must carry X-Hub-Signature-256 (HMAC-SHA256 of the body with the app secret);
anything else, including Rasa's accepted X-Hub-Signature (SHA-1, or whatever hash the header
names), gets 403. The Graph API base can be set (tests point it at a local stand-in). Buttons
are Messenger's own (Rasa's output): a button template holds at most 3 buttons with titles of
at most 20 characters, so larger sets are sent as numbered choices, which a reply "2" picks
(channels.choices).

The conversation id is a keyed hash of the parent's page-scoped id (channels/conversation_ids.py):
no other channel can address a Messenger conversation, and the id is used only to reply. A
replayed event (same `mid`) is processed once (channels/replays.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import requests
from fbmessenger import MessengerClient
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.choices import numbered_text, payload_for_reply
from channels.conversation_ids import ToRecipient, keyed_conversation_id
from channels.replays import RecentUpdates
from channels.webhook import CredentialedInput, guarded_webhook, tracker_store_of

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com"
#: Seconds to wait for the Graph API (fbmessenger waits forever by default).
SEND_TIMEOUT = 10
#: Messenger's button template limits.
MAX_TEMPLATE_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_TEMPLATE_TEXT = 640
SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="


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


def event_id(payload: Any) -> Optional[str]:
    """The `mid` of the event Rasa handles (the first message or postback), if any."""
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        for event in events if isinstance(events, list) else []:
            if not isinstance(event, dict):
                continue
            for kind in ("message", "postback"):
                part = event.get(kind)
                if part:
                    mid = part.get("mid") if isinstance(part, dict) else None
                    return str(mid) if mid else None
    return None


class _ClinicMessenger(Messenger):
    """Rasa's webhook handler, with our client and output channel and namespaced ids."""

    def __init__(
        self,
        client: MessengerClient,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        tracker_store: Any,
        conversation_id: Callable[[str], str],
    ) -> None:
        self.on_new_message = on_new_message
        self.client = client
        self.tracker_store = tracker_store
        self.conversation_id = conversation_id
        self.last_message: Dict[Text, Any] = {}

    async def _handle_user_message(
        self, text: Text, sender_id: Text, metadata: Optional[Dict[Text, Any]]
    ) -> None:
        out_channel = ToRecipient(ClinicMessengerBot(self.client), sender_id)
        conversation_id = self.conversation_id(sender_id)
        text = await payload_for_reply(self.tracker_store, conversation_id, text)
        await self.on_new_message(
            UserMessage(text, out_channel, conversation_id, input_channel=self.name(),
                        metadata=metadata)
        )


class ClinicMessengerInput(CredentialedInput, FacebookInput):
    """Facebook Messenger input channel (webhook /webhooks/facebook/webhook)."""

    required_credentials = {"verify": "fb_verify", "secret": "fb_secret",
                            "page-access-token": "fb_access_token"}
    optional_credentials = {"api_base": ("api_base", DEFAULT_API_BASE)}

    def __init__(self, fb_verify: Text, fb_secret: Text, fb_access_token: Text,
                 api_base: str = DEFAULT_API_BASE) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self.api_base = api_base
        self.recent = RecentUpdates(self.name())

    def conversation_id(self, sender_id: str) -> str:
        """The conversation id for a page-scoped user id: a keyed hash, never the id."""
        return keyed_conversation_id(self.name(), self.fb_secret, sender_id)

    def is_signed(self, request: Request) -> bool:
        """Whether X-Hub-Signature-256 is the body's HMAC-SHA256 with the app secret.

        Only SHA-256: Rasa's check takes the hash named in X-Hub-Signature (SHA-1, even MD5).
        """
        signature = request.headers.get(SIGNATURE_HEADER) or ""
        if not signature.startswith(SIGNATURE_PREFIX):
            return False
        expected = hmac.new(self.fb_secret.encode(), request.body or b"", hashlib.sha256)
        return hmac.compare_digest(signature[len(SIGNATURE_PREFIX):].lower().encode(),
                                   expected.hexdigest().encode())

    def get_output_channel(self) -> OutputChannel:
        """Output channel on the configured Graph API base."""
        return ClinicMessengerBot(messenger_client(self.fb_access_token, self.api_base))

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The webhook routes: verification (GET) and signed events (POST)."""
        webhook, on_new_message = guarded_webhook("fb_webhook", on_new_message)

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
            if await self.recent.is_replay(request.app, event_id(request.json)):
                return response.text("success")
            handler = _ClinicMessenger(
                messenger_client(self.fb_access_token, self.api_base), on_new_message,
                tracker_store_of(request), self.conversation_id,
            )
            await handler.handle(request.json, self.get_metadata(request))
            return response.text("success")

        return webhook
