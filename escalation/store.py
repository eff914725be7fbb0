"""The escalation store: every case handed to a clinician, kept until staff close it.

SQLAlchemy Core (Rasa already ships SQLAlchemy 1.4). A SQLite file by default; PostgreSQL (or
any SQLAlchemy URL) when ESCALATION_DB_URL is set. This is the only place personal details a
parent gives (name, phone or e-mail, child's age) are stored: never in logs.

One urgent case per conversation: an emergency in a conversation that already has an open
urgent case younger than the window (`ESCALATION_URGENT_WINDOW_MINUTES`, 60) is appended to that
case (its transcript, an audit note) instead of creating and notifying a new one, so a flood of
emergency messages reaches the clinic once. A unique `merge_key` on the open case makes this
hold across processes (action servers, Rasa replicas, the outbox) without a lock.

The conversation id (for the widget, the session id that is the conversation's credential)
never leaves the store: the staff API and the webhook get `case_id`, a random id shared by the
cases of one conversation.

Cases from the staff shell (channel `cmdline`) and from test runs (`ESCALATION_TEST_TRAFFIC=1`
in the creating process) are flagged `is_test`: the inbox shows them apart, the reports leave
them out, and staff can close them in bulk. Staff notes and the assignee are part of the case;
every change of a case is audited (`_record_change`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic.paths import PROJECT_ROOT
from stores.urls import open_database, sqlite_url

logger = logging.getLogger(__name__)

DB_URL_ENV = "ESCALATION_DB_URL"
DEFAULT_DB_FILE = PROJECT_ROOT / "var" / "escalations.db"

STATUSES = ("open", "contacted", "closed")
URGENCIES = ("urgent", "routine")
#: Notification states: pending (not yet tried or retry due), sent, failed (retrying).
NOTIFICATION_STATES = ("pending", "sent", "failed")
#: The process that creates a case notifies first; the retry loop takes a new case only after
#: this grace period, so the two do not both send it.
RETRY_LOOP_GRACE = dt.timedelta(seconds=60)
URGENT_WINDOW_ENV = "ESCALATION_URGENT_WINDOW_MINUTES"
#: Later emergencies of a conversation join its open urgent case for this long after it opened.
DEFAULT_URGENT_WINDOW_MINUTES = 60
#: Channels whose cases are tests, never a parent: the staff shell.
TEST_CHANNELS = frozenset({"cmdline"})
#: Set to 1 in a process (test runs) to flag every case it creates as a test.
TEST_TRAFFIC_ENV = "ESCALATION_TEST_TRAFFIC"
#: The longest staff note kept (the notes field's maxlength).
NOTES_MAX = 4000

metadata = sa.MetaData()

escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(32), unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("urgency", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("parent_name", sa.String(200)),
    sa.Column("contact", sa.String(200)),
    sa.Column("child_age", sa.String(50)),
    sa.Column("question", sa.Text),
    sa.Column("consent", sa.Boolean, nullable=False, default=False),
    sa.Column("transcript", sa.Text, nullable=False, default="[]"),
    sa.Column("status", sa.String(16), nullable=False, default="open"),
    sa.Column("notification_state", sa.String(16), nullable=False, default="pending"),
    sa.Column("notification_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("notification_error", sa.String(500)),
    sa.Column("next_notification_at", sa.DateTime(timezone=True)),
    # Random, shared by the cases of one conversation: what staff tools see instead of the
    # conversation id.
    sa.Column("case_id", sa.String(32)),
    # "<channel>|<conversation id>" while the case is an open urgent case later emergencies of
    # the conversation are appended to; unique, so two processes cannot both open one.
    sa.Column("merge_key", sa.String(300), unique=True),
    sa.Column("notes", sa.Text),
    sa.Column("assigned_to", sa.String(100)),
    sa.Column("is_test", sa.Boolean, nullable=False, default=False),
)

#: Columns added after the first release, with their DDL type (added to older databases).
_LATER_COLUMNS = {"case_id": "VARCHAR(32)", "merge_key": "VARCHAR(300)", "notes": "TEXT",
                  "assigned_to": "VARCHAR(100)",
                  "is_test": "BOOLEAN NOT NULL DEFAULT FALSE"}

audit_log = sa.Table(
    "escalation_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("escalation_id", sa.Integer, sa.ForeignKey("escalations.id"), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("change", sa.String(200), nullable=False),
)


@dataclass(frozen=True)
class Escalation:
    """One stored case."""

    id: int
    reference: str
    created_at: dt.datetime
    channel: str
    conversation_id: str
    urgency: str
    reason: str
    parent_name: Optional[str]
    contact: Optional[str]
    child_age: Optional[str]
    question: Optional[str]
    consent: bool
    transcript: List[Dict[str, str]]
    status: str
    notification_state: str
    notification_attempts: int
    notification_error: Optional[str]
    next_notification_at: Optional[dt.datetime]
    case_id: str = ""
    notes: str = ""
    assigned_to: Optional[str] = None
    is_test: bool = False

    def payload(self) -> Dict[str, Any]:
        """JSON-ready form (for the staff API and the notification webhook).

        Without the conversation id: for the web widget it is the session id, which lets
        whoever holds it continue the conversation. `case_id` links a conversation's cases.
        """
        data = {name: getattr(self, name) for name in self.__dataclass_fields__
                if name != "conversation_id"}
        for key in ("created_at", "next_notification_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data


@dataclass(frozen=True)
class AuditEntry:
    """Who changed what, when."""

    at: dt.datetime
    actor: str
    change: str


@dataclass(frozen=True)
class EscalatedQuestion:
    """A case's question with what it is about, and nothing that identifies the family."""

    reference: str
    created_at: dt.datetime
    urgency: str
    reason: str
    question: str


