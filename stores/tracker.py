"""The conversation (tracker) store, chosen by environment, bounded in length, watched.

`endpoints.yml` names `stores.tracker.ClinicTrackerStore`. It is Rasa's SQL tracker store
with three changes:

* **Where**: PostgreSQL when `TRACKER_DB_URL` is set (required for several replicas), otherwise
  the SQLite file `TRACKER_DB` (default `var/tracker.db`).
* **Start-up**: Rasa's SQL store retries an unreachable database forever, silently. This one
  tries a bounded number of times and then stops the server with a message naming the
  variable to check (never the password).
* **Length**: Rasa reads every event of the current session on every message, sends them all to
  the action server and featurises them all, so a long conversation costs more per message the
  longer it gets. Once a session holds more than `compact_after_events` events and the
  conversation is at rest (no form running, no choice waiting for an answer), the store appends
  a compact restart of the session: `session_started`, the slots that are set, `action_listen`.
  That is what Rasa itself writes when a session expires with slots carried over; the full
  history stays in the database.
* **Health**: every failure of the database is recorded (error type and time, never the data),
  so the health endpoint can report what Rasa otherwise hides: on a failed read or write Rasa
  silently continues with an in-memory tracker, and the conversation is forgotten.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from typing import Any, Iterator, List, Optional, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import ConnectionException
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from stores import outage as store_outage
from stores.health import StoreHealth
from stores.urls import TRACKER_DB_URL_ENV, describe, open_engine, tracker_db_url

logger = logging.getLogger(__name__)

#: Start-up attempts and the pause between them (environment overrides for slow databases).
CONNECT_ATTEMPTS_ENV = "TRACKER_DB_CONNECT_ATTEMPTS"
CONNECT_DELAY_ENV = "TRACKER_DB_CONNECT_DELAY"
#: Set on trackers this store returns: how many of their events are already stored.
STORED_EVENTS = "_clinic_stored_events"


def wait_for_database(url: str, attempts: int, delay: float) -> None:
    """Connects to `url` up to `attempts` times; raises `ConnectionException` if it never can."""
    engine = open_engine(url)
    try:
        for attempt in range(1, attempts + 1):
            try:
                with engine.connect() as connection:
                    connection.execute(sa.text("SELECT 1"))
                return
            except sa.exc.OperationalError as error:
                logger.warning(
                    "tracker store %s not reachable (attempt %d of %d: %s)",
                    describe(url), attempt, attempts, type(error.orig).__name__,
                )
                if attempt < attempts:
                    time.sleep(delay)
    finally:
        engine.dispose()
    raise ConnectionException(
        f"The conversation store ({describe(url)}) could not be reached after {attempts} "
        f"attempts. Check that the database is running and that {TRACKER_DB_URL_ENV} is "
        f"right, then start again."
    )


def is_at_rest(tracker: DialogueStateTracker) -> bool:
    """No form is running and the last bot message does not wait for a choice."""
    if tracker.active_loop_name:
        return False
    last_bot = tracker.get_last_event_for(BotUttered)
    return not (last_bot and last_bot.data and last_bot.data.get("buttons"))


def compaction_events(tracker: DialogueStateTracker) -> List[Event]:
    """A compact restart of the session that keeps every slot that is set."""
    events: List[Event] = [SessionStarted()]
    for slot in tracker.slots.values():
        if slot.value != slot.initial_value:
            events.append(SlotSet(slot.name, slot.value))
    events.append(ActionExecuted(ACTION_LISTEN_NAME))
    return events


class ClinicTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store: environment-chosen, bounded start-up, bounded length."""

    engine: sa.engine.Engine  # made by Rasa's SQLTrackerStore (untyped), replaced for SQLite

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        compact_after_events: int = 120,
        **kwargs: Any,
    ) -> None:
        """Connects (bounded retries), then behaves as Rasa's SQLTrackerStore."""
        # `host` from endpoints.yml is ignored on purpose: the environment decides.
        del host
        url = tracker_db_url(os.environ)
        wait_for_database(
            url,
            attempts=int(os.environ.get(CONNECT_ATTEMPTS_ENV, "10")),
            delay=float(os.environ.get(CONNECT_DELAY_ENV, "2")),
        )
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        if url.startswith("sqlite"):
            self._tune_sqlite(url)
        self.compact_after_events = int(compact_after_events)
        self.health = StoreHealth(details={"store": describe(url)})
        logger.info("conversations are stored in the %s", describe(url))

    def _tune_sqlite(self, url: str) -> None:
        """One kept connection in WAL mode instead of a new file handle per query.

        SQLAlchemy 1.4 opens SQLite files without a pool (a new connection, and so a new file
        open, for each of the three queries of every message) and Rasa commits in SQLite's
        default rollback-journal mode (two fsyncs per message). WAL with synchronous=NORMAL
        keeps the database consistent after a crash and may lose only the last turns on a
        power cut; escalations, the records that matter, are in their own store.
        """
        self.engine.dispose()
        self.engine = open_engine(
            url, poolclass=sa.pool.SingletonThreadPool,
            connect_args={"check_same_thread": False},
        )

        @sa.event.listens_for(self.engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrieve(
        self, sender_id: Text, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        """Rasa's read, fetching only the events' JSON column.

        Rasa's query builds a full ORM object for every stored event of the session (six
        columns, identity map) and then uses only `data`; asking for that one column reads
        the same rows, in the same order, without the objects.
        """
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id,
                fetch_events_from_all_sessions=fetch_events_from_all_sessions,
            ).with_entities(self.SQLEvent.data).all()
        events = [json.loads(row.data) for row in rows]
        if not (self.domain and events):
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """Reads the current session; records the outcome for the health endpoint."""
        try:
            tracker = await super().retrieve(sender_id)
        except Exception as error:
            self.health.failed(error)
            store_outage.record(sender_id)  # the parent is told (channels/reply_guard.py)
            raise
        self.health.succeeded()
        if tracker is not None:
            setattr(tracker, STORED_EVENTS, len(tracker.events))
        return tracker

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The events not stored yet.

        Rasa counts the session's stored events with a query on every save (10 % of the
        server's CPU per message in the profile); the count is known from the retrieval.
        """
        stored = getattr(tracker, STORED_EVENTS, None)
        if stored is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def _insert_new_events(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save (same rows, same order, one transaction), as one multi-row INSERT.

        Rasa adds an ORM object per event and commits, and the ORM unit of work (flush)
        was 7 % of the Rasa server's time per message (py-spy, issue 17).
        """
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = []
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                rows.append({
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get(
                        INTENT_NAME_KEY),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                })
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Stores new events, and compacts a long session once it is at rest."""
        try:
            await self._insert_new_events(tracker)
            setattr(tracker, STORED_EVENTS, len(tracker.events))
            if len(tracker.events) > self.compact_after_events and is_at_rest(tracker):
                for event in compaction_events(tracker):
                    tracker.update(event)
                await self._insert_new_events(tracker)
                setattr(tracker, STORED_EVENTS, len(tracker.events))
        except Exception as error:
            self.health.failed(error)
            raise
        self.health.succeeded()

    def ping(self) -> None:
        """Raises if the database does not answer right now."""
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

