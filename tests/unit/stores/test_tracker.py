import json

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import ConnectionException

from clinic.paths import PROJECT_ROOT
from local.services import free_port
from stores.tracker import (
    ClinicTrackerStore,
    is_at_rest,
    wait_for_database,
)


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture
def store(tmp_path, monkeypatch, domain) -> ClinicTrackerStore:
    monkeypatch.delenv("TRACKER_DB_URL", raising=False)
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    return ClinicTrackerStore(domain=domain, compact_after_events=30)


def turn(text: str, answer: str, buttons=None):
    return [
        UserUttered(text, {"name": "ask_pain", "confidence": 0.99}),
        ActionExecuted("action_answer_topic"),
        BotUttered(answer, {"buttons": buttons} if buttons else {}),
        SlotSet("last_answer_id", "pain"),
        ActionExecuted("action_listen"),
    ]


def test_unreachable_database_stops_after_bounded_attempts():
    url = f"postgresql://clinic:s3cret@127.0.0.1:{free_port()}/clinic"
    with pytest.raises(ConnectionException) as raised:
        wait_for_database(url, attempts=2, delay=0)
    assert "after 2 attempts" in str(raised.value)
    assert "TRACKER_DB_URL" in str(raised.value)
    assert "s3cret" not in str(raised.value)


async def test_long_session_is_compacted_and_keeps_slots(store, domain):
    tracker = DialogueStateTracker.from_events(
        "parent", [ActionExecuted("action_session_start"), SessionStarted(),
                   ActionExecuted("action_listen"), SlotSet("disclaimer_shown", True)],
        domain.slots,
    )
    for number in range(8):
        for event in turn(f"question {number}", f"answer {number}"):
            tracker.update(event)
    await store.save(tracker)

    restored = await store.retrieve("parent")
    assert len(restored.events) < 10
    assert isinstance(restored.events[0], SessionStarted)
    assert restored.get_slot("disclaimer_shown") is True
    assert restored.get_slot("last_answer_id") == "pain"
    assert restored.latest_action_name == "action_listen"
    # The full history stays in the database.
    full = await store.retrieve_full_tracker("parent")
    assert len([e for e in full.events if isinstance(e, UserUttered)]) == 8

    # The next turn is stored after the compact restart and read back with it.
    for event in turn("one more", "last answer"):
        restored.update(event)
    await store.save(restored)
    again = await store.retrieve("parent")
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["one more"]


async def test_short_sessions_are_not_compacted(store, domain):
    tracker = DialogueStateTracker.from_events("short", turn("q", "a"), domain.slots)
    await store.save(tracker)
    restored = await store.retrieve("short")
    assert len(restored.events) == len(turn("q", "a"))


def test_not_at_rest_while_a_form_runs_or_a_choice_waits(domain):
    resting = DialogueStateTracker.from_events("r", turn("q", "a"), domain.slots)
    assert is_at_rest(resting)
    choice = DialogueStateTracker.from_events(
        "c", turn("q", "which one?", buttons=[{"title": "Pain", "payload": "/ask_pain"}]),
        domain.slots,
    )
    assert not is_at_rest(choice)
    form = DialogueStateTracker.from_events(
        "f", turn("q", "a") + [ActiveLoop("escalation_form")], domain.slots
    )
    assert not is_at_rest(form)


async def test_failures_are_recorded_for_the_health_endpoint(store, monkeypatch):
    store.engine.dispose()
    monkeypatch.setattr(store, "sessionmaker", lambda: (_ for _ in ()).throw(OSError("down")))
    with pytest.raises(OSError):
        await store.retrieve("anyone")
    assert store.health.ok is False
    assert store.health.failures == 1
    assert store.health.last_error == "OSError"


async def test_a_read_builds_no_orm_object_per_event(store, domain):
    # Rasa's read hydrated an ORM object per stored event and used only its JSON (issue 17).
    import sqlalchemy as sa

    tracker = DialogueStateTracker.from_events("reader", turn("q", "a"), domain.slots)
    await store.save(tracker)
    loaded = []

    def on_load(target, context):
        loaded.append(target)

    sa.event.listen(store.SQLEvent, "load", on_load)
    try:
        restored = await store.retrieve("reader")
        full = await store.retrieve_full_tracker("reader")
    finally:
        sa.event.remove(store.SQLEvent, "load", on_load)
    assert loaded == []
    assert [e.as_dict() for e in restored.events] == [e.as_dict() for e in tracker.events]
    assert len(full.events) == len(tracker.events)
    assert await store.retrieve("nobody") is None


async def test_a_save_writes_rasas_rows_without_orm_objects(store, domain, tmp_path):
    # Rasa's save built and flushed an ORM object per event (7 % of a turn, issue 17).
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore

    tracker = DialogueStateTracker.from_events("writer", turn("q", "a"), domain.slots)
    built = []

    def on_init(target, args, kwargs):
        built.append(target)

    sa.event.listen(store.SQLEvent, "init", on_init)
    try:
        await store.save(tracker)
    finally:
        sa.event.remove(store.SQLEvent, "init", on_init)
    assert built == []

    # The same rows as Rasa's own save writes, in the same order.
    rasa_store = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    await rasa_store.save(DialogueStateTracker.from_events("writer", turn("q", "a"),
                                                           domain.slots))
    columns = ["sender_id", "type_name", "timestamp", "intent_name", "action_name", "data"]

    def rows(engine):
        with engine.connect() as connection:
            return connection.execute(
                sa.text(f"SELECT {', '.join(columns)} FROM events ORDER BY id")).fetchall()

    ours, theirs = rows(store.engine), rows(rasa_store.engine)
    assert len(ours) == len(theirs) == len(turn("q", "a"))
    assert [row[:2] + row[3:5] for row in ours] == [row[:2] + row[3:5] for row in theirs]
    # Same event JSON apart from the timestamps the events were made with.
    def event_json(row):
        return {k: v for k, v in json.loads(row[5]).items() if k != "timestamp"}

    assert [event_json(row) for row in ours] == [event_json(row) for row in theirs]
