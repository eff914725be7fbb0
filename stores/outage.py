"""Conversations whose stored history could not be read this turn (a tracker-store outage).

Rasa answers from a fresh in-memory tracker when the tracker store fails, so a parent in the
middle of the escalation form silently falls out of it, and nothing they send is kept (issue 16:
three parents consented during a 20 s PostgreSQL outage and got no reference). The tracker store
records the conversation here when reading it fails; the reply guard, which every channel
passes, takes the mark after the turn and tells the parent that requests and details cannot be
taken right now, with the clinic's number (message `store_unavailable`). Sender ids only, in
this process, for one turn.
"""

from __future__ import annotations

import time
from typing import Dict, Text

#: Marks older than this are dropped (a turn that never reached the reply guard, e.g. the API).
MAX_AGE_SECONDS = 120.0

_unreadable: Dict[Text, float] = {}


def record(sender_id: Text) -> None:
    """The conversation's history could not be read for the current turn."""
    now = time.monotonic()
    for stale in [s for s, at in _unreadable.items() if at < now - MAX_AGE_SECONDS]:
        del _unreadable[stale]
    _unreadable[sender_id] = now


def take(sender_id: Text) -> bool:
    """Whether the conversation's history could not be read this turn (clears the mark)."""
    return _unreadable.pop(sender_id, None) is not None
