import datetime as dt

import pytest

from escalation.outbox import EscalationOutbox
from escalation.store import EscalationStore

CASE = {
    "urgency": "routine", "reason": "request", "channel": "rest", "conversation_id": "c1",
    "transcript": [{"speaker": "parent", "text": "can I talk to someone?"}],
    "parent_name": "Alex Morgan", "contact": "alex@example.org", "child_age": "7",
    "question": "about the next appointment", "consent": True,
}


def test_waiting_cases_survive_a_restart_and_move_with_reference_and_time(tmp_path):
    created = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.timezone.utc)
    queued = EscalationOutbox(tmp_path / "outbox.db").put(CASE, now=created)
    assert queued.reference.startswith("ESC-2026-Q")

    reopened = EscalationOutbox(tmp_path / "outbox.db")
    assert reopened.waiting() == 1
    store = EscalationStore(f"sqlite:///{tmp_path / 'escalations.db'}")
    assert reopened.drain(store) == 1
    assert reopened.waiting() == 0
    stored = store.get(queued.reference)
    assert stored.contact == "alex@example.org" and stored.consent is True
    assert stored.created_at.replace(tzinfo=dt.timezone.utc) == created
    assert stored.notification_state == "pending"


def test_a_case_already_in_the_store_is_not_stored_twice(tmp_path):
    outbox = EscalationOutbox(tmp_path / "outbox.db")
    store = EscalationStore(f"sqlite:///{tmp_path / 'escalations.db'}")
    queued = outbox.put(CASE)
    store.create(**CASE, reference=queued.reference)  # an earlier drain died before deleting
    assert outbox.drain(store) == 1
    assert [case.reference for case in store.list()] == [queued.reference]


def test_drain_stops_while_the_store_is_down(tmp_path):
    outbox = EscalationOutbox(tmp_path / "outbox.db")
    outbox.put(CASE)

    class DownStore:
        def create(self, **_):
            raise ConnectionError("still down")

    with pytest.raises(ConnectionError):
        outbox.drain(DownStore())
    assert outbox.waiting() == 1


def test_emergencies_that_waited_in_the_outbox_reach_the_inbox_once(tmp_path):
    outbox = EscalationOutbox(tmp_path / "outbox.db")
    urgent = {**CASE, "urgency": "urgent", "reason": "emergency: breathing", "consent": False,
              "parent_name": None, "contact": None}
    for number in range(3):
        outbox.put({**urgent, "transcript": [{"speaker": "user", "text": f"help {number}"}]})
    store = EscalationStore(f"sqlite:///{tmp_path / 'escalations.db'}")
    assert outbox.drain(store) == 3
    [case] = store.list()
    assert [line["text"] for line in case.transcript] == ["help 0", "help 1", "help 2"]
