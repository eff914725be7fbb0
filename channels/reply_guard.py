"""Every message gets a reply, and a message with emergency signs gets emergency guidance at once.

Rasa sends nothing at all when a custom action fails (action server down, too slow, or
answering 500: the processor logs the error and listens again, Rasa issue #7630), and its
channels answer an exception (e.g. the lock store is down) or a cancelled turn (Sanic's response
timeout) with an empty reply. The guard wraps the handler every channel calls:

- It runs the red-flag rules (content/red_flags.yml) on the text before the turn. When they
  raise an alarm, the emergency message goes out at once, whatever state the action server,
  Redis or the tracker store is in; the turn then runs with the emergency action's own copy of
  the message filtered out (the parent gets it once). If the turn did not send the emergency
  message (so the emergency action did not run), the guard records the urgent case itself
  (escalation/service.py: the store, or the outbox when it is down; appended to the
  conversation's open urgent case if there is one).
- When the turn produced no message (failed, raised, or was cancelled), it sends the apology with
  the clinic's number.
- A typed bare `/emergency` (no button sends it) gets the emergency message and nothing else:
  it is not obeyed as an intent (components/typed_intent_guard.py) and, reporting no sign, opens
  no urgent case (it was a way to flood the clinic's inbox).
- Messages over the size limit are not processed (a parent gets "please send a shorter
  message"); neither are messages beyond the rate limit of a conversation (a parent gets
  "please slow down"). Both are checked for red flags first, like every message.

Every channel's text is cleaned here (safety/user_input.py) before anything else sees it.
Logs name the failure's type only, never the message text (personal data rule).
"""

from __future__ import annotations

import asyncio
import logging
import os
from functools import lru_cache
from typing import Any, Awaitable, Callable, Dict, List, Set, Text

from rasa.core.channels.channel import OutputChannel, UserMessage

from clinic.paths import SPACY_PIPELINE_DIR
from clinic.resources import get_resources
from knowledge.content import EMERGENCY_MESSAGE
from knowledge.intents import EMERGENCY_INTENT
from rasa_patches import apply as apply_rasa_patches
from safety.rate_limit import WindowLimit
from safety.red_flags import Assessment, RedFlagDetector
from safety.user_input import clean_text, is_button_payload
from stores import outage as store_outage

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]

MAX_MESSAGE_CHARS_ENV = "MAX_MESSAGE_CHARS"
DEFAULT_MAX_MESSAGE_CHARS = 1000
#: How much of an oversized message the red-flag rules read (they are linear in the text:
#: measured 0.2-0.8 ms for a sentence, 21 ms for 1000 characters).
RED_FLAG_SCAN_CHARS = 5000
MESSAGE_RATE_ENV = "MESSAGE_RATE_LIMIT"
MESSAGE_RATE_WINDOW_ENV = "MESSAGE_RATE_WINDOW_SECONDS"
#: Messages a conversation (and a widget connection) may send per window. A parent typing or
#: tapping buttons fast sends about one a second (10 per window, half the limit); a script at
#: 20/s is stopped after a second, then gets 2 a second through. A test client that waits for
#: each reply stays under it while turns take 0.5 s or more.
DEFAULT_MESSAGE_RATE_LIMIT = 20
DEFAULT_MESSAGE_RATE_WINDOW_SECONDS = 10.0
#: How long an emergency waits for its turn before the guard returns (the REST channel answers
#: then, with the emergency message; the turn goes on in the background, its other messages, if
#: any, reach the parent only on push channels). Measured on loopback: an emergency turn takes
#: 0.04-0.2 s with the action server up; with it hung, the parent waits exactly this long.
EMERGENCY_TURN_WAIT_SECONDS = 0.25
#: An emergency turn still running after this long (a hung action server, a lock held by a dead
#: replica) is not waited for: the guard records the urgent case itself.
EMERGENCY_RECORD_AFTER_SECONDS = 30.0
#: Throttled emergency messages of one conversation recorded at most once in this long: the case
#: already holds the emergency, and a flood must not become a flood of database writes.
THROTTLED_RECORD_SECONDS = 10.0
#: How long the guard waits for the tracker store when it writes a transcript itself.
TRANSCRIPT_READ_SECONDS = 2.0


def max_message_chars() -> int:
    """The size limit of one message, in characters."""
    return int(os.environ.get(MAX_MESSAGE_CHARS_ENV, DEFAULT_MAX_MESSAGE_CHARS))


def message_rate_limit() -> WindowLimit:
    """A fresh per-key message limit (MESSAGE_RATE_LIMIT per MESSAGE_RATE_WINDOW_SECONDS)."""
    return WindowLimit(
        int(os.environ.get(MESSAGE_RATE_ENV) or DEFAULT_MESSAGE_RATE_LIMIT),
        float(os.environ.get(MESSAGE_RATE_WINDOW_ENV) or DEFAULT_MESSAGE_RATE_WINDOW_SECONDS),
    )


