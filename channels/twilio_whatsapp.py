"""WhatsApp through Twilio: signed inbound webhooks, replies through Twilio's Messages API.

Inbound: POST /webhooks/whatsapp/webhook (form-encoded, as Twilio sends it). Requests without
a valid X-Twilio-Signature get 403 and never reach Rasa. The parent's phone number is used only
to reply: the conversation id Rasa stores and logs is a keyed hash of it (safety rule 4;
channels/conversation_ids.py). A replayed webhook (same `MessageSid`) is processed once
(channels/replays.py).

WhatsApp has no buttons: they are sent as numbered choices and a reply "2" picks the second
(channels.choices).
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from channels.choices import numbered_text, payload_for_reply
from channels.conversation_ids import keyed_conversation_id
from channels.replays import RecentUpdates
from channels.webhook import CredentialedInput, guarded_webhook, tracker_store_of

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.twilio.com"
#: Seconds to wait for Twilio's API; the webhook itself must answer within Twilio's 15 s.
SEND_TIMEOUT = 10
#: Attempts per message when Twilio's API is unreachable or answers 5xx.
SEND_ATTEMPTS = 2


def whatsapp_address(number: str) -> str:
    """A Twilio WhatsApp address ("whatsapp:+14155238886") from a number with or without it."""
    number = number.strip()
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


class TwilioWhatsAppOutput(OutputChannel):
    """Sends the bot's messages, in order, to one WhatsApp address through Twilio's API."""

    @classmethod
    def name(cls) -> Text:
        """Channel name (as recorded in the tracker)."""
        return "whatsapp"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        to_address: Optional[str],
        api_base: str = DEFAULT_API_BASE,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_address = whatsapp_address(from_number)
        self.to_address = to_address
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"

    async def _post(self, form: Dict[str, str]) -> None:
        """POSTs one message; failures are logged (without the recipient), never raised.

        A lost message must not stop the ones after it, which still go out in order.
        """
        if not self.to_address:
            # Only Rasa's proactive API reaches here: conversation ids are hashes, not numbers.
            logger.warning("whatsapp: no recipient address for a proactive message; not sent")
            return
        data = {"To": self.to_address, "From": self.from_address, **form}
        auth = aiohttp.BasicAuth(self.account_sid, self.auth_token)
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                async with aiohttp.ClientSession(timeout=timeout) as session, \
                        session.post(self.url, data=data, auth=auth) as reply:
                    if reply.status < 300:
                        return
                    logger.error("whatsapp: Twilio answered %s (attempt %s)",
                                 reply.status, attempt)
                    if reply.status < 500:
                        return  # a 4xx will not get better by retrying
            except (aiohttp.ClientError, TimeoutError) as error:
                logger.error("whatsapp: Twilio unreachable (attempt %s): %s",
                             attempt, type(error).__name__)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Sends one text message."""
        await self._post({"Body": text})

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Sends the text with the buttons as numbered choices, in the same message."""
        await self._post({"Body": numbered_text(text, buttons)})

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        """Sends an image by URL."""
        await self._post({"MediaUrl": image})


class TwilioWhatsAppInput(CredentialedInput):
    """Receives WhatsApp messages from Twilio's webhook."""

    required_credentials = {"account_sid": "account_sid", "auth_token": "auth_token",
                            "whatsapp_number": "whatsapp_number"}
    optional_credentials = {"api_base": ("api_base", DEFAULT_API_BASE),
                            "webhook_url": ("webhook_url", None)}

    @classmethod
    def name(cls) -> Text:
        """Channel name: the webhook is /webhooks/whatsapp/webhook."""
        return "whatsapp"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        whatsapp_number: str,
        api_base: str = DEFAULT_API_BASE,
        webhook_url: Optional[str] = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.whatsapp_number = whatsapp_number
        self.api_base = api_base
        self.webhook_url = webhook_url
        self.validator = RequestValidator(auth_token)
        self.recent = RecentUpdates(self.name())

    def conversation_id(self, address: str) -> str:
        """The conversation id for a WhatsApp address: a keyed hash, never the number."""
        return keyed_conversation_id(self.name(), self.auth_token, address)

    def is_signed(self, request: Request) -> bool:
        """Whether X-Twilio-Signature matches the URL Twilio called and the form fields.

        Behind a proxy the URL Sanic sees differs from the public one Twilio signed:
        set TWILIO_WEBHOOK_URL to the public URL.
        """
        signature = request.headers.get("X-Twilio-Signature", "")
        url = self.webhook_url or request.url
        return bool(signature) and self.validator.validate(url, request.form, signature)

    def output_for(self, address: Optional[str]) -> TwilioWhatsAppOutput:
        """An output channel that replies to one WhatsApp address."""
        return TwilioWhatsAppOutput(self.account_sid, self.auth_token, self.whatsapp_number,
                                    address, self.api_base)

    def get_output_channel(self) -> OutputChannel:
        """Output for Rasa's proactive API: cannot address hashed conversation ids."""
        return self.output_for(None)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The webhook routes."""
        webhook, on_new_message = guarded_webhook("whatsapp_webhook", on_new_message)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.is_signed(request):
                logger.warning("whatsapp: rejected a request without a valid Twilio signature")
                return response.text("invalid signature", status=403)
            address = request.form.get("From")
            if not address:
                return response.text("missing sender", status=400)
            if await self.recent.is_replay(request.app, request.form.get("MessageSid")):
                return response.empty()
            sender_id = self.conversation_id(address)
            # Media and location messages have an empty body: Rasa answers it politely.
            text = await payload_for_reply(
                tracker_store_of(request), sender_id, request.form.get("Body") or ""
            )
            await on_new_message(
                UserMessage(text, self.output_for(address), sender_id,
                            input_channel=self.name())
            )
            return response.empty()

        return webhook
