"""Recording a case: the escalation store, outbox and notifier (opened on first use), transcripts.

The action server records escalations (actions/); the Rasa server's reply guard records an
emergency it answered itself (channels/reply_guard.py), so this module needs no action code.
An emergency in a conversation that already has an open urgent case is appended to it and not
notified again (escalation/store.py).
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Tuple

from escalation.notifier import WebhookNotifier
from escalation.outbox import EscalationOutbox, retry_interval
from escalation.store import Escalation, EscalationStore

logger = logging.getLogger(__name__)

#: The parent waits for at most this long for the first delivery attempt; retries happen in
#: the web app's retry loop.
INLINE_NOTIFY_SECONDS = 3.0
#: How many user and bot messages an escalation keeps.
TRANSCRIPT_TURNS = 20


def transcript_lines(
    events: Iterable[Dict[str, Any]], turns: int = TRANSCRIPT_TURNS
) -> List[Dict[str, str]]:
    """The last `turns` user and bot texts of serialised tracker events, oldest first."""
    lines: List[Dict[str, str]] = []
    for event in events:
        if event.get("event") == "user" and event.get("text"):
            lines.append({"speaker": "user", "text": str(event["text"])})
        elif event.get("event") == "bot" and event.get("text"):
            lines.append({"speaker": "bot", "text": str(event["text"])})
    return lines[-turns:]


@lru_cache(maxsize=1)
def get_store() -> EscalationStore:
    """The process-wide escalation store (ESCALATION_DB_URL or var/escalations.db)."""
    return EscalationStore()


@lru_cache(maxsize=1)
def get_outbox() -> EscalationOutbox:
    """Where cases wait while the escalation store is down (ESCALATION_OUTBOX)."""
    return EscalationOutbox()


def _store_now(fields: Dict[str, Any]) -> Tuple[Escalation, bool]:
    """Moves any waiting cases into the store, then stores this one (blocking); True if new."""
    _move_waiting()
    return get_store().create_or_append(**fields)


#: The task that moves this process's waiting cases once the store is back (at most one).
_draining: Dict[str, asyncio.Task[None]] = {}


def _move_waiting() -> int:
    """Moves the outbox into the store (blocking); how many cases still wait."""
    if get_outbox().waiting():
        get_outbox().drain(get_store())
    return get_outbox().waiting()


async def _drain_until_empty() -> None:
    """Tries to move the outbox into the store every retry interval until it is empty."""
    while True:
        await asyncio.sleep(retry_interval())
        try:
            if not await asyncio.to_thread(_move_waiting):
                return
        except Exception as exc:  # noqa: BLE001 (the store is still down: try again later)
            logger.info("escalation outbox not moved yet (%s)", type(exc).__name__)


def drain_later() -> None:
    """Makes sure this process moves its outbox once the store answers again.

    The web app's retry loop moves the outbox it can see; on separate machines (containers)
    a Rasa replica's or an action server's outbox is only its own.
    """
    task = _draining.get("task")
    if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
        _draining["task"] = asyncio.ensure_future(_drain_until_empty())


@lru_cache(maxsize=1)
def get_notifier() -> WebhookNotifier:
    """The process-wide webhook notifier."""
    return WebhookNotifier.from_environment()


async def record_escalation(
    *, urgency: str, reason: str, channel: str, conversation_id: str,
    transcript: List[Dict[str, str]], parent_name: Optional[str] = None,
    contact: Optional[str] = None, child_age: Optional[str] = None,
    question: Optional[str] = None, consent: bool = False,
) -> Optional[Escalation]:
    """Stores a case and tries to notify the clinic once; None only if nothing could keep it.

    The store call runs in a thread (SQLAlchemy is blocking). If the escalation store is down,
    the case waits in the local outbox and is moved later (escalation/outbox.py). A
    failed or slow notification leaves the case flagged for the web app's retry loop.
    """
    fields: Dict[str, Any] = {
        "urgency": urgency, "reason": reason, "channel": channel,
        "conversation_id": conversation_id, "transcript": transcript,
        "parent_name": parent_name, "contact": contact, "child_age": child_age,
        "question": question, "consent": consent,
    }
    try:
        escalation, new = await asyncio.to_thread(_store_now, fields)
    except Exception as exc:  # noqa: BLE001 (any database failure: keep it in the outbox)
        # The exception type only: a database message could quote the parent's details.
        logger.error("could not store a %s escalation (%s): %s", urgency, reason,
                     type(exc).__name__)
        try:
            queued = await asyncio.to_thread(get_outbox().put, fields)
        except Exception as outbox_exc:  # noqa: BLE001 (the parent is told to call instead)
            logger.error("escalation outbox failed too: %s", type(outbox_exc).__name__)
            return None
        logger.warning("escalation %s kept in the outbox until the store is back",
                       queued.reference)
        drain_later()
        return queued
    if not new:
        # Appended to the conversation's open urgent case: the clinic knows already.
        logger.warning("emergency appended to urgent case %s", escalation.reference)
        return escalation
    try:
        await asyncio.wait_for(
            get_notifier().deliver(get_store(), escalation), timeout=INLINE_NOTIFY_SECONDS
        )
    except asyncio.TimeoutError:
        logger.warning("escalation %s: notification still pending", escalation.reference)
    except Exception as exc:  # noqa: BLE001 (the retry loop will try again)
        logger.error("escalation %s: notification failed: %s", escalation.reference,
                     type(exc).__name__)
    return escalation