@lru_cache(maxsize=1)
def red_flag_detector() -> RedFlagDetector:
    """The red-flag rules on the project's spaCy pipeline, compiled on first use."""
    import spacy

    return RedFlagDetector(spacy.load(SPACY_PIPELINE_DIR))


def assess(text: Text) -> Assessment:
    """What the red-flag rules find in `text`."""
    # Rasa lowercases text before the pipeline sees it; the rules are written for that.
    doc = red_flag_detector().nlp(text[:RED_FLAG_SCAN_CHARS].lower())
    return red_flag_detector().assess(doc)


def raises_alarm(text: Text) -> bool:
    """Whether the red-flag rules find an emergency sign in `text`."""
    return assess(text).alarm


def is_typed_emergency(text: Text) -> bool:
    """Whether `text` is Rasa's shortcut for the emergency intent, typed (`/emergency`)."""
    return is_button_payload(text) and text.strip()[1:] == EMERGENCY_INTENT


def emergency_reply() -> Dict[Text, Any]:
    """The emergency message as a bot message."""
    # `kind` lets the web widget show it as an alert, as the emergency action's message.
    return {"text": get_resources().message(EMERGENCY_MESSAGE), "kind": "emergency"}


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


class AfterEmergencyChannel(CountingOutputChannel):
    """The real channel for a turn whose emergency message the guard has already sent."""

    def __init__(self, inner: OutputChannel) -> None:
        super().__init__(inner)
        self.emergency_seen = False

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        """Drops the emergency action's copy of the message; passes everything else on."""
        if message.get("kind") == "emergency" or (
            message.get("text") == get_resources().message(EMERGENCY_MESSAGE)
        ):
            # The emergency action ran (and recorded the case) before Rasa sends its message.
            self.emergency_seen = True
            return
        await super().send_response(recipient_id, message)


async def _send(message: UserMessage, replies: List[Dict[Text, Any]]) -> None:
    for reply in replies:
        await message.output_channel.send_response(message.sender_id, reply)


async def _conversation_lines(sender_id: Text) -> List[Dict[str, str]]:
    """The conversation's transcript from this Rasa server's tracker store, or [] if unreadable."""
    from sanic import Sanic

    from escalation.service import transcript_lines

    try:
        store = Sanic.get_app().ctx.agent.tracker_store
        tracker = await asyncio.wait_for(store.retrieve(sender_id), TRANSCRIPT_READ_SECONDS)
    except Exception as error:  # noqa: BLE001 (no app, no store, store down: the case is kept anyway)
        logger.info("transcript not readable for an urgent case (%s)", type(error).__name__)
        return []
    if tracker is None:
        return []
    return transcript_lines(event.as_dict() for event in tracker.events)


async def record_emergency(message: UserMessage, text: Text, assessment: Assessment) -> None:
    """Records the urgent case of an emergency the guard answered (never raises)."""
    from escalation.service import record_escalation

    try:
        lines = await _conversation_lines(message.sender_id)
        said = [line["text"] for line in lines if line["speaker"] == "user"]
        if not said or said[-1] != text:
            lines.append({"speaker": "user", "text": text})
        lines.append({"speaker": "bot", "text": get_resources().message(EMERGENCY_MESSAGE)})
        escalation = await record_escalation(
            urgency="urgent",
            reason="emergency: " + (", ".join(assessment.categories) or "red flags"),
            channel=message.input_channel or "unknown",
            conversation_id=message.sender_id,
            transcript=lines,
            question=None if text.lstrip().startswith("/") else text,
        )
    except Exception as error:  # noqa: BLE001 (the parent has the emergency message already)
        logger.error("urgent case not recorded (%s)", type(error).__name__)
        return
    logger.warning("emergency answered by the reply guard; urgent case %s",
                   escalation.reference if escalation else "NOT STORED")


