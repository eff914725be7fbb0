"""The action server's escalation store and notifier, opened on first use."""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Dict, List, Optional

from clinic.escalation_store import Escalation, EscalationStore
from clinic.notifier import WebhookNotifier

logger = logging.getLogger(__name__)

#: The parent waits for at most this long for the first delivery attempt; retries happen in
#: the web app's retry loop.
INLINE_NOTIFY_SECONDS = 3.0


@lru_cache(maxsize=1)
def get_store() -> EscalationStore:
    """The process-wide escalation store (ESCALATION_DB_URL or var/escalations.db)."""
    return EscalationStore()


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
    """Stores a case and tries to notify the clinic once; None if the store failed.

    The store call runs in a thread (SQLAlchemy is blocking). A failed or slow notification
    leaves the case flagged for the web app's retry loop; it never loses the case.
    """
    store = get_store()
    try:
        escalation = await asyncio.to_thread(
            store.create, urgency=urgency, reason=reason, channel=channel,
            conversation_id=conversation_id, transcript=transcript, parent_name=parent_name,
            contact=contact, child_age=child_age, question=question, consent=consent,
        )
    except Exception as exc:  # noqa: BLE001 (any database failure: tell the parent to call)
        # The exception type only: a database message could quote the parent's details.
        logger.error("could not store a %s escalation (%s): %s", urgency, reason,
                     type(exc).__name__)
        return None
    try:
        await asyncio.wait_for(
            get_notifier().deliver(store, escalation), timeout=INLINE_NOTIFY_SECONDS
        )
    except asyncio.TimeoutError:
        logger.warning("escalation %s: notification still pending", escalation.reference)
    except Exception as exc:  # noqa: BLE001 (the retry loop will try again)
        logger.error("escalation %s: notification failed: %s", escalation.reference,
                     type(exc).__name__)
    return escalation
