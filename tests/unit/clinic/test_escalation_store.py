import datetime as dt

import pytest

from clinic.escalation_store import EscalationStore


@pytest.fixture
def store(tmp_path):
    store = EscalationStore(f"sqlite:///{tmp_path / 'escalations.db'}")
    yield store
    store.dispose()


def create(store, **overrides):
    values = {
        "channel": "rest", "conversation_id": "c1", "urgency": "routine",
        "reason": "out_of_scope", "transcript": [{"speaker": "user", "text": "hello"}],
        "parent_name": "Alex", "contact": "+1 555 0100 123", "child_age": "7 years",
        "question": "Can we swim?", "consent": True,
    }
    values.update(overrides)
    return store.create(**values)


def test_round_trip(store):
    created = create(store, now=dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc))
    assert created.reference == f"ESC-2026-{created.id:06d}"
    found = store.get(created.reference)
    assert found == created
    assert found.transcript == [{"speaker": "user", "text": "hello"}]
    assert found.status == "open" and found.notification_state == "pending"
    assert found.created_at.tzinfo is not None


def test_references_are_unique_and_sequential(store):
    first, second = create(store), create(store)
    assert first.reference != second.reference
    assert second.id == first.id + 1


def test_list_puts_urgent_first_then_oldest(store):
    base = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)
    routine_old = create(store, now=base)
    urgent_new = create(store, urgency="urgent", now=base + dt.timedelta(hours=2))
    routine_new = create(store, now=base + dt.timedelta(hours=1))
    assert [c.reference for c in store.list()] == [
        urgent_new.reference, routine_old.reference, routine_new.reference,
    ]


def test_status_change_is_audited(store):
    created = create(store)
    store.set_status(created.reference, "contacted", actor="nurse.kim")
    store.set_status(created.reference, "closed", actor="nurse.kim")
    assert store.get(created.reference).status == "closed"
    assert [c.reference for c in store.list()] == []
    changes = [(e.actor, e.change) for e in store.audit(created.reference)]
    assert changes == [
        ("assistant", "created (routine)"),
        ("nurse.kim", "status open -> contacted"),
        ("nurse.kim", "status contacted -> closed"),
    ]


def test_invalid_status_and_unknown_reference(store):
    created = create(store)
    with pytest.raises(ValueError):
        store.set_status(created.reference, "deleted", actor="x")
    with pytest.raises(KeyError):
        store.set_status("ESC-2026-999999", "closed", actor="x")
    with pytest.raises(ValueError):
        create(store, urgency="whenever")


def test_notification_bookkeeping(store):
    created = create(store)
    # The creating process notifies first; the retry loop waits for the grace period.
    assert store.due_notifications() == []
    after_grace = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    assert [c.reference for c in store.due_notifications(now=after_grace)] == [created.reference]
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    store.record_notification(created.reference, delivered=False, error="HTTP 500", retry_at=later)
    failed = store.get(created.reference)
    assert failed.notification_state == "failed"
    assert failed.notification_attempts == 1
    assert failed.notification_error == "HTTP 500"
    assert store.due_notifications() == []
    assert [c.reference for c in store.due_notifications(now=later)] == [created.reference]
    store.record_notification(created.reference, delivered=True)
    sent = store.get(created.reference)
    assert sent.notification_state == "sent" and sent.notification_attempts == 2
    assert store.due_notifications(now=later) == []


def test_retention_deletes_only_old_closed_cases(store):
    old = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    cutoff = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    old_closed, old_open = create(store, now=old), create(store, now=old)
    store.set_status(old_closed.reference, "closed", actor="x", now=old)
    # Opened long ago but closed after the cutoff: kept for the full period.
    closed_late = create(store, now=old)
    store.set_status(closed_late.reference, "closed", actor="x")
    recent_closed = create(store)
    store.set_status(recent_closed.reference, "closed", actor="x")
    assert store.delete_closed_before(cutoff) == 1
    assert store.get(old_closed.reference) is None
    assert store.audit(old_closed.reference) == []
    for kept in (old_open, closed_late, recent_closed):
        assert store.get(kept.reference) is not None
    import sqlalchemy as sa

    from clinic.escalation_store import audit_log

    with store.engine.connect() as connection:
        orphans = connection.execute(
            sa.select(sa.func.count()).select_from(audit_log)
            .where(audit_log.c.escalation_id == old_closed.id)
        ).scalar()
    assert orphans == 0
    assert store.delete_closed_before(cutoff) == 0


def test_payload_is_json_ready(store):
    import json

    payload = create(store).payload()
    assert json.loads(json.dumps(payload))["reference"].startswith("ESC-")
