import datetime as dt
import json

import pytest

from escalation.store import EscalationStore


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

    from escalation.store import audit_log

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


# ------------------------------------------------- one urgent case per conversation per window
URGENT = {"channel": "socketio", "conversation_id": "session.sig", "urgency": "urgent",
          "reason": "emergency: breathing"}
AT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.timezone.utc)


def user(text):
    return {"speaker": "user", "text": text}


def bot(text):
    return {"speaker": "bot", "text": text}


def test_later_emergencies_of_a_conversation_are_appended_to_its_urgent_case(store):
    first, new = store.create_or_append(**URGENT, transcript=[user("hi"), user("help"),
                                                               bot("call 911")], now=AT)
    assert new
    # The next emergency's transcript overlaps the first one's (both are recent windows).
    again, new = store.create_or_append(
        **URGENT, transcript=[user("help"), bot("call 911"), user("he is blue"), bot("call 911")],
        now=AT + dt.timedelta(minutes=5))
    assert not new and again.reference == first.reference
    assert again.transcript == [user("hi"), user("help"), bot("call 911"), user("he is blue"),
                                bot("call 911")]
    assert [entry.change for entry in store.audit(first.reference)] == [
        "created (urgent)", "emergency message appended"]
    # Flooding it adds nothing more: one case, and its notification stays as it was.
    for _ in range(20):
        store.create(**URGENT, transcript=[user("he is blue"), bot("call 911")],
                     now=AT + dt.timedelta(minutes=6))
    [case] = store.list()
    assert len(case.transcript) == 5 and case.notification_attempts == 0
    # Routine cases and other conversations are never merged.
    create(store, conversation_id="session.sig", channel="socketio")
    store.create(**{**URGENT, "conversation_id": "other"}, transcript=[], now=AT)
    assert len(store.list()) == 3


def test_an_old_or_picked_up_urgent_case_takes_no_more_emergencies(store):
    first = store.create(**URGENT, transcript=[user("help")], now=AT)
    later = store.create(**URGENT, transcript=[user("again")], now=AT + dt.timedelta(minutes=61))
    assert later.reference != first.reference
    store.set_status(later.reference, "contacted", actor="nurse.kim")
    third = store.create(**URGENT, transcript=[user("still")], now=AT + dt.timedelta(minutes=62))
    assert third.reference not in (first.reference, later.reference)
    # The cases of one conversation share their case id, which is not the conversation id.
    assert first.case_id == later.case_id == third.case_id
    assert first.case_id and "session" not in first.case_id
    assert store.create(**{**URGENT, "conversation_id": "x"}, transcript=[]).case_id != \
        first.case_id


def test_two_writers_opening_the_same_urgent_case_end_with_one(store, tmp_path, monkeypatch):
    other = EscalationStore(store.url)
    # The other writer looked before this one inserted (a race): its insert is refused by the
    # unique merge key, and it appends instead.
    looked = []
    original = other._append_to_open_case

    def late_look(*args):
        if not looked:
            looked.append(True)
            store.create(**URGENT, transcript=[user("help")], now=AT)
            return None
        return original(*args)

    monkeypatch.setattr(other, "_append_to_open_case", late_look)
    case, new = other.create_or_append(**URGENT, transcript=[user("help"), user("more")],
                                       now=AT)
    assert not new
    [stored] = store.list()
    assert stored.transcript == [user("help"), user("more")]
    other.dispose()


def test_the_payload_names_the_case_not_the_conversation(store):
    payload = create(store, conversation_id="0123abcd.signature").payload()
    assert "conversation_id" not in payload
    assert "0123abcd" not in json.dumps(payload)
    assert payload["case_id"]


def test_an_older_database_gets_the_new_columns(tmp_path):
    import sqlalchemy as sa

    path = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(sa.text(
            "CREATE TABLE escalations (id INTEGER PRIMARY KEY, reference VARCHAR(32) UNIQUE, "
            "created_at DATETIME NOT NULL, channel VARCHAR(64) NOT NULL, conversation_id "
            "VARCHAR(255) NOT NULL, urgency VARCHAR(16) NOT NULL, reason VARCHAR(64) NOT NULL, "
            "parent_name VARCHAR(200), contact VARCHAR(200), child_age VARCHAR(50), question "
            "TEXT, consent BOOLEAN NOT NULL, transcript TEXT NOT NULL, status VARCHAR(16) NOT "
            "NULL, notification_state VARCHAR(16) NOT NULL, notification_attempts INTEGER NOT "
            "NULL, notification_error VARCHAR(500), next_notification_at DATETIME)"))
        connection.execute(sa.text(
            "INSERT INTO escalations VALUES (1, 'ESC-2026-000001', '2026-11-01 10:00:00', "
            "'rest', 'c', 'urgent', 'emergency', NULL, NULL, NULL, NULL, 0, '[]', 'open', "
            "'sent', 1, NULL, NULL)"))
    engine.dispose()
    store = EscalationStore(f"sqlite:///{path}")
    try:
        [old] = store.list()
        assert old.case_id == "ESC-2026-000001"
        assert (old.notes, old.assigned_to, old.is_test) == ("", None, False)
        store.set_notes(old.reference, "called back", actor="nurse.kim")
        assert store.get(old.reference).notes == "called back"
        assert store.create(**URGENT, transcript=[], now=AT).case_id
    finally:
        store.dispose()


