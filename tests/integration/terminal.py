"""A program run in a pseudo-terminal as a person runs it: typed lines, Ctrl-C, the screen text."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import subprocess
import termios
import time
from typing import Dict, Optional, Sequence

from clinic.paths import PROJECT_ROOT

_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\r")


def _controlling_terminal() -> None:
    # Runs in the child after start_new_session's setsid: the terminal becomes the session's,
    # so Ctrl-C reaches its foreground processes as from a real terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """`argv` (from the project root) on a pseudo-terminal; `screen` is what it wrote so far."""

    def __init__(self, argv: Sequence[str], env: Dict[str, str]) -> None:
        """Starts the program."""
        master, slave = pty.openpty()
        self.process = subprocess.Popen(  # noqa: S603 (the project's own commands)
            list(argv), cwd=PROJECT_ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True, preexec_fn=_controlling_terminal,  # noqa: PLW1509
        )
        os.close(slave)
        self.master = master
        self.raw = b""

    @property
    def screen(self) -> str:
        """Everything written so far, without colour codes and carriage returns."""
        return _ESCAPES.sub(b"", self.raw).decode("utf-8", "replace")

    def _read(self, timeout: float) -> Optional[bool]:
        """Reads what is there: True if something, None if nothing yet, False at the end."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return None
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every process holding the terminal has exited
            chunk = b""
        self.raw += chunk
        return bool(chunk)

    def expect(self, pattern: str, timeout: float = 60, start: int = 0) -> re.Match:
        """Waits until the screen (from character `start`) matches `pattern`."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.screen[start:])
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not shown within {timeout:.0f} s; "
                                     f"screen:\n{self.screen[start:][-3000:]}")
            if self._read(0.2) is False and self.process.poll() is not None:
                raise AssertionError(f"exited ({self.process.returncode}) before {pattern!r}; "
                                     f"screen:\n{self.screen[start:][-3000:]}")

    def read(self, seconds: float) -> None:
        """Keeps reading the screen for `seconds` (a program blocks on a full terminal)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self._read(0.1) is not False:
            pass

    def type(self, line: str) -> int:
        """Types a line and Enter; returns the screen position before it, for `expect`."""
        position = len(self.screen)
        os.write(self.master, line.encode() + b"\r")
        return position

    def interrupt(self) -> None:
        """Ctrl-C."""
        os.write(self.master, b"\x03")

    def wait(self, timeout: float = 60) -> int:
        """Reads until the program exits; its exit status."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        while self._read(0.2):  # what it wrote last (None: nothing more)
            pass
        return self.process.wait(timeout=1)

    def close(self, signal_number: Optional[int] = signal.SIGTERM) -> None:
        """Stops the program and everything it started, if still running."""
        if self.process.poll() is None and signal_number is not None:
            os.killpg(self.process.pid, signal_number)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        os.close(self.master)
