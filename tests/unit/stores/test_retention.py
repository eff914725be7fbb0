import datetime as dt
import sqlite3

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from escalation.store import EscalationStore
from stores.retention import apply_retention, delete_conversations_before

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)


def days_ago(days):
    return (NOW - dt.timedelta(days=days)).timestamp()


async def store_conversation(store, sender, *timestamps):
    events = []
    for at in timestamps:
        events += [UserUttered("hello", timestamp=at), ActionExecuted("action_listen",
                                                                      timestamp=at)]
    await store.save(DialogueStateTracker.from_events(sender, events))


@pytest.fixture
async def tracker_db(tmp_path):
    path = tmp_path / "tracker.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    await store_conversation(store, "old", days_ago(40), days_ago(35))
    # Started long ago, still going: kept as a whole.
    await store_conversation(store, "ongoing", days_ago(40), days_ago(1))
    await store_conversation(store, "recent", days_ago(2))
    store.engine.dispose()
    return path


def senders(path):
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("select distinct sender_id from events")}


async def test_old_conversations_are_deleted_whole(tracker_db):
    cutoff = NOW - dt.timedelta(days=30)
    conversations, events = delete_conversations_before(f"sqlite:///{tracker_db}", cutoff)
    assert (conversations, events) == (1, 4)
    assert senders(tracker_db) == {"ongoing", "recent"}
    assert delete_conversations_before(f"sqlite:///{tracker_db}", cutoff) == (0, 0)


def test_a_tracker_store_without_conversations_is_fine(tmp_path):
    assert delete_conversations_before(f"sqlite:///{tmp_path / 'none.db'}", NOW) == (0, 0)
    assert not (tmp_path / "none.db").exists()
    missing_dir = tmp_path / "var" / "tracker.db"
    assert delete_conversations_before(f"sqlite:///{missing_dir}", NOW) == (0, 0)
    (tmp_path / "empty.db").touch()
    assert delete_conversations_before(f"sqlite:///{tmp_path / 'empty.db'}", NOW) == (0, 0)


async def test_apply_retention_covers_conversations_and_closed_escalations(tracker_db, tmp_path):
    url = f"sqlite:///{tmp_path / 'escalations.db'}"
    store = EscalationStore(url)
    old = NOW - dt.timedelta(days=60)
    cases = [store.create(channel="rest", conversation_id="c", urgency="routine",
                          reason="request", transcript=[], now=old) for _ in range(3)]
    store.set_status(cases[0].reference, "closed", actor="x", now=old)
    store.set_status(cases[1].reference, "contacted", actor="x", now=old)
    result = apply_retention(30, tracker_db_url=f"sqlite:///{tracker_db}",
                             escalation_db_url=url, now=NOW)
    assert (result.conversations, result.events, result.escalations) == (1, 4, 1)
    assert [store.get(c.reference) is None for c in cases] == [True, False, False]
    store.dispose()
    with pytest.raises(ValueError):
        apply_retention(-1, tracker_db_url=f"sqlite:///{tracker_db}", escalation_db_url=url)