class GuardedHandler:
    """A channel's message handler wrapped so that no message goes unanswered (module docstring)."""

    def __init__(self, on_new_message: Handler) -> None:
        """Wraps `on_new_message` (Rasa's handler for one message)."""
        apply_rasa_patches()  # refuses another Rasa version (rasa_patches.py)
        # Compiled now, at server start (0.6 s), not on the first message: every message is read.
        red_flag_detector()
        self.on_new_message = on_new_message
        self.conversation_limit = message_rate_limit()
        self.throttled_records = WindowLimit(1, THROTTLED_RECORD_SECONDS)
        # Background work (emergency turns, case records) is kept here until done, so it is not
        # garbage-collected half-way.
        self.background: Set[asyncio.Task[Any]] = set()

    def _in_background(self, work: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def __call__(self, message: UserMessage) -> None:
        """Handles one message (see the module docstring)."""
        # Cleaned here, where every channel passes, so no channel stores a NUL or a lone
        # surrogate (PostgreSQL and the tracker store refuse them); the REST channel has
        # already cleaned its text at the request check, and cleaning is idempotent.
        message.text = clean_text(message.text) if message.text is not None else None
        text = message.text or ""
        key = f"{message.input_channel}|{message.sender_id}"
        if not self.conversation_limit.take(key):
            logger.warning("message over the conversation's rate limit not processed")
            await self.answer_throttled(message)
            return
        if len(text) > max_message_chars():
            logger.info("message over the size limit (%d characters) not processed", len(text))
            await self._answer_unprocessed(message, "message_too_long")
            return
        if is_typed_emergency(text):
            logger.info("typed /emergency: emergency message sent, no case opened")
            await _send(message, [emergency_reply()])
            return
        assessment = assess(text) if text else Assessment(alarm=False)
        if assessment.alarm:
            await self._emergency_turn(message, text, assessment)
        else:
            await self._turn(message)

    async def answer_throttled(self, message: UserMessage) -> None:
        """The reply to a message over a rate limit: "please slow down", or the emergency one."""
        await self._answer_unprocessed(message, "message_rate_limited", throttled=True)

    async def _answer_unprocessed(
        self, message: UserMessage, message_id: Text, throttled: bool = False
    ) -> None:
        """Answers a message that is not processed; its emergency is still answered and kept."""
        text = message.text or ""
        if is_typed_emergency(text):
            await _send(message, [emergency_reply()])
            return
        assessment = assess(text) if text else Assessment(alarm=False)
        if not assessment.alarm:
            await _send(message, [{"text": get_resources().message(message_id)}])
            return
        await _send(message, [emergency_reply()])
        key = f"{message.input_channel}|{message.sender_id}"
        if not throttled or self.throttled_records.take(key):
            self._in_background(record_emergency(message, text, assessment))

    async def _turn(self, message: UserMessage) -> None:
        real_channel = message.output_channel
        counting = CountingOutputChannel(real_channel)
        message.output_channel = counting
        try:
            await self.on_new_message(message)
        except asyncio.CancelledError:
            # Sanic's response timeout (or a stopping server) cancelled the turn: Rasa's REST
            # channel would answer `[]`. The parent gets the apology like for any failure.
            logger.error("message handling was cancelled")
        except Exception as error:  # noqa: BLE001 (whatever failed, the parent gets a reply)
            logger.error("message could not be handled (%s)", type(error).__name__)
        finally:
            message.output_channel = real_channel
        if counting.sent == 0:
            logger.error("no reply was produced; sending the fallback reply")
            try:
                # No alarm in `text` (checked before the turn): the apology.
                await _send(message, [{"text": get_resources().message("service_unavailable")}])
            except Exception as error:  # noqa: BLE001
                logger.error("fallback reply failed too (%s)", type(error).__name__)
        if store_outage.take(message.sender_id):
            # The conversation could not be read: a form cannot go on (stores/outage.py).
            await _send(message, [{"text": get_resources().message("store_unavailable")}])

    async def _emergency_turn(
        self, message: UserMessage, text: Text, assessment: Assessment
    ) -> None:
        # First the emergency message, depending on nothing but this process.
        try:
            await _send(message, [emergency_reply()])
        except Exception as error:  # noqa: BLE001 (the turn below may still reach the parent)
            logger.error("emergency reply failed (%s)", type(error).__name__)
        channel = AfterEmergencyChannel(message.output_channel)
        message.output_channel = channel
        turn = self._in_background(self._run_and_record(message, text, assessment, channel))
        try:
            # Its other messages (a form left, ...) follow when the turn is quick; a turn that
            # waits on a hung action server goes on without holding the parent's reply.
            await asyncio.wait_for(asyncio.shield(turn), EMERGENCY_TURN_WAIT_SECONDS)
        except asyncio.TimeoutError:
            logger.warning("emergency answered before its turn finished")
        except asyncio.CancelledError:
            logger.error("emergency turn handling was cancelled; the message was sent")
        except Exception:  # noqa: BLE001,S110 (logged by _run_and_record)
            pass

    async def _run_and_record(
        self, message: UserMessage, text: Text, assessment: Assessment,
        channel: AfterEmergencyChannel,
    ) -> None:
        turn = asyncio.ensure_future(self.on_new_message(message))
        done, _ = await asyncio.wait({turn}, timeout=EMERGENCY_RECORD_AFTER_SECONDS)
        if turn in done and not turn.cancelled() and turn.exception() is not None:
            logger.error("emergency turn failed (%s)", type(turn.exception()).__name__)
        # The emergency message stands alone: no "requests cannot be taken now" after it
        # (stores/outage.py); the mark is cleared for the next turn.
        store_outage.take(message.sender_id)
        if not channel.emergency_seen:
            # The emergency action did not run (action server hung or down, Redis down, ...):
            # the case is recorded here (appended if the action records it later).
            await record_emergency(message, text, assessment)
        if turn not in done:
            await asyncio.wait({turn})


def guard_replies(on_new_message: Handler) -> GuardedHandler:
    """Wraps a channel's message handler so that no message goes unanswered."""
    return GuardedHandler(on_new_message)
