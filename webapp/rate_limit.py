"""Sliding-window counters per key (client address, user name) for the web app's own limits.

In memory, per process: the web app runs as one process. nginx limits requests per address in
front of it; these hold without nginx too, and count what nginx cannot see (failed sign-ins per
account, votes per address).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Callable, Deque, Dict

from sanic import Request

logger = logging.getLogger(__name__)

#: Keys kept at most; past this, expired keys are dropped and then the oldest keys, so random
#: user names or addresses cannot grow memory without bound.
MAX_KEYS = 50_000


class WindowLimit:
    """At most `limit` events per key within any `seconds`-long window."""

    def __init__(self, limit: int, seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """A limit of `limit` events per `seconds`; `clock` is for tests."""
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._events: Dict[str, Deque[float]] = {}

    def _live(self, key: str) -> Deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        cutoff = self._clock() - self.seconds
        while events and events[0] <= cutoff:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def blocked(self, key: str) -> bool:
        """Whether `key` has used up its events in the current window."""
        return len(self._live(key)) >= self.limit

    def add(self, key: str) -> None:
        """Counts one event for `key`."""
        if key not in self._events and len(self._events) >= MAX_KEYS:
            self._shrink()
        self._events.setdefault(key, deque()).append(self._clock())

    def take(self, key: str) -> bool:
        """Counts one event unless `key` is blocked; whether it was allowed."""
        if self.blocked(key):
            return False
        self.add(key)
        return True

    def give_back(self, key: str) -> None:
        """Uncounts the latest event of `key` (one that turned out not to count)."""
        events = self._events.get(key)
        if events:
            events.pop()
            if not events:
                del self._events[key]

    def _shrink(self) -> None:
        for key in list(self._events):
            self._live(key)
        while len(self._events) >= MAX_KEYS:
            del self._events[next(iter(self._events))]


def client_address(request: Request) -> str:
    """The client's address: from X-Forwarded-For only when SANIC_PROXIES_COUNT trusts a proxy.

    Behind nginx without SANIC_PROXIES_COUNT=1 every client has nginx's address, so the
    per-address limits would be shared by everyone (docs/web-app-limits.md): said once in the
    log.
    """
    if request.remote_addr:
        return request.remote_addr
    if "x-forwarded-for" in request.headers and not getattr(request.app.ctx, "proxy_noted", False):
        request.app.ctx.proxy_noted = True
        logger.warning("requests come through a proxy (X-Forwarded-For) but SANIC_PROXIES_COUNT "
                       "is not set: per-address limits see the proxy's address for every client")
    return request.ip
