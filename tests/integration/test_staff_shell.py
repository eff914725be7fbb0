"""`make shell DEBUG=1` driven in a pseudo-terminal as staff use it (issue 15 items 4, 10-14)."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources
from local.services import services_env
from tests.integration.terminal import Terminal

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
# `-o`: never retrain here; the model is built by `make test` before the tests run.
MAKE_SHELL = ["make", "-o", "models/clinic.tar.gz", "shell"]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("staff-shell")


@pytest.fixture(scope="module")
def env(work_dir) -> Dict[str, str]:
    assert MODEL.exists(), f"{MODEL} is missing: run `make train`"
    return services_env(MODEL, work_dir)


@pytest.fixture(scope="module")
def shell(env) -> Iterator[Terminal]:
    terminal = Terminal([*MAKE_SHELL, "DEBUG=1"], env)
    try:
        # "Bot loaded": `rasa shell`'s prompt, so this fails test by test on the old shell.
        terminal.expect(r"Ready\.|Bot loaded", timeout=300)
        yield terminal
    finally:
        terminal.close()


def say(shell: Terminal, text: str) -> str:
    """Types `text`; the screen from there up to and including the turn's debug line."""
    start = shell.type(text)
    shell.expect(r"\[debug\][^\n]*\n", start=start, timeout=30)
    return shell.screen[start:]


def session_pids(shell: Terminal) -> List[int]:
    """The processes `make shell` started (its session)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.getsid(int(entry)) == shell.process.pid:
                pids.append(int(entry))
        except (ProcessLookupError, PermissionError):
            continue
    return pids


def listening_addresses(pids: List[int]) -> List[Tuple[str, int]]:
    """The TCP addresses these processes listen on (from /proc)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:["):-1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    found = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.append((socket.inet_ntop(family, raw), int(port, 16)))
    return found


def test_buttons_are_numbered_choices_and_typed_text_is_text(shell):
    offer = say(shell, "I would like to talk to a person")
    assert re.search(r"1\. Yes, please\s+2\. No, thanks", offer)
    # Typed text while choices are shown is the parent's text, not the first button.
    reply = say(shell, "he has seizures and cant breathe")
    assert get_resources().message("emergency")[:40] in reply
    assert "[debug] intent emergency" in reply
    assert "What is your name" not in reply
    say(shell, "I would like to talk to a person")
    assert "[debug] intent deny (1.00)" in say(shell, "2")


def test_debug_line_follows_every_reply(shell):
    answer = say(shell, "does it hurt?")
    assert "[debug] intent ask_pain" in answer
    assert "· answer pain · status approved" in answer
    emergency = say(shell, "she cant breathe after the injection")
    assert re.search(r"\[debug\] intent emergency \(\d\.\d\d\) · actions action_emergency",
                     emergency)
    say(shell, "I would like to talk to a person")
    form = say(shell, "1")
    assert "What is your name" in form
    assert re.search(r"\[debug\] intent affirm \(1\.00\) · actions escalation_form · "
                     r"answer none · form escalation_form", form)
    assert "form escalation_form" not in say(shell, "cancel")


def test_log_lines_stay_out_of_the_chat(shell, env):
    for noise in ("WARNING", "DeprecationWarning", "Traceback", "[debug    ]", "INFO"):
        assert noise not in shell.screen
    # The emergency above was logged, in the log file.
    assert "emergency guidance sent" in Path(env["SHELL_LOG"]).read_text()


def test_listens_on_loopback_only_and_serves_no_rest(shell, env):
    addresses = listening_addresses(session_pids(shell))
    assert ("127.0.0.1", int(env["ACTION_SERVER_PORT"])) in addresses
    assert all(host == "127.0.0.1" for host, _ in addresses), addresses
    # Nothing answers REST (where `rasa shell` served its debug lines to any client).
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(  # noqa: S310 (a fixed local URL)
            f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook", timeout=5)


def test_widget_session_secret_is_kept_owner_only(shell, env):
    secret_file = Path(env["WIDGET_SESSION_SECRET_FILE"])
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    environments = [Path(f"/proc/{pid}/environ").read_bytes() for pid in session_pids(shell)]
    assert any(f"WIDGET_SESSION_SECRET={secret}".encode() in environ
               for environ in environments)


@pytest.mark.parametrize("target", ["shell", "run"])
def test_a_second_start_says_the_services_are_running(shell, env, target):
    command = ["make", "-o", "models/clinic.tar.gz", "-o", "node_modules/.package-lock.json",
               target]
    second = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert second.returncode != 0
    assert "Traceback" not in second.stdout + second.stderr
    said = [line for line in second.stderr.splitlines() if not line.startswith("make")]
    assert len(said) == 1
    assert "already running" in said[0] and "Ctrl-C" in said[0]
    assert "URL" not in second.stdout and "http://" not in second.stdout


def test_cases_from_the_shell_are_test_cases(shell, env):
    from escalation.store import EscalationStore

    say(shell, "does it hurt?")
    say(shell, "my son had his injection yesterday and now he can't breathe")
    store = EscalationStore(env["ESCALATION_DB_URL"])
    try:
        cases = store.list(("open", "contacted", "closed"))
        assert cases and all(case.channel == "cmdline" and case.is_test for case in cases)
        # Left out of the answer report's counts.
        assert store.reason_counts() == []
    finally:
        store.dispose()


# Last: it stops the module's shell.
def test_ctrl_c_stops_cleanly(shell, env):
    shell.interrupt()
    shell.wait(timeout=60)
    for noise in ("Traceback", "Task was destroyed", "make: ***", "Error 1"):
        assert noise not in shell.screen
    assert "Task was destroyed" not in Path(env["SHELL_LOG"]).read_text()
    assert session_pids(shell) == []
