"""The conversation lock store, chosen by environment and watched.

Rasa handles one message per conversation at a time by taking a lock. With one server process
an in-memory lock is enough; with several replicas (or workers) the lock must be shared, in
Redis, or two replicas can answer the same conversation at once and interleave its events.
`endpoints.yml` names `clinic.lock_store.ClinicLockStore`: Redis when `REDIS_URL` is set
(`redis://[:password@]host:port/db`), otherwise in memory.

When Redis is down, taking the lock fails; the error is recorded for the health endpoint and
raised as Rasa's `LockError`, and the channels' reply guard (channels/reply_guard.py) answers
the parent with the apology and the clinic's number instead of silence. redis-py reconnects on
the next command, so nothing needs restarting when Redis is back.
"""

from __future__ import annotations

import logging
import os
from typing import Optional, Text
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from clinic.store_health import StoreHealth

logger = logging.getLogger(__name__)

REDIS_URL_ENV = "REDIS_URL"
#: Seconds before a Redis command counts as failed (Rasa's default of 10 s keeps a parent waiting).
REDIS_TIMEOUT_ENV = "REDIS_SOCKET_TIMEOUT"


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
        self.health = StoreHealth(details={"store": description})
        logger.info("conversation locks: %s", description)
        super().__init__()

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