def database_url(environ: Optional[Dict[str, str]] = None) -> str:
    """ESCALATION_DB_URL, or the SQLite file under var/."""
    env = os.environ if environ is None else environ
    return env.get(DB_URL_ENV) or sqlite_url(DEFAULT_DB_FILE)


def urgent_window(environ: Optional[Dict[str, str]] = None) -> dt.timedelta:
    """How long an open urgent case takes later emergencies of its conversation."""
    env = os.environ if environ is None else environ
    minutes = float(env.get(URGENT_WINDOW_ENV) or DEFAULT_URGENT_WINDOW_MINUTES)
    return dt.timedelta(minutes=minutes)


def merge_transcripts(
    old: Sequence[Dict[str, str]], new: Sequence[Dict[str, str]]
) -> List[Dict[str, str]]:
    """`old` followed by what `new` adds: each of the parent's messages once, in order.

    Both are windows of one conversation (its last lines at two moments, seen by the action
    server or by the reply guard, whose bot lines may differ), so they are aligned on the
    parent's messages: if `old`'s last messages are found in `new`, what follows them in `new`
    is added (minus the bot lines `old` already has after them); if `new`'s last message is
    already in `old`, `new` is an older view and adds nothing.
    """
    old, new = list(old), list(new)
    old_said = [index for index, line in enumerate(old) if line.get("speaker") == "user"]
    new_said = [index for index, line in enumerate(new) if line.get("speaker") == "user"]
    old_texts = [old[index]["text"] for index in old_said]
    new_texts = [new[index]["text"] for index in new_said]
    for size in range(min(len(old_texts), len(new_texts)), 0, -1):
        tail = old_texts[-size:]
        for end in range(len(new_texts), size - 1, -1):
            if new_texts[end - size:end] == tail:
                added = new[new_said[end - 1] + 1:]
                already = old[old_said[-1] + 1:]
                if added[:len(already)] == already:
                    added = added[len(already):]
                return old + added
    if new_texts and new_texts[-1] in old_texts:
        return old
    return old + new


def _add_later_columns(engine: Engine) -> None:
    """Adds columns introduced after a database was created (idempotent, race-tolerant)."""
    present = {column["name"] for column in sa.inspect(engine).get_columns("escalations")}
    for name, ddl in _LATER_COLUMNS.items():
        if name in present:
            continue
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(f"ALTER TABLE escalations ADD COLUMN {name} {ddl}"))
        except sa.exc.DBAPIError:  # another process added it first
            logger.info("escalations.%s already added", name)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE UNIQUE INDEX IF NOT EXISTS "
                                   "ix_escalations_merge_key ON escalations (merge_key)"))


def is_test_traffic(channel: str, environ: Optional[Dict[str, str]] = None) -> bool:
    """Whether a case on `channel`, created by this process, is a test (shell or test run)."""
    env = os.environ if environ is None else environ
    return channel in TEST_CHANNELS or env.get(TEST_TRAFFIC_ENV, "") in ("1", "true")


