"""Keeps `make cluster`'s processes running: restarts a crashed child, gives up on a crash loop.

A child that exits (SIGKILL, OOM killer, segfault) is started again with the same command, after
a backoff that doubles with each quick crash (0.5 s up to 30 s) and resets once it has run for a
minute; the others keep running. Only a crash loop (5 exits within 5 minutes) stops the cluster,
with the child's name, exit code and the end of its log. Before the cluster's first fault the
supervisor used to stop everything on any exit: one killed replica took the clinic down
(issue 16).

It also does what nginx OSS cannot (no active health checks): it reads each Rasa replica's
health report (channels/health.py) every second and marks a replica that cannot answer (its
process, its action server or its stores failing) `down` in nginx, with a reload, until it
answers again. It never marks both down: then both answer with the apology, which is better
than nginx's 502.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Deque, Dict, FrozenSet, List, Optional

if TYPE_CHECKING:
    from local.cluster import Cluster


#: Backoff before restarting a child, doubled per quick crash (0.5 s: Redis is back within the
#: 4 s a turn waits for it, stores/locks.py).
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 30.0
#: A child that ran this long before exiting starts again with the first backoff.
STABLE_AFTER = 60.0
#: This many exits within the window is a crash loop: the cluster stops.
CRASH_LOOP_EXITS, CRASH_LOOP_WINDOW = 5, 300.0
#: Seconds between health reports; two failed in a row take a replica out of nginx.
HEALTH_INTERVAL = 1.0


class CrashLoopError(RuntimeError):
    """A child kept crashing; the message says which, how and where its log is."""


@dataclass
class ChildRecord:
    """Exits and restarts of one child."""

    exits: Deque[float] = field(default_factory=deque)
    # Read when the record is made (not when the class is), so a test can shorten it.
    backoff: float = field(default_factory=lambda: FIRST_BACKOFF)
    restart_at: Optional[float] = None
    started_at: float = field(default_factory=time.monotonic)
    restarts: int = 0


@dataclass
class Event:
    """Something the supervisor did (tests read these; `make cluster` prints them)."""

    at: float
    child: str
    what: str


class Supervisor:
    """Watches a Cluster's processes; `run` in the foreground or `start` a thread."""

    def __init__(self, cluster: Cluster, report: Callable[[str], None] = print) -> None:
        self.cluster = cluster
        self.report = report
        self.records: Dict[str, ChildRecord] = {}
        self.events: List[Event] = []
        self.failure: Optional[CrashLoopError] = None
        self.down: FrozenSet[int] = frozenset()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._next_health = 0.0
        self._failing: Dict[int, int] = {}
        #: Replicas taken out to be stopped, with the pid they had: out until a new process.
        self._drained: Dict[int, Optional[int]] = {}

    def _event(self, child: str, what: str) -> None:
        self.events.append(Event(time.monotonic(), child, what))
        self.report(f"supervisor: {child} {what}")

    def check_once(self) -> None:
        """Notices exits, restarts children whose backoff is over; raises CrashLoopError."""
        now = time.monotonic()
        with self.cluster.lock:
            for name, process in list(self.cluster.processes.items()):
                record = self.records.setdefault(name, ChildRecord())
                if process.poll() is None or record.restart_at is not None:
                    if record.restart_at is not None and now >= record.restart_at:
                        self._restart(name, record)
                    continue
                self._exited(name, process.returncode, record, now)
        if now >= self._next_health:
            self._next_health = now + HEALTH_INTERVAL
            self.check_replicas()

    def _exited(self, name: str, code: int, record: ChildRecord, now: float) -> None:
        # Leftovers of the child's session (nginx workers keep the listening socket).
        pid = self.cluster.processes[name].pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        record.exits.append(now)
        while record.exits and record.exits[0] < now - CRASH_LOOP_WINDOW:
            record.exits.popleft()
        log = self.cluster.work_dir / "logs" / f"{name}.log"
        if len(record.exits) >= CRASH_LOOP_EXITS:
            raise CrashLoopError(f"{name} exited {len(record.exits)} times within "
                            f"{CRASH_LOOP_WINDOW:.0f} s (last exit code {code}); "
                            f"giving up, see {log}:\n{tail(log)}")
        if now - record.started_at >= STABLE_AFTER:
            record.backoff = FIRST_BACKOFF
        record.restart_at = now + record.backoff
        self._event(name, f"exited with code {code}; restarting in {record.backoff:.1f} s")
        kind, _, number = name.partition("-")
        if kind in ("rasa", "actions") and number.isdigit():
            # Its replica can only apologise (or refuse) now: out at once, not after two
            # health reports (measured: 35 turns failed in the 2-4 s that took).
            self.take_out(int(number) - 1)
        record.backoff = min(record.backoff * 2, MAX_BACKOFF)

    def _restart(self, name: str, record: ChildRecord) -> None:
        record.restart_at = None
        record.started_at = time.monotonic()
        record.restarts += 1
        self.cluster.restart(name)
        self._event(name, "restarted")

    def check_replicas(self) -> None:
        """Marks replicas whose health report is not 200 down in nginx, and back up."""
        for replica, url in enumerate(self.cluster.rasa_urls):
            failing = 0 if replica_healthy(url) else self._failing.get(replica, 0) + 1
            if replica in self._drained:
                if failing or self._pid(replica) in (None, self._drained[replica]):
                    failing = 2
                else:
                    del self._drained[replica]
            self._failing[replica] = failing
        # Two reports in a row: one slow answer under load is not an outage.
        unhealthy = frozenset(replica for replica, count in self._failing.items() if count >= 2)
        # Never both: with no upstream left nginx answers 502, the replicas at least apologise.
        down = unhealthy if len(unhealthy) < len(self.cluster.rasa_urls) else frozenset()
        if down != self.down and "nginx" in self.cluster.processes:
            self.down = down
            self.cluster.mark_down(down)
            self._event("nginx", f"replicas down: {sorted(r + 1 for r in down) or 'none'}")

    def take_out(self, replica: int) -> None:
        """Takes a replica out of nginx now; the health reports put it back when it answers."""
        self._failing[replica] = max(self._failing.get(replica, 0), 2)
        down = self.down | {replica}
        if down != self.down and len(down) < len(self.cluster.rasa_urls) and (
                "nginx" in self.cluster.processes):
            self.down = frozenset(down)
            self.cluster.mark_down(self.down)
            self._event("nginx", f"replicas down: {sorted(r + 1 for r in self.down)}")

    def drain(self, replica: int) -> None:
        """Takes a replica out of nginx before it is stopped on purpose (until healthy again)."""
        if len(self.down | {replica}) < len(self.cluster.rasa_urls):
            self.down = self.down | {replica}
            self._drained[replica] = self._pid(replica)
            self.cluster.mark_down(self.down)
            self._event("nginx", f"replicas down: {sorted(r + 1 for r in self.down)} (drain)")

    def _pid(self, replica: int) -> Optional[int]:
        process = self.cluster.processes.get(f"rasa-{replica + 1}")
        return process.pid if process is not None else None

    def run(self, interval: float = 0.5) -> None:
        """Until stop(); raises CrashLoopError."""
        while not self._stop.wait(interval):
            self.check_once()

    def start(self) -> None:
        """Runs in a background thread (tests); a crash loop is kept in `failure`."""

        def loop() -> None:
            try:
                self.run()
            except CrashLoopError as error:
                self.failure = error
                self.report(f"supervisor: {error}")

        self._thread = threading.Thread(target=loop, name="cluster-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops watching (before the cluster stops its processes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def restarted_after(self, child: str, since: float) -> Optional[float]:
        """When `child` was last restarted after `since` (monotonic), if it was."""
        times = [e.at for e in self.events if e.child == child and e.what == "restarted"
                 and e.at >= since]
        return times[-1] if times else None


def replica_healthy(url: str) -> bool:
    """Whether a replica's health report says 200 within 3 s."""
    try:
        with urllib.request.urlopen(url + "/webhooks/health/", timeout=3) as answer:  # noqa: S310
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def tail(path: os.PathLike, lines: int = 15) -> str:
    """The end of a log file (for the crash-loop message)."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 4000))
            return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
