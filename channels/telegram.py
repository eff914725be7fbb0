"""Telegram: Rasa's connector with an authenticated webhook and a configurable API base.

Telegram sends the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token on every
update; updates without it get 403. Rasa's own check (getMe on every update) proves nothing
about the sender, so it is replaced. Buttons are Telegram's inline keyboard (Rasa's output).

The conversation id is a keyed hash of the chat id (channels/conversation_ids.py): no other
channel can address a parent's Telegram conversation, and the chat id is used only to reply.
A replayed update (same `update_id`) is processed once (channels/replays.py).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Optional, Text

from aiogram.bot.api import TelegramAPIServer
from aiogram.types import Update
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.conversation_ids import ToRecipient, keyed_conversation_id
from channels.replays import RecentUpdates
from channels.webhook import CredentialedInput, guarded_webhook
from rasa_patches import init_telegram_output

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.telegram.org"
#: Seconds to wait for the Bot API (aiogram waits forever by default).
SEND_TIMEOUT = 10
#: Telegram sends "/start" when a parent opens the bot: it is a greeting, not an intent.
START_COMMAND, GREETING = "/start", "/greet"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


class ClinicTelegramOutput(TelegramOutput):
    """Rasa's Telegram output, talking to a configurable Bot API server."""

    def __init__(self, access_token: Optional[Text], api_base: str = DEFAULT_API_BASE) -> None:
        # TelegramOutput.__init__ hard-codes the production server; aiogram's Bot takes one.
        init_telegram_output(self, access_token, TelegramAPIServer.from_base(api_base),
                             SEND_TIMEOUT)


class ClinicTelegramInput(CredentialedInput, TelegramInput):
    """Telegram input channel whose webhook requires the secret token."""

    required_credentials = {"access_token": "access_token", "secret_token": "secret_token"}
    optional_credentials = {"verify": ("verify", None), "webhook_url": ("webhook_url", None),
                            "api_base": ("api_base", DEFAULT_API_BASE)}

    @classmethod
    def name(cls) -> Text:
        """Channel name: the webhook is /webhooks/telegram/webhook."""
        return "telegram"

    def __init__(
        self,
        access_token: str,
        verify: Optional[str],
        webhook_url: Optional[str],
        secret_token: str,
        api_base: str = DEFAULT_API_BASE,
    ) -> None:
        super().__init__(access_token, verify, webhook_url, debug_mode=False)
        if not secret_token:
            raise ValueError("the Telegram channel needs a secret token")
        self.secret_token = secret_token
        self.api_base = api_base
        self.recent = RecentUpdates(self.name())

    def conversation_id(self, chat_id: object) -> str:
        """The conversation id for a Telegram chat: a keyed hash, never the chat id."""
        return keyed_conversation_id(self.name(), self.secret_token, str(chat_id))

    def is_authentic(self, request: Request) -> bool:
        """Whether the update carries the secret token given to setWebhook."""
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), self.secret_token.encode())

    def get_output_channel(self) -> ClinicTelegramOutput:
        """An output channel; unlike Rasa's, it does not call setWebhook each time."""
        return ClinicTelegramOutput(self.access_token, self.api_base)

    async def register_webhook(self) -> None:
        """Registers the webhook URL with the secret token (Telegram then sends it back)."""
        bot = self.get_output_channel()
        try:
            # aiogram 2.15 predates secret_token in set_webhook: call the method directly.
            await bot.request("setWebhook", {"url": self.webhook_url,
                                             "secret_token": self.secret_token})
            if self.verify:
                me = await bot.get_me()
                if me.username != self.verify:
                    logger.warning("telegram: the token belongs to another bot than "
                                   "TELEGRAM_VERIFY names")
        except TelegramAPIError as error:
            # Not fatal: the other channels keep working; the webhook can be set later.
            logger.error("telegram: setWebhook failed: %s", error)
        finally:
            await bot.session.close()

    @staticmethod
    def _text_of(update: Update) -> Optional[tuple]:
        """(chat id, text) of a button press, message or edited message; None otherwise."""
        query = update.callback_query
        if query is not None:
            chat_id = query.message.chat.id if query.message else query.from_user.id
            return chat_id, query.data
        message = update.edited_message or update.message
        if message is None or message.text is None:
            return None  # stickers, photos, locations: nothing to answer
        if message.text.strip().split("@")[0] == START_COMMAND:  # "/start@clinic_bot" too
            return message.chat.id, GREETING
        return message.chat.id, message.text

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The webhook routes."""
        webhook, on_new_message = guarded_webhook("telegram_webhook", on_new_message)
        out_channel = self.get_output_channel()

        if self.webhook_url:

            @webhook.listener("after_server_start")
            async def set_webhook(app: Any, loop: Any) -> None:
                await self.register_webhook()

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.is_authentic(request):
                logger.warning("telegram: rejected an update without the secret token")
                return response.text("forbidden", status=403)
            update = Update(**(request.json or {}))
            found = self._text_of(update)
            if found is None or await self.recent.is_replay(request.app, update.update_id):
                return response.text("success")
            chat_id, text = found
            await on_new_message(UserMessage(
                text, ToRecipient(out_channel, str(chat_id)), self.conversation_id(chat_id),
                input_channel=self.name(),
            ))
            return response.text("success")

        return webhook
