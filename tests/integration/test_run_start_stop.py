"""`make run` as a person starts and stops it in a terminal (issue 15 items 4, 9, 14)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Dict, Optional

import pytest

from clinic.paths import PROJECT_ROOT
from local.services import RunningServices, services_env
from tests.integration.terminal import Terminal
from tests.integration.test_staff_shell import session_pids
from tests.integration.test_widget_channel import Widget
from webapp.staff_accounts import add_entry
from webapp.staff_auth import hash_password

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
# `-o`: never retrain or reinstall here (`make test` builds both first).
MAKE_RUN = ["make", "-o", "models/clinic.tar.gz", "-o", "node_modules/.package-lock.json", "run"]

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path) -> Dict[str, str]:
    assert MODEL.exists(), f"{MODEL} is missing: run `make train`"
    return services_env(MODEL, tmp_path)


def start(env: Dict[str, str]) -> Terminal:
    """`make run` in a terminal, once the Rasa server answers."""
    terminal = Terminal(MAKE_RUN, env)
    terminal.expect(r"Staff inbox:", timeout=120)
    url = f"http://127.0.0.1:{env['RASA_PORT']}/"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (a fixed local URL)
                return terminal
        except OSError:
            terminal.read(1.0)
    raise AssertionError(f"the Rasa server did not answer; screen:\n{terminal.screen[-3000:]}")


def stop(terminal: Terminal) -> None:
    """Ctrl-C, as in the terminal; checks that everything stopped quietly."""
    terminal.interrupt()
    terminal.wait(timeout=90)
    for noise in ("Traceback", "Task was destroyed", "make: ***", "Error 143"):
        assert noise not in terminal.screen
    assert session_pids(terminal) == []


async def widget_turn(env: Dict[str, str], session_id: Optional[str]) -> tuple:
    services = RunningServices(rasa_url=f"http://127.0.0.1:{env['RASA_PORT']}", action_url="",
                               process=None, env=env)
    widget = Widget(services, origin=f"http://127.0.0.1:{env['WEBAPP_PORT']}")
    confirmed = await widget.open(session_id)
    replies = await widget.say("does it hurt?", confirmed)
    await widget.client.disconnect()
    return confirmed, replies


def test_start_and_stop_are_quiet_and_widget_sessions_survive_a_restart(env):
    # An account as `make staff-password` stores it: the web app must find it.
    env.pop("STAFF_USERS", None)
    add_entry(Path(env["STAFF_USERS_FILE"]), f"nurse.kim:{hash_password('a long password')}")
    terminal = start(env)
    try:
        session_id, replies = asyncio.run(widget_turn(env, None))
        assert replies
        terminal.read(2.0)
        assert "Warning:" not in terminal.screen  # DeprecationWarning, PyparsingDeprecation...
        assert "no staff accounts configured" not in terminal.screen
        stop(terminal)
    finally:
        terminal.close()
    again = start(env)
    try:
        # The same signing secret (var/widget-session-secret): the parent's session goes on.
        kept, _ = asyncio.run(widget_turn(env, session_id))
        assert kept == session_id
        stop(again)
    finally:
        again.close()


def test_a_bad_staff_users_value_stops_start_up_with_one_message(env):
    # A double-quoted paste: the shell expanded the `$...` parts of the hash.
    env = {**env, "STAFF_USERS": "ana:pbkdf2_sha256"}
    result = subprocess.run(MAKE_RUN, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert len([line for line in output.splitlines() if "STAFF_USERS" in line]) == 1
    assert "make staff-password" in output
    assert "http://" not in output and "Traceback" not in output


def test_the_web_app_alone_reports_a_bad_value_once(env):
    env = {**env, "STAFF_USERS": "ana:pbkdf2_sha256"}
    result = subprocess.run([sys.executable, "-m", "webapp"], cwd=PROJECT_ROOT, env=env,  # noqa: S603
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).splitlines()
    assert len([line for line in lines if "STAFF_USERS" in line]) == 1
    assert "Traceback" not in result.stderr
