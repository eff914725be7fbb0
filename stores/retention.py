"""Data retention: conversations and closed escalations older than a number of days.

Conversations live in Rasa's SQL tracker store (table `events`, one row per event with the
conversation's `sender_id` and a UNIX `timestamp`); a conversation is deleted as a whole when its
last event is older than the cutoff. Closed escalations go through the escalation store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa

from escalation.store import EscalationStore
from stores import urls as store_url

# Only the columns retention needs; Rasa's SQLTrackerStore owns (and creates) the table.
_events = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
)


@dataclass(frozen=True)
class RetentionResult:
    """What one run deleted."""

    conversations: int
    events: int
    escalations: int


def delete_conversations_before(url: str, cutoff: dt.datetime) -> tuple[int, int]:
    """Deletes conversations whose last event is before `cutoff`: (conversations, events)."""
    database_file = store_url.sqlite_file(url)
    if database_file is not None and not database_file.exists():
        return 0, 0  # the assistant never ran here: nothing to delete, nothing to create
    engine = store_url.open_engine(url, future=True, hide_parameters=True)
    try:
        if not sa.inspect(engine).has_table("events"):
            return 0, 0  # no conversation was ever stored
        stale = (
            sa.select(_events.c.sender_id)
            .group_by(_events.c.sender_id)
            .having(sa.func.max(_events.c.timestamp) < cutoff.timestamp())
        )
        with engine.begin() as connection:
            senders = [row.sender_id for row in connection.execute(stale)]
            deleted = 0
            # In chunks: SQLite limits the number of bound parameters per statement.
            for start in range(0, len(senders), 500):
                chunk = senders[start:start + 500]
                result = connection.execute(
                    _events.delete().where(_events.c.sender_id.in_(chunk))
                )
                deleted += int(result.rowcount or 0)
        return len(senders), deleted
    finally:
        engine.dispose()


def apply_retention(
    days: float,
    tracker_db_url: Optional[str] = None,
    escalation_db_url: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> RetentionResult:
    """Deletes conversations and closed escalations older than `days` days."""
    if days < 0:
        raise ValueError("days must not be negative")
    cutoff = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=days)
    url = tracker_db_url or store_url.tracker_db_url()
    conversations, events = delete_conversations_before(url, cutoff)
    store = EscalationStore(escalation_db_url)
    try:
        escalations = store.delete_closed_before(cutoff)
    finally:
        store.dispose()
    return RetentionResult(conversations, events, escalations)
