"""`make staff-password` in a terminal: one command stores the account the web app reads."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from clinic.paths import PROJECT_ROOT
from local.services import services_env
from tests.integration.terminal import Terminal
from webapp.staff_accounts import merged_users
from webapp.staff_auth import check_password, parse_accounts, parse_users

pytestmark = pytest.mark.integration

# `-o`: never reinstall the shared environment from a test.
MAKE_STAFF_PASSWORD = ["make", "-o", ".venv/.installed", "staff-password"]
PASSWORD = "a long $HOME password"  # `$` as in the hash: nothing expands it


def create(env, name: str, password: str, role: str = "") -> Terminal:
    terminal = Terminal(MAKE_STAFF_PASSWORD, env)
    terminal.expect("Staff user name: ")
    terminal.type(name)
    terminal.expect(re.escape("Role (staff or clinician) [staff]: "))
    terminal.type(role)
    terminal.expect("Password: ")
    terminal.type(password)
    terminal.expect("Again: ")
    terminal.type(password)
    assert terminal.wait(timeout=60) == 0, terminal.screen
    return terminal


def test_one_command_stores_the_account_for_the_services(tmp_path):
    env = services_env(PROJECT_ROOT / "models" / "clinic.tar.gz", tmp_path)
    env.pop("STAFF_USERS", None)
    first = create(env, "nurse.kim", PASSWORD)
    assert "Staff account 'nurse.kim' added" in first.screen
    assert PASSWORD not in first.screen
    accounts = Path(env["STAFF_USERS_FILE"])
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    assert parse_accounts(merged_users(env))["nurse.kim"][1] == "staff"
    second = create(env, "nurse.kim", PASSWORD + " 2", role="clinician")
    assert "replaced" in second.screen
    users = parse_users(merged_users(env))
    assert list(users) == ["nurse.kim"]
    assert check_password(PASSWORD + " 2", users["nurse.kim"])
    assert parse_accounts(merged_users(env))["nurse.kim"][1] == "clinician"
