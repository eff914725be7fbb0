"""The conversation lock store, chosen by environment and watched.

Rasa handles one message per conversation at a time by taking a lock. With one server process
an in-memory lock is enough; with several replicas (or workers) the lock must be shared, in
Redis, or two replicas can answer the same conversation at once and interleave its events.
`endpoints.yml` names `stores.locks.ClinicLockStore`: Redis when `REDIS_URL` is set
(`redis://[:password@]host:port/db`), otherwise in memory.

When Redis is down, taking the lock fails; the error is recorded for the health endpoint and
raised as Rasa's `LockError`, and the channels' reply guard (channels/reply_guard.py) answers
the parent with the apology and the clinic's number instead of silence. redis-py reconnects on
the next command, so nothing needs restarting when Redis is back.

Tickets are leases: issued for `TICKET_LOCK_LEASE` seconds (5) and renewed by their holder every
third of that while its turn waits or runs, up to `TICKET_LOCK_LIFETIME` seconds (40) in all.
Rasa's fixed 60 s ticket outlived a replica killed mid-turn: the retried turn waited 59-60 s on
the other replica and nginx counted that replica as failed (issue 16). Now a dead holder's
ticket lapses within the lease, and the 40 s cap is longer than the slowest honest turn
(action timeout 10 s plus the model and the stores; the slowest turn in the
50-conversation soaks was about 10 s)
and shorter than nginx's `proxy_read_timeout` (50 s, deploy/nginx/clinic.conf.template), so a
hung holder cannot make nginx time out a healthy replica. Every change to a Redis lock is one
WATCH/MULTI transaction: replicas that read-modify-write the same conversation's lock (a turn
retried by nginx, renewals) cannot overwrite each other's tickets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable, Dict, Optional, Text, TypeVar
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from stores.health import StoreHealth

logger = logging.getLogger(__name__)

REDIS_URL_ENV = "REDIS_URL"
#: Seconds before a Redis command counts as failed (Rasa's default of 10 s keeps a parent waiting).
REDIS_TIMEOUT_ENV = "REDIS_SOCKET_TIMEOUT"
#: Seconds a ticket lives unless its holder renews it (how long a dead holder blocks a turn).
LEASE_ENV = "TICKET_LOCK_LEASE"
DEFAULT_LEASE = 5.0
#: Seconds a ticket may be renewed for in all, waiting included (Rasa's own variable name).
LIFETIME_ENV = "TICKET_LOCK_LIFETIME"
DEFAULT_LIFETIME = 40.0
#: Seconds a turn waits for an unreachable Redis before it fails (a restart takes about 2 s).
RETRY_ENV = "REDIS_RETRY_SECONDS"
DEFAULT_RETRY = 4.0
#: Seconds between a waiting turn's looks at the lock (Rasa polls every 1 s).
POLL_SECONDS = 0.25

T = TypeVar("T")


def redis_lock_store(url: str, socket_timeout: float) -> RedisLockStore:
    """Rasa's Redis lock store for a `redis://` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"{REDIS_URL_ENV} must look like redis://host:port/db")
    database = parts.path.strip("/") or "0"
    return RedisLockStore(
        host=parts.hostname,
        port=parts.port or 6379,
        db=int(database),
        username=parts.username or None,
        password=parts.password or None,
        use_ssl=parts.scheme == "rediss",
        socket_timeout=socket_timeout,
    )


def describe(url: str) -> str:
    """Host and port only: the URL may carry a password."""
    parts = urlsplit(url)
    return f"Redis at {parts.hostname}:{parts.port or 6379}"


