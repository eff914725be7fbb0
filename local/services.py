"""Starts the project's services on loopback for evaluation, benchmarks and integration tests.

Runs scripts/run_services.sh (the same script `make run` uses) on free ports with its own
tracker database, waits until the Rasa server answers, and stops everything afterwards.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Dict, Iterator, List, Optional, Tuple

from clinic.paths import PROJECT_ROOT
from stores.urls import sqlite_url

#: Variables that point services at shared infrastructure; set them through `extra_env` only.
PRODUCTION_ENV = frozenset({
    "ACTION_ENDPOINT_URL", "TRACKER_DB_URL", "REDIS_URL", "ESCALATION_DB_URL",
    "ESCALATION_WEBHOOK_URL", "ESCALATION_WEBHOOK_SECRET", "RASA_API_TOKEN", "RASA_CORS_ORIGINS",
    # `signed` in production; test services serve every text unless a test asks otherwise.
    "CONTENT_POLICY",
})


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServices:
    """Handle on started services."""

    rasa_url: str
    action_url: str
    process: Optional[subprocess.Popen]
    env: Dict[str, str]

    def send(self, sender: str, message: str, timeout: float = 30) -> List[Dict[str, Any]]:
        """Sends one message over the REST channel and returns the bot's replies."""
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return list(json.load(response))


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"services exited with code {process.returncode} before {url} answered"
            )
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def _copy_terminal(master: int, log: BinaryIO) -> None:
    """Copies what the services write to their terminal into the log until they close it."""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every process holding the terminal has exited
            chunk = b""
        if not chunk:
            break
        log.write(chunk)
    os.close(master)


def services_env(
    model: Path, work_dir: Path, extra_env: Optional[Dict[str, str]] = None,
    root: Path = PROJECT_ROOT,
) -> Dict[str, str]:
    """The environment of scripts/run_services.sh: free loopback ports, files in `work_dir`.

    Data, secrets, accounts and logs of the started services stay in `work_dir`.
    """
    rasa_port, action_port, webapp_port = free_port(), free_port(), free_port()
    env = {
        # Production stores and endpoints of the calling shell must not leak into test servers.
        **{k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV},
        "RASA_HOST": "127.0.0.1",
        "RASA_PORT": str(rasa_port),
        "ACTION_SERVER_HOST": "127.0.0.1",
        "ACTION_SERVER_PORT": str(action_port),
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
        "WEBAPP_HOST": "127.0.0.1",
        "WEBAPP_PORT": str(webapp_port),
        "ESCALATION_DB_URL": sqlite_url(work_dir / "escalations.db"),
        "ESCALATION_OUTBOX": str(work_dir / "escalation-outbox.db"),
        "TRACKER_DB": str(work_dir / "tracker.db"),
        "CREDENTIALS_FILE": str(work_dir / "credentials.yml"),
        "WIDGET_SESSION_SECRET_FILE": str(work_dir / "widget-session-secret"),
        "STAFF_USERS_FILE": str(work_dir / "staff-users"),
        "SHELL_LOG": str(work_dir / "shell.log"),
        "MODEL": str(model),
        "PYTHONPATH": str(root),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **(extra_env or {}),
    }
    return env


@contextmanager
def running_services(
    model: Path,
    work_dir: Path,
    extra_env: Optional[Dict[str, str]] = None,
    timeout: float = 180,
    log_file: Optional[Path] = None,
    terminal: bool = False,
    root: Path = PROJECT_ROOT,
) -> Iterator[RunningServices]:
    """Starts action server + Rasa server, yields once both answer, then stops them.

    Their output goes to `log_file` (default work_dir/services.log), through a pipe, or with
    `terminal` through a pseudo-terminal, as when `make run` is started by hand (Rasa logs in
    another format then). `root` is the source tree to run (scripts/bench.py compares a copy
    of another branch with this one).
    """
    env = services_env(model, work_dir, extra_env, root)
    rasa_port, action_port = env["RASA_PORT"], env["ACTION_SERVER_PORT"]
    log = open(log_file or work_dir / "services.log", "wb")  # noqa: SIM115 (closed below)
    process, copier = _start_script(root, env, log, terminal)
    services = RunningServices(
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_url=f"http://127.0.0.1:{action_port}",
        process=process,
        env=env,
    )
    try:
        _wait_until_up(services.action_url + "/health", process, timeout)
        _wait_until_up(services.rasa_url + "/", process, timeout)
        yield services
    finally:
        _stop_script(process)
        if copier is not None:
            copier.join(timeout=30)
        log.close()


def _start_script(
    root: Path, env: Dict[str, str], log: BinaryIO, terminal: bool
) -> Tuple[subprocess.Popen, Optional[threading.Thread]]:
    """Starts scripts/run_services.sh writing to `log`, or to a terminal copied into it."""
    output: Any = log
    copier: Optional[threading.Thread] = None
    if terminal:
        master, output = pty.openpty()
        copier = threading.Thread(target=_copy_terminal, args=(master, log), daemon=True)
    process = subprocess.Popen(  # noqa: S603 (our own script, fixed arguments)
        [str(root / "scripts" / "run_services.sh")],
        cwd=root,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # Data files (SQLite stores, outbox) readable by their owner only; the script sets it too.
        umask=0o077,
    )
    if copier is not None:
        os.close(output)  # the services hold the terminal now
        copier.start()
    return process, copier


def _stop_script(process: subprocess.Popen) -> None:
    """SIGTERM to the script (its trap stops both servers), SIGKILL to all if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
