"""Cases the escalation store could not take, kept on local disk until it can.

When the escalation database is down, a parent who asked for a clinician (or an emergency
case) must not be lost, and must not be told "call us" after giving their details. The case is
written to this outbox, a SQLite file beside the service (`ESCALATION_OUTBOX`, default
`var/escalation-outbox.db`), with a provisional reference the parent receives
(`ESC-2026-Q3F9A1C`). The action server and the web app's retry loop move waiting cases into
the store as soon as it answers again, keeping reference and time; the notification webhook
then fires as for any new case. The outbox is part of the escalation store: personal details
live here only until they are moved, and never in logs.

Delivery is at least once and idempotent: a case is deleted from the outbox only after the
store has it, and storing the same reference twice is refused by the store's unique key.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import sqlite3
from contextlib import closing, suppress
from pathlib import Path
from typing import Any, Dict, Optional

import sqlalchemy as sa

from clinic.paths import PROJECT_ROOT
from escalation.store import Escalation, EscalationStore
from stores.urls import make_private

logger = logging.getLogger(__name__)

OUTBOX_ENV = "ESCALATION_OUTBOX"
#: How often waiting cases are tried again (the web app's retry loop, and any process that put a
#: case in its outbox: a Rasa replica or action server whose outbox the web app cannot see).
RETRY_INTERVAL_ENV = "ESCALATION_RETRY_SECONDS"
DEFAULT_RETRY_SECONDS = 15.0
DEFAULT_OUTBOX_FILE = PROJECT_ROOT / "var" / "escalation-outbox.db"


def retry_interval() -> float:
    """Seconds between two tries to move waiting cases (ESCALATION_RETRY_SECONDS)."""
    return float(os.environ.get(RETRY_INTERVAL_ENV) or DEFAULT_RETRY_SECONDS)


class EscalationOutbox:
    """A durable local queue of cases for the escalation store."""

    def __init__(self, path: Optional[Path] = None) -> None:
        """Opens (creating if needed) the outbox file."""
        self.path = Path(path or os.environ.get(OUTBOX_ENV) or DEFAULT_OUTBOX_FILE)
        make_private(self.path)  # parents' details: owner only (0600, new folder 0700)
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS outbox (reference TEXT PRIMARY KEY, "
                "created_at TEXT NOT NULL, fields TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10)
        # Every commit reaches the disk before the parent is told the case is recorded.
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def put(self, fields: Dict[str, Any], now: Optional[dt.datetime] = None) -> Escalation:
        """Keeps a case until the store takes it; returns it with its provisional reference."""
        now = now or dt.datetime.now(dt.timezone.utc)
        reference = f"ESC-{now.year}-Q{secrets.token_hex(3).upper()}"
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT INTO outbox (reference, created_at, fields) VALUES (?, ?, ?)",
                (reference, now.isoformat(), json.dumps(fields)),
            )
        return Escalation(
            id=0, reference=reference, created_at=now, status="open",
            channel=fields["channel"], conversation_id=fields["conversation_id"],
            urgency=fields["urgency"], reason=fields["reason"],
            parent_name=fields.get("parent_name"), contact=fields.get("contact"),
            child_age=fields.get("child_age"), question=fields.get("question"),
            consent=bool(fields.get("consent")), transcript=list(fields.get("transcript", [])),
            notification_state="pending", notification_attempts=0, notification_error=None,
            next_notification_at=None,
        )

    def waiting(self) -> int:
        """How many cases wait for the store."""
        with closing(self._connect()) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def drain(self, store: EscalationStore) -> int:
        """Moves waiting cases into the store, oldest first; returns how many moved.

        Stops at the first failure other than "already stored" (the store is still down).
        """
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT reference, created_at, fields FROM outbox ORDER BY created_at"
            ).fetchall()
        moved = 0
        for reference, created_at, fields in rows:
            # IntegrityError: stored by an earlier attempt that did not get to delete it.
            with suppress(sa.exc.IntegrityError):
                store.create(**json.loads(fields), reference=reference,
                             now=dt.datetime.fromisoformat(created_at))
            with closing(self._connect()) as connection, connection:
                connection.execute("DELETE FROM outbox WHERE reference = ?", (reference,))
            moved += 1
            logger.info("escalation %s moved from the outbox to the store", reference)
        return moved