class ClinicLockStore(LockStore):
    """Redis lock store when `REDIS_URL` is set, otherwise in memory; records failures."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        """Chooses the backing store from the environment (endpoint_config is not used)."""
        del endpoint_config
        url = os.environ.get(REDIS_URL_ENV, "").strip()
        self.backend: LockStore
        if url:
            self.backend = redis_lock_store(
                url, float(os.environ.get(REDIS_TIMEOUT_ENV, "2"))
            )
            description = describe(url)
        else:
            self.backend = InMemoryLockStore()
            description = "in memory (one server process only)"
        self.lease = float(os.environ.get(LEASE_ENV, DEFAULT_LEASE))
        self.lifetime = float(os.environ.get(LIFETIME_ENV, DEFAULT_LIFETIME))
        self.retry_seconds = float(os.environ.get(RETRY_ENV, DEFAULT_RETRY))
        if not 0 < self.lease <= self.lifetime:
            raise ValueError(f"{LEASE_ENV} must be positive and at most {LIFETIME_ENV}")
        self.health = StoreHealth(details={"store": description})
        logger.info("conversation locks: %s", description)
        super().__init__()

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: Optional[float] = None,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncIterator[TicketLock]:
        """Rasa's ticket lock, with a lease the holder renews while its turn is alive."""
        lifetime = self.lifetime if lock_lifetime is None else min(lock_lifetime, self.lifetime)
        deadline = time.time() + lifetime
        held: Dict[str, Optional[int]] = {"ticket": None}  # Rasa numbers from 0
        renewal = asyncio.create_task(self._keep_alive(conversation_id, held, deadline))
        try:
            yield await self._take(conversation_id, min(self.lease, lifetime),
                                   wait_time_in_seconds, held)
        finally:
            renewal.cancel()
            if held["ticket"] is not None:
                self.cleanup(conversation_id, held["ticket"])

    async def _take(self, conversation_id: Text, lease: float, wait: float,
                    held: Dict[str, Optional[int]]) -> TicketLock:
        """Issues a ticket and waits for its turn; while Redis is unreachable, tries again.

        A killed Redis is back within about 2 s (supervisor backoff and start-up), empty: turns
        that arrive meanwhile, or whose ticket it lost, take a new ticket for up to
        REDIS_RETRY_SECONDS instead of all getting the apology (31 of 59 turns failed during a
        Redis kill before this). After that the store counts as down: LockError.
        """
        deadline = time.monotonic() + self.retry_seconds
        while True:
            try:
                if held["ticket"] is not None:
                    with contextlib.suppress(LockError):
                        self.finish_serving(conversation_id, held["ticket"])
                    held["ticket"] = None
                held["ticket"] = self.issue_ticket(conversation_id, lease)
                return await self._acquire_lock(conversation_id, held["ticket"], wait)
            except LockError:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.25)

    async def _keep_alive(self, conversation_id: Text, held: Dict[str, Optional[int]],
                          deadline: float) -> None:
        """Renews the held ticket every third of the lease until the deadline or cancellation."""
        while time.time() < deadline:
            await asyncio.sleep(self.lease / 3)
            if held["ticket"] is None:
                continue
            with contextlib.suppress(LockError):  # down: the turn fails or takes a new ticket
                self.renew(conversation_id, held["ticket"],
                           min(time.time() + self.lease, deadline))

    def renew(self, conversation_id: Text, ticket: int, expires: float) -> bool:
        """Moves a live ticket's expiry to `expires`; False if the ticket is gone."""

        def change(lock: Optional[TicketLock]) -> bool:
            for held in lock.tickets if lock else ():
                if held.number == ticket and not held.has_expired():
                    held.expires = max(held.expires, expires)
                    return True
            return False

        return self._update(conversation_id, change)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = DEFAULT_LEASE) -> int:
        """A new ticket for the conversation (one atomic change of its lock)."""

        def issue(lock: Optional[TicketLock]) -> int:
            if lock is None:  # not reached: create=True makes a missing lock
                raise LockError(f"no lock for conversation {conversation_id}")
            return lock.issue_ticket(lock_lifetime)

        return self._update(conversation_id, issue, create=True)

    def update_lock(self, conversation_id: Text) -> None:
        """Drops expired tickets (a holder that died) from the conversation's lock."""
        self._update(conversation_id, lambda lock: lock and lock.remove_expired_tickets())

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        """Removes a served ticket from the conversation's lock."""
        self._update(conversation_id, lambda lock: lock and lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Removes a served ticket; the lock goes with its last ticket (one atomic change)."""
        self.finish_serving(conversation_id, ticket_number)

    def _update(self, conversation_id: Text, change: Callable[[Optional[TicketLock]], T],
                create: bool = False) -> T:
        """Applies `change` to the stored lock and saves it, atomically on Redis.

        A lock left without tickets is deleted in the same step (Rasa checks and deletes in two,
        and could delete a ticket another replica issued in between).
        """
        backend = self.backend
        if not isinstance(backend, RedisLockStore):
            return self._guarded(self._update_in_memory, conversation_id, change, create)
        key = backend.key_prefix + conversation_id
        result: list = []

        def transaction(pipe) -> None:  # type: ignore[no-untyped-def]
            result.clear()
            stored = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(stored)) if stored else None
            if lock is None and create:
                lock = self.create_lock(conversation_id)
            result.append(change(lock))
            pipe.multi()
            if lock is not None and lock.tickets:
                pipe.set(key, lock.dumps())
            elif stored:
                pipe.delete(key)

        self._guarded(backend.red.transaction, transaction, key)
        return result[0]

    def _update_in_memory(self, conversation_id: Text, change: Callable[[Optional[TicketLock]], T],
                          create: bool) -> T:
        lock = self.backend.get_lock(conversation_id)
        if lock is None and create:
            lock = self.create_lock(conversation_id)
        result = change(lock)
        if lock is not None and lock.tickets:
            self.backend.save_lock(lock)
        else:
            self.backend.delete_lock(conversation_id)
        return result

    def _guarded(self, operation, *args):  # type: ignore[no-untyped-def]
        try:
            result = operation(*args)
        except Exception as error:
            self.health.failed(error)
            raise LockError(
                f"conversation lock store unavailable ({type(error).__name__})"
            ) from error
        self.health.succeeded()
        return result

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        """The lock of a conversation, if any."""
        return self._guarded(self.backend.get_lock, conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        """Deletes the lock of a conversation."""
        self._guarded(self.backend.delete_lock, conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        """Stores a lock."""
        self._guarded(self.backend.save_lock, lock)

    def ping(self) -> None:
        """Raises if the backing store does not answer right now."""
        if isinstance(self.backend, RedisLockStore):
            self.backend.red.ping()
