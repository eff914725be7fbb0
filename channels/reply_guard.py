"""Every message gets a reply, and a message with emergency signs gets emergency guidance.

Rasa sends nothing at all when a custom action fails (action server down, too slow, or
answering 500: the processor logs the error and listens again, Rasa issue #7630), and its
channels answer an exception (e.g. the lock store is down) with an empty reply. The guard wraps
the handler every channel calls: when the turn produced no message, it sends the apology with
the clinic's number itself. Because that path bypasses the NLU pipeline, it runs the red-flag
rules (content/red_flags.yml) on the text and sends the emergency message instead when they
raise an alarm. Messages over the size limit are not processed (a parent gets "please send a
shorter message"), but are checked for red flags the same way first. Every channel's text is
cleaned here (clinic/user_input.py) before anything else sees it.

Logs name the failure's type only, never the message text (personal data rule).
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import OutputChannel, UserMessage

from clinic import store_outage
from clinic.paths import SPACY_PIPELINE_DIR
from clinic.rasa_runtime import tune_rasa_runtime
from clinic.red_flags import RedFlagDetector
from clinic.resources import get_resources
from clinic.user_input import clean_text

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]

MAX_MESSAGE_CHARS_ENV = "MAX_MESSAGE_CHARS"
DEFAULT_MAX_MESSAGE_CHARS = 1000
#: How much of an oversized message the red-flag rules read (they are linear in the text).
RED_FLAG_SCAN_CHARS = 5000


def max_message_chars() -> int:
    """The size limit of one message, in characters."""
    return int(os.environ.get(MAX_MESSAGE_CHARS_ENV, DEFAULT_MAX_MESSAGE_CHARS))


@lru_cache(maxsize=1)
def red_flag_detector() -> RedFlagDetector:
    """The red-flag rules on the project's spaCy pipeline, compiled on first use."""
    import spacy

    return RedFlagDetector(spacy.load(SPACY_PIPELINE_DIR))


def raises_alarm(text: Text) -> bool:
    """Whether the red-flag rules find an emergency sign in `text`."""
    # Rasa lowercases text before the pipeline sees it; the rules are written for that.
    doc = red_flag_detector().nlp(text[:RED_FLAG_SCAN_CHARS].lower())
    return red_flag_detector().assess(doc).alarm


def fallback_messages(text: Optional[Text], message_id: Text) -> List[Dict[Text, Any]]:
    """The emergency message if `text` raises an alarm, otherwise the message `message_id`."""
    resources = get_resources()
    if text and raises_alarm(text):
        # `kind` lets the web widget show it as an alert, as the emergency action's message.
        return [{"text": resources.message("emergency"), "kind": "emergency"}]
    return [{"text": resources.message(message_id)}]


class CountingOutputChannel(OutputChannel):
    """Passes every message on to the real channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    @classmethod
    def name(cls) -> Text:
        """Not a channel of its own."""
        return "counting"

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        """Counts, then sends through the real channel."""
        self.sent += 1
        await self.inner.send_response(recipient_id, message)

    def __getattr__(self, attribute: str) -> Any:
        # Channel-specific attributes (e.g. the REST collector's `messages`).
        return getattr(self.inner, attribute)


async def _send(message: UserMessage, replies: List[Dict[Text, Any]]) -> None:
    for reply in replies:
        await message.output_channel.send_response(message.sender_id, reply)


def guard_replies(on_new_message: Handler) -> Handler:
    """Wraps a channel's message handler so that no message goes unanswered."""
    tune_rasa_runtime()

    async def handle(message: UserMessage) -> None:
        # Cleaned here, where every channel passes, so no channel stores a NUL or a lone
        # surrogate (PostgreSQL and the tracker store refuse them); the REST channel has
        # already cleaned its text at the request check, and cleaning is idempotent.
        message.text = clean_text(message.text) if message.text is not None else None
        text = message.text or ""
        if len(text) > max_message_chars():
            logger.info("message over the size limit (%d characters) not processed", len(text))
            await _send(message, fallback_messages(text, "message_too_long"))
            return
        real_channel = message.output_channel
        counting = CountingOutputChannel(real_channel)
        message.output_channel = counting
        try:
            await on_new_message(message)
        except Exception as error:  # noqa: BLE001 (whatever failed, the parent gets a reply)
            logger.error("message could not be handled (%s)", type(error).__name__)
        finally:
            message.output_channel = real_channel
        if counting.sent == 0:
            logger.error("no reply was produced; sending the fallback reply")
            try:
                await _send(message, fallback_messages(text, "service_unavailable"))
            except Exception as error:  # noqa: BLE001
                logger.error("fallback reply failed too (%s)", type(error).__name__)
        if store_outage.take(message.sender_id):
            # The conversation could not be read: a form cannot go on (clinic/store_outage.py).
            await _send(message, [{"text": get_resources().message("store_unavailable")}])

    return handle
