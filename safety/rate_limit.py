"""Sliding-window counters per key, for every limit the project keeps in memory.

Per process. The web app counts sign-ins per account and votes per address with it
(webapp/rate_limit.py); the chat channels count messages per conversation and per widget
connection (channels/reply_guard.py, channels/socketio.py), so a script cannot flood the
assistant (and, through emergencies, the clinic's inbox) once a socket.io connection is open,
where nginx's request limit no longer applies.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Deque, Dict

#: Keys kept at most; past this, expired keys are dropped and then the oldest keys, so random
#: user names, addresses or conversation ids cannot grow memory without bound.
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

    def forget(self, key: str) -> None:
        """Drops `key` (e.g. a closed connection)."""
        self._events.pop(key, None)
