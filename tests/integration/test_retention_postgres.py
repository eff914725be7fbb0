"""Retention on a real PostgreSQL server: Rasa's tracker table and the escalation store."""

import datetime as dt
from urllib.parse import urlparse

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.escalation_store import EscalationStore
from clinic.retention import apply_retention
from tests.integration.postgres import temporary_postgres

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)


async def test_retention_on_postgresql():
    with temporary_postgres() as url:
        parsed = urlparse(url)
        trackers = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=parsed.hostname,
                                   port=parsed.port, db="postgres", username="postgres")
        for sender, age in (("old", 40), ("recent", 1)):
            at = (NOW - dt.timedelta(days=age)).timestamp()
            await trackers.save(DialogueStateTracker.from_events(
                sender, [UserUttered("hello", timestamp=at)]))
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