def _utc(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    # SQLite gives naive datetimes back; everything stored here is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _real_cases() -> Any:
    """The condition that leaves test cases out (of counts and reports)."""
    return sa.or_(escalations.c.is_test.is_(False), escalations.c.is_test.is_(None))


def _record_change(
    connection: Any, escalation_id: int, at: dt.datetime, actor: str, change: str
) -> None:
    """Adds an audit entry (inside the caller's transaction)."""
    connection.execute(
        audit_log.insert().values(escalation_id=escalation_id, at=at, actor=actor, change=change)
    )


class EscalationStore:
    """Creates, reads and updates escalations."""

    def __init__(self, url: Optional[str] = None) -> None:
        """Connects (lazily) to `url` and creates the tables if needed."""
        self.url = url or database_url()
        self.engine: Engine = open_database(self.url, metadata)
        _add_later_columns(self.engine)

    def dispose(self) -> None:
        """Closes the connection pool."""
        self.engine.dispose()

    def create(self, **fields: Any) -> Escalation:
        """Stores a new case, or appends an emergency to its conversation's open urgent case.

        See `create_or_append` for the fields.
        """
        return self.create_or_append(**fields)[0]

    def create_or_append(
        self,
        *,
        channel: str,
        conversation_id: str,
        urgency: str,
        reason: str,
        transcript: Sequence[Dict[str, str]],
        parent_name: Optional[str] = None,
        contact: Optional[str] = None,
        child_age: Optional[str] = None,
        question: Optional[str] = None,
        consent: bool = False,
        now: Optional[dt.datetime] = None,
        reference: Optional[str] = None,
    ) -> Tuple[Escalation, bool]:
        """The stored case and whether it is new (False: appended, do not notify again).

        A new case gets its reference (ESC-<year>-<number>). A case that waited in the outbox
        (escalation/outbox.py) keeps the reference the parent was given and its original
        time; storing it twice fails on the unique reference. An urgent case joins the
        conversation's open urgent case of the last `urgent_window()` if there is one.
        """
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}")
        now = now or dt.datetime.now(dt.timezone.utc)
        merge_key = f"{channel}|{conversation_id}"[:300] if urgency == "urgent" else None
        values = {
            "created_at": now, "channel": channel, "conversation_id": conversation_id,
            "urgency": urgency, "reason": reason, "parent_name": parent_name,
            "contact": contact, "child_age": child_age, "question": question,
            "consent": consent, "transcript": json.dumps(list(transcript)),
            "status": "open", "notification_state": "pending", "notification_attempts": 0,
            "next_notification_at": now + RETRY_LOOP_GRACE, "merge_key": merge_key,
            "is_test": is_test_traffic(channel),
        }
        # Two tries: a concurrent writer may open the urgent case between the look-up and the
        # insert (the unique merge key refuses the second); the retry then appends to it.
        for _ in range(2):
            if merge_key is not None:
                appended = self._append_to_open_case(merge_key, transcript, now)
                if appended is not None:
                    return appended, False
            try:
                return self._insert(values, reference), True
            except sa.exc.IntegrityError:
                if merge_key is None or reference is not None and self.get(reference):
                    raise
        raise RuntimeError("could not store the urgent case")  # pragma: no cover

    def _insert(self, values: Dict[str, Any], reference: Optional[str]) -> Escalation:
        now = values["created_at"]
        with self.engine.begin() as connection:
            earlier = connection.execute(
                sa.select(escalations.c.case_id)
                .where(escalations.c.channel == values["channel"],
                       escalations.c.conversation_id == values["conversation_id"],
                       escalations.c.case_id.is_not(None))
                .order_by(escalations.c.id.desc()).limit(1)
            ).scalar()
            case_id = earlier or secrets.token_hex(8)
            result = connection.execute(escalations.insert().values(**values, case_id=case_id))
            new_id = int(result.inserted_primary_key[0])
            reference = reference or f"ESC-{now.year}-{new_id:06d}"
            connection.execute(
                escalations.update().where(escalations.c.id == new_id).values(reference=reference)
            )
            _record_change(connection, new_id, now, "assistant",
                           f"created ({values['urgency']})")
        found = self.get(reference)
        assert found is not None
        return found

    def _append_to_open_case(
        self, merge_key: str, transcript: Sequence[Dict[str, str]], now: dt.datetime
    ) -> Optional[Escalation]:
        """Appends to the open urgent case of `merge_key` if it is recent; else releases it."""
        with self.engine.begin() as connection:
            row = connection.execute(
                sa.select(escalations.c.id, escalations.c.reference, escalations.c.created_at,
                          escalations.c.status, escalations.c.transcript)
                .where(escalations.c.merge_key == merge_key)
            ).first()
            if row is None:
                return None
            if row.status != "open" or now - _utc(row.created_at) > urgent_window():  # type: ignore[operator]
                # Too old (or already handled): later emergencies open a new case.
                connection.execute(escalations.update().where(escalations.c.id == row.id)
                                   .values(merge_key=None))
                return None
            merged = merge_transcripts(json.loads(row.transcript or "[]"), transcript)
            connection.execute(escalations.update().where(escalations.c.id == row.id)
                               .values(transcript=json.dumps(merged)))
            _record_change(connection, row.id, now, "assistant", "emergency message appended")
            reference = row.reference
        return self.get(reference)

    def get(self, reference: str) -> Optional[Escalation]:
        """The case with this reference, if any."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(escalations).where(escalations.c.reference == reference)
            ).mappings().first()
        return self._from_row(row) if row else None

    def list(
        self,
        statuses: Sequence[str] = ("open", "contacted"),
        urgency: Optional[str] = None,
        query: str = "",
        tests: Optional[bool] = None,
    ) -> List[Escalation]:
        """Cases with the given statuses, urgent first, then oldest first.

        `urgency` keeps one urgency; `query` matches part of the reference, parent's name or
        contact (any case); `tests` True/False keeps only test / only real cases.
        """
        urgent_first = sa.case((escalations.c.urgency == "urgent", 0), else_=1)
        select = sa.select(escalations).where(escalations.c.status.in_(list(statuses)))
        if urgency is not None:
            select = select.where(escalations.c.urgency == urgency)
        if tests is not None:
            select = select.where(escalations.c.is_test.is_(True) if tests else _real_cases())
        words = query.strip().lower()
        if words:
            escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            select = select.where(sa.or_(*(
                sa.func.lower(sa.func.coalesce(column, "")).like(pattern, escape="\\")
                for column in (escalations.c.reference, escalations.c.parent_name,
                               escalations.c.contact))))
        with self.engine.connect() as connection:
            rows = connection.execute(
                select.order_by(urgent_first, escalations.c.created_at, escalations.c.id)
            ).mappings().all()
        return [self._from_row(row) for row in rows]

    def conversation_cases(self, case: Escalation) -> List[Escalation]:
        """The other cases of `case`'s conversation (same case id), oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(escalations)
                .where(escalations.c.case_id == case.case_id, escalations.c.id != case.id)
                .order_by(escalations.c.created_at, escalations.c.id)
            ).mappings().all()
        return [self._from_row(row) for row in rows]

    def _change(
        self, reference: str, changes: Dict[str, Any], actor: str, change: str,
        now: Optional[dt.datetime] = None,
    ) -> Escalation:
        """Updates one case and records who changed what, when (one transaction)."""
        current = self.get(reference)
        if current is None:
            raise KeyError(reference)
        now = now or dt.datetime.now(dt.timezone.utc)
        with self.engine.begin() as connection:
            connection.execute(
                escalations.update().where(escalations.c.id == current.id).values(**changes)
            )
            _record_change(connection, current.id, now, actor[:100], change[:200])
        updated = self.get(reference)
        assert updated is not None
        return updated

    def set_notes(self, reference: str, notes: str, actor: str) -> Escalation:
        """Replaces the staff notes of a case (the audit says that they changed, not what)."""
        text = notes.strip()[:NOTES_MAX]
        return self._change(reference, {"notes": text or None}, actor,
                            f"notes {'updated' if text else 'cleared'} ({len(text)} characters)")

    def assign(self, reference: str, assignee: Optional[str], actor: str) -> Escalation:
        """Assigns a case to a staff member (None: nobody)."""
        name = (assignee or "").strip()[:100] or None
        return self._change(reference, {"assigned_to": name}, actor,
                            f"assigned to {name}" if name else "unassigned")

    def close_tests(self, actor: str, now: Optional[dt.datetime] = None) -> int:
        """Closes every open or contacted test case (each change audited); returns how many."""
        cases = self.list(("open", "contacted"), tests=True)
        for case in cases:
            self._change(case.reference, {"status": "closed", "merge_key": None}, actor,
                         f"status {case.status} -> closed (test cases closed in bulk)", now)
        return len(cases)

    def set_status(
        self, reference: str, status: str, actor: str, now: Optional[dt.datetime] = None
    ) -> Escalation:
        """Changes a case's status and records who did it, when."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        current = self.get(reference)
        if current is None:
            raise KeyError(reference)
        # A case staff have picked up takes no more emergencies: a new one is a new case.
        changes: Dict[str, Any] = {"status": status}
        if status != "open":
            changes["merge_key"] = None
        return self._change(reference, changes, actor, f"status {current.status} -> {status}",
                            now)

    def audit(self, reference: str) -> List[AuditEntry]:
        """The change history of a case, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(audit_log.c.at, audit_log.c.actor, audit_log.c.change)
                .join(escalations, escalations.c.id == audit_log.c.escalation_id)
                .where(escalations.c.reference == reference)
                .order_by(audit_log.c.at, audit_log.c.id)
            ).all()
        return [AuditEntry(at=_utc(r.at), actor=r.actor, change=r.change) for r in rows]  # type: ignore[arg-type]

    def questions(self) -> List[EscalatedQuestion]:
        """Every case's question (all statuses), newest first, without the parent's details."""
        # Only these columns are read: reports about questions never touch names or contacts.
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(escalations.c.reference, escalations.c.created_at,
                          escalations.c.urgency, escalations.c.reason, escalations.c.question)
                .where(escalations.c.question.is_not(None), escalations.c.question != "",
                       _real_cases())
                .order_by(escalations.c.created_at.desc(), escalations.c.id.desc())
            ).all()
        return [EscalatedQuestion(reference=r.reference, created_at=_utc(r.created_at),  # type: ignore[arg-type]
                                  urgency=r.urgency, reason=r.reason, question=r.question)
                for r in rows]

    def reason_counts(self) -> List[Tuple[str, int]]:
        """How many cases (all statuses) each escalation reason has, most first."""
        count = sa.func.count(escalations.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(escalations.c.reason, count.label("n"))
                .where(_real_cases())
                .group_by(escalations.c.reason)
                .order_by(sa.desc("n"), escalations.c.reason)
            ).all()
        return [(row.reason, int(row.n)) for row in rows]

    def due_notifications(self, now: Optional[dt.datetime] = None) -> List[Escalation]:
        """Cases whose notification is not yet delivered and is due (again)."""
        now = now or dt.datetime.now(dt.timezone.utc)
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(escalations)
                .where(escalations.c.notification_state != "sent")
                .where(escalations.c.next_notification_at <= now)
                .order_by(escalations.c.id)
            ).mappings().all()
        return [self._from_row(row) for row in rows]

    def record_notification(
        self,
        reference: str,
        delivered: bool,
        error: Optional[str] = None,
        retry_at: Optional[dt.datetime] = None,
    ) -> None:
        """Records a delivery attempt: sent, or failed with the time of the next try."""
        with self.engine.begin() as connection:
            connection.execute(
                escalations.update()
                .where(escalations.c.reference == reference)
                .values(
                    notification_state="sent" if delivered else "failed",
                    notification_attempts=escalations.c.notification_attempts + 1,
                    notification_error=None if delivered else (error or "unknown error")[:500],
                    next_notification_at=None if delivered else retry_at,
                )
            )

    def delete_closed_before(self, cutoff: dt.datetime) -> int:
        """Deletes closed cases untouched since `cutoff` (retention); returns how many.

        A case counts from its last change (usually the closing), not its creation: a case
        opened long ago and closed yesterday is kept for the full period. Its audit entries go
        with it; the notification state is part of the case row.
        """
        changed_since = sa.select(audit_log.c.escalation_id).where(audit_log.c.at >= cutoff)
        with self.engine.begin() as connection:
            ids = [row.id for row in connection.execute(
                sa.select(escalations.c.id).where(
                    escalations.c.status == "closed",
                    escalations.c.created_at < cutoff,
                    escalations.c.id.not_in(changed_since),
                )
            )]
            if not ids:
                return 0
            connection.execute(audit_log.delete().where(audit_log.c.escalation_id.in_(ids)))
            connection.execute(escalations.delete().where(escalations.c.id.in_(ids)))
        return len(ids)

    @staticmethod
    def _from_row(row: Any) -> Escalation:
        return Escalation(
            id=row["id"],
            reference=row["reference"],
            created_at=_utc(row["created_at"]),  # type: ignore[arg-type]
            channel=row["channel"],
            conversation_id=row["conversation_id"],
            urgency=row["urgency"],
            reason=row["reason"],
            parent_name=row["parent_name"],
            contact=row["contact"],
            child_age=row["child_age"],
            question=row["question"],
            consent=bool(row["consent"]),
            transcript=json.loads(row["transcript"] or "[]"),
            status=row["status"],
            notification_state=row["notification_state"],
            notification_attempts=row["notification_attempts"],
            notification_error=row["notification_error"],
            next_notification_at=_utc(row["next_notification_at"]),
            # Cases stored before case ids existed: their reference links nothing else.
            case_id=row["case_id"] or row["reference"],
            notes=row["notes"] or "",
            assigned_to=row["assigned_to"],
            is_test=bool(row["is_test"]),
        )
