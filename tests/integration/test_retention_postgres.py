"""Retention on a real PostgreSQL server: Rasa's tracker table and the escalation store."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.paths import PROJECT_ROOT
from escalation.store import EscalationStore
from stores.retention import apply_retention
from tests.integration.postgres import temporary_postgres

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)


async def store_conversations(url: str, now: dt.datetime) -> SQLTrackerStore:
    """Rasa's own SQL tracker store with an old ("old") and a recent ("recent") conversation."""
    trackers = SQLTrackerStore(Domain.empty(), host=url)
    for sender, age in (("old", 40), ("recent", 1)):
        at = (now - dt.timedelta(days=age)).timestamp()
        await trackers.save(DialogueStateTracker.from_events(
            sender, [UserUttered("hello", timestamp=at)]))
    return trackers


async def test_retention_on_postgresql():
    with temporary_postgres() as url:
        trackers = await store_conversations(url, NOW)
        escalations = EscalationStore(url)
        old = NOW - dt.timedelta(days=60)
        case = escalations.create(channel="rest", conversation_id="old", urgency="routine",
                                  reason="request", transcript=[], now=old)
        escalations.set_status(case.reference, "closed", actor="x", now=old)

        result = apply_retention(30, tracker_db_url=url, escalation_db_url=url, now=NOW)

        assert (result.conversations, result.events, result.escalations) == (1, 1, 1)
        assert escalations.get(case.reference) is None
        assert list(await trackers.keys()) == ["recent"]
        escalations.dispose()
        trackers.engine.dispose()


async def test_make_retention_reads_the_postgres_alias_rasa_accepts():
    # TRACKER_DB_URL=postgres://... works for the Rasa server; `make retention` failed on it.
    with temporary_postgres() as url:
        trackers = await store_conversations(url, dt.datetime.now(dt.timezone.utc))
        alias = "postgres://" + url.split("://", 1)[1]
        env = {**os.environ, "TRACKER_DB_URL": alias, "ESCALATION_DB_URL": alias,
               "PYTHONPATH": str(PROJECT_ROOT)}
        run = subprocess.run(  # noqa: S603 (our own script)
            [sys.executable, str(PROJECT_ROOT / "scripts" / "retention.py"), "--days", "30"],
            env=env, capture_output=True, text=True, timeout=120, check=False)
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.startswith("deleted 1 conversations (1 events)")
        assert list(await trackers.keys()) == ["recent"]
        trackers.engine.dispose()
