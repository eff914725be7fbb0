"""The escalation store round trip on a real PostgreSQL server."""

import datetime as dt

import pytest

from escalation.store import EscalationStore
from tests.integration.postgres import temporary_postgres

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def store():
    with temporary_postgres() as url:
        store = EscalationStore(url)
        yield store
        store.dispose()


def test_round_trip_on_postgresql(store):
    assert store.engine.dialect.name == "postgresql"
    created = store.create(
        channel="socketio", conversation_id="c-pg", urgency="urgent", reason="emergency",
        transcript=[{"speaker": "user", "text": "she can't breathe"}], question="help",
        now=dt.datetime(2026, 11, 25, 22, 0, tzinfo=dt.timezone.utc),
    )
    assert created.reference == f"ESC-2026-{created.id:06d}"
    found = store.get(created.reference)
    assert found == created
    assert found.created_at == dt.datetime(2026, 11, 25, 22, 0, tzinfo=dt.timezone.utc)


def test_status_audit_and_notifications_on_postgresql(store):
    case = store.create(channel="rest", conversation_id="c2", urgency="routine",
                        reason="out_of_scope", transcript=[], consent=True,
                        parent_name="Alex", contact="alex@example.com")
    store.set_status(case.reference, "contacted", actor="nurse.kim")
    assert [e.change for e in store.audit(case.reference)] == [
        "created (routine)", "status open -> contacted",
    ]
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    assert case.reference in [c.reference for c in store.due_notifications(now=later)]
    store.record_notification(case.reference, delivered=True)
    assert store.get(case.reference).notification_state == "sent"
    urgent_first = store.list()
    assert urgent_first[0].urgency == "urgent"


def test_report_queries_on_postgresql(store):
    for reason, question in [("report_a", "can we swim?"), ("report_b", None),
                             ("report_a", "can we fly?")]:
        store.create(channel="rest", conversation_id="c3", urgency="routine", reason=reason,
                     transcript=[], question=question, consent=True, parent_name="Alex")
    counts = [row for row in store.reason_counts() if row[0].startswith("report_")]
    assert counts == [("report_a", 2), ("report_b", 1)]
    questions = [q for q in store.questions() if q.reason.startswith("report_")]
    assert [q.question for q in questions] == ["can we fly?", "can we swim?"]
    assert questions[0].created_at.tzinfo is not None


def test_search_filters_tests_and_an_older_table_on_postgresql():
    import sqlalchemy as sa

    with temporary_postgres() as url:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            # The table as released before notes, assignees and test flags.
            connection.execute(sa.text(
                "CREATE TABLE escalations (id SERIAL PRIMARY KEY, reference VARCHAR(32) UNIQUE, "
                "created_at TIMESTAMP WITH TIME ZONE NOT NULL, channel VARCHAR(64) NOT NULL, "
                "conversation_id VARCHAR(255) NOT NULL, urgency VARCHAR(16) NOT NULL, "
                "reason VARCHAR(64) NOT NULL, parent_name VARCHAR(200), contact VARCHAR(200), "
                "child_age VARCHAR(50), question TEXT, consent BOOLEAN NOT NULL, transcript "
                "TEXT NOT NULL, status VARCHAR(16) NOT NULL, notification_state VARCHAR(16) NOT "
                "NULL, notification_attempts INTEGER NOT NULL, notification_error VARCHAR(500), "
                "next_notification_at TIMESTAMP WITH TIME ZONE, case_id VARCHAR(32), "
                "merge_key VARCHAR(300) UNIQUE)"))
            connection.execute(sa.text(
                "INSERT INTO escalations (reference, created_at, channel, conversation_id, "
                "urgency, reason, parent_name, contact, consent, transcript, status, "
                "notification_state, notification_attempts) VALUES ('ESC-2026-000001', "
                "now(), 'rest', 'c', 'routine', 'request', 'Alex Old', 'old@example.com', "
                "true, '[]', 'open', 'sent', 1)"))
        engine.dispose()
        store = EscalationStore(url)
        try:
            [old] = store.list()
            assert (old.notes, old.assigned_to, old.is_test) == ("", None, False)
            shell = store.create(channel="cmdline", conversation_id="s", urgency="urgent",
                                 reason="emergency", transcript=[])
            store.assign(old.reference, "dr.lee", actor="nurse.kim")
            store.set_notes(old.reference, "left a message", actor="nurse.kim")
            assert [c.reference for c in store.list(query="ALEX")] == [old.reference]
            assert [c.reference for c in store.list(urgency="urgent", tests=True)] == \
                [shell.reference]
            assert store.reason_counts() == [("request", 1)]
            assert store.close_tests(actor="nurse.kim") == 1
            assert store.get(old.reference).assigned_to == "dr.lee"
        finally:
            store.dispose()