def test_transcripts_seen_by_the_guard_and_the_late_action_server_merge_cleanly():
    from escalation.store import merge_transcripts

    first, second, emergency = user("can't breathe"), user("can't swallow"), bot("call 911")
    # The reply guard's view of each message (the action never ran, so the tracker has no bot
    # line), then the action server's, late, after it was resumed: each message once, in order.
    views = [[first, emergency], [first, second, emergency], [first, emergency],
             [first, second, emergency]]
    merged = views[0]
    for view in views[1:]:
        merged = merge_transcripts(merged, view)
    assert merged == [first, emergency, second, emergency]
    assert merge_transcripts([user("a")], [user("b")]) == [user("a"), user("b")]


def test_search_and_filters(store):
    alex = create(store, parent_name="Alex Smith", contact="+1 555 0100 123")
    sam = create(store, conversation_id="c2", parent_name="Sam 100%", contact="sam@example.com")
    urgent = create(store, conversation_id="c3", urgency="urgent", parent_name=None,
                    contact=None, consent=False)
    store.set_status(sam.reference, "closed", actor="nurse.kim")

    def refs(**filters):
        return [case.reference for case in store.list(**filters)]

    assert refs(query="smith") == [alex.reference]
    assert refs(query="0100 1") == [alex.reference]
    assert refs(query=urgent.reference.lower()) == [urgent.reference]
    assert refs(query="SAM@") == []  # closed: not among the open and contacted
    assert refs(statuses=("closed",), query="sam@") == [sam.reference]
    assert refs(statuses=("closed",), query="100%") == [sam.reference]
    assert refs(query="%") == []  # a wildcard is a character to find, not "anything"
    assert refs(urgency="urgent") == [urgent.reference]
    assert refs(urgency="routine") == [alex.reference]


def test_notes_and_assignee_are_audited(store):
    case = create(store)
    store.set_notes(case.reference, "  Mother prefers mornings  ", actor="nurse.kim")
    store.assign(case.reference, "dr.lee", actor="nurse.kim")
    store.assign(case.reference, None, actor="dr.lee")
    found = store.get(case.reference)
    assert (found.notes, found.assigned_to) == ("Mother prefers mornings", None)
    assert [(e.actor, e.change) for e in store.audit(case.reference)][1:] == [
        ("nurse.kim", "notes updated (23 characters)"),
        ("nurse.kim", "assigned to dr.lee"), ("dr.lee", "unassigned"),
    ]
    with pytest.raises(KeyError):
        store.assign("ESC-0000-000000", "dr.lee", actor="x")


def test_linked_cases_share_the_case_id(store):
    routine = create(store, conversation_id="family")
    urgent = create(store, conversation_id="family", urgency="urgent", consent=False,
                    parent_name=None, contact=None)
    other = create(store, conversation_id="another")
    assert [c.reference for c in store.conversation_cases(urgent)] == [routine.reference]
    assert other.reference not in [c.reference for c in store.conversation_cases(routine)]


def test_shell_and_test_run_cases_are_tests_left_out_of_counts(store, monkeypatch):
    monkeypatch.delenv("ESCALATION_TEST_TRAFFIC", raising=False)
    real = create(store, reason="request_human", question="real question")
    shell = create(store, channel="cmdline", reason="request_human", question="shell question")
    monkeypatch.setenv("ESCALATION_TEST_TRAFFIC", "1")
    run = create(store, channel="rest", conversation_id="t", urgency="urgent",
                 reason="request_human", question="test run question")
    assert (real.is_test, shell.is_test, run.is_test) == (False, True, True)
    assert store.reason_counts() == [("request_human", 1)]
    assert [q.question for q in store.questions()] == ["real question"]
    assert [c.reference for c in store.list(tests=False)] == [real.reference]
    assert store.close_tests(actor="nurse.kim") == 2
    assert store.get(shell.reference).status == "closed"
    assert store.get(real.reference).status == "open"
    assert store.audit(run.reference)[-1].change == \
        "status open -> closed (test cases closed in bulk)"
    assert store.close_tests(actor="nurse.kim") == 0
