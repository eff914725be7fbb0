"""Replayed messaging-app webhooks are processed once: updates are remembered by their ids.

A signed webhook stays valid when it is sent again (Twilio signs the URL and the form, Telegram
sends a fixed secret header, Messenger signs the body), and the apps themselves resend an update
when the answer is slow. Each channel remembers the ids of the updates it processed (Twilio
`MessageSid`, Messenger `mid`, Telegram `update_id`) for `REPLAY_WINDOW_SECONDS` (default 10
minutes) and answers a repeat with success without passing it to Rasa.

Where the ids are kept: in the Redis the conversation locks use, when `REDIS_URL` is set (then
every replica sees every id: a replay sent to another replica behind the load balancer is caught
too); otherwise in this process, at most `REPLAY_MEMORY_IDS` per channel (oldest forgotten
first), which is enough for one server. If Redis does not answer, this process's memory is used
for that update (a parent's message is never dropped because Redis is down).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from typing import Any, Callable, Optional

from rasa.core.lock_store import RedisLockStore

logger = logging.getLogger(__name__)

WINDOW_ENV = "REPLAY_WINDOW_SECONDS"
DEFAULT_WINDOW = 600.0
MEMORY_ENV = "REPLAY_MEMORY_IDS"
#: ~150 bytes each: a few MB per channel at most.
DEFAULT_MEMORY = 20000
KEY_PREFIX = "clinic:update"


def lock_store_redis(app: Any) -> Any:
    """The Redis client of the conversation lock store (stores/locks.py), or None."""
    lock_store = getattr(getattr(app.ctx, "agent", None), "lock_store", None)
    backend = getattr(lock_store, "backend", lock_store)
    return backend.red if isinstance(backend, RedisLockStore) else None


class RecentUpdates:
    """The update ids one channel has seen within the window."""

    def __init__(
        self,
        channel: str,
        window: Optional[float] = None,
        memory: Optional[int] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Remembers ids for `window` seconds, at most `memory` of them in this process."""
        self.channel = channel
        self.window = float(window if window is not None
                            else os.environ.get(WINDOW_ENV, DEFAULT_WINDOW))
        self.memory = int(memory if memory is not None
                          else os.environ.get(MEMORY_ENV, DEFAULT_MEMORY))
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # id -> expiry, oldest first

    def _first_time_here(self, update_id: str) -> bool:
        now = self._clock()
        while self._seen and next(iter(self._seen.values())) <= now:
            self._seen.popitem(last=False)
        if update_id in self._seen:
            return False
        self._seen[update_id] = now + self.window
        while len(self._seen) > self.memory:
            self._seen.popitem(last=False)
        return True

    async def first_time(self, update_id: Any, redis: Any = None) -> bool:
        """Whether `update_id` is new (then it is remembered); an update without an id is new.

        `redis`: a redis-py client shared by the replicas (lock_store_redis), or None.
        """
        if update_id is None or update_id == "":
            return True
        key = str(update_id)
        if redis is not None:
            try:
                # SET NX: exactly one replica sets it, whichever receives the update first.
                created = await asyncio.to_thread(
                    redis.set, f"{KEY_PREFIX}:{self.channel}:{key}", b"1",
                    nx=True, ex=max(1, int(self.window)),
                )
                return bool(created)
            except Exception as error:  # noqa: BLE001 (any Redis failure: fall back)
                logger.warning("%s: Redis did not answer for the replay check (%s); "
                               "checked in this process only", self.channel,
                               type(error).__name__)
        return self._first_time_here(key)

    async def is_replay(self, app: Any, update_id: Any) -> bool:
        """Whether the update was seen already (in the lock store's Redis, if any)."""
        replay = not await self.first_time(update_id, lock_store_redis(app))
        if replay:
            logger.info("%s: update seen before; not processed again", self.channel)
        return replay
