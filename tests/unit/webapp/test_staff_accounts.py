import io
import stat
import sys

import pytest

from webapp.staff_accounts import AccountError, add_entry, main, merged_users, read_entries
from webapp.staff_auth import hash_password, parse_users

# Hashing is slow on purpose (~0.1 s); one hash serves every entry here.
HASH = hash_password("correct horse battery")


def entry(name):
    return f"{name}:{HASH}"


def test_add_writes_an_owner_only_file(tmp_path):
    path = tmp_path / "var" / "staff-users"
    assert add_entry(path, entry("ana") + "\n") is False
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_entries(path) == [entry("ana")]


def test_add_replaces_the_account_of_the_same_name(tmp_path):
    path = tmp_path / "staff-users"
    add_entry(path, entry("ana"))
    add_entry(path, entry("ben"))
    other = "ana:" + hash_password("another long password")
    assert add_entry(path, other) is True
    assert read_entries(path) == [entry("ben"), other]


def test_add_refuses_what_is_not_one_entry(tmp_path):
    with pytest.raises(AccountError):
        add_entry(tmp_path / "staff-users", "")
    with pytest.raises(AccountError):
        add_entry(tmp_path / "staff-users", "ana:plaintext")
    assert not (tmp_path / "staff-users").exists()


def test_file_and_environment_merge_and_the_environment_wins(tmp_path):
    path = tmp_path / "staff-users"
    add_entry(path, entry("ana"))
    add_entry(path, entry("ben"))
    other = "ben:" + hash_password("another long password")
    users = parse_users(merged_users({"STAFF_USERS_FILE": str(path), "STAFF_USERS": other}))
    assert users == {"ana": HASH, "ben": other.split(":", 1)[1]}


def test_environment_alone_still_works(tmp_path):
    value = merged_users({"STAFF_USERS_FILE": str(tmp_path / "none"), "STAFF_USERS": entry("a")})
    assert parse_users(value) == {"a": HASH}


def test_a_mangled_environment_value_gets_one_clear_message(tmp_path):
    # What a double-quoted paste leaves of the hash: the shell expanded its `$` parts.
    with pytest.raises(AccountError, match=r"STAFF_USERS: entry for 'ana'.*quoting.*"
                                           r"make staff-password"):
        merged_users({"STAFF_USERS_FILE": str(tmp_path / "none"), "STAFF_USERS": "ana:pbkdf2"})


def test_a_bad_file_line_is_named(tmp_path):
    path = tmp_path / "staff-users"
    path.write_text(entry("ana") + "\nben:oops\n")
    with pytest.raises(AccountError, match=r"staff-users, line 2"):
        merged_users({"STAFF_USERS_FILE": str(path)})


def test_command_adds_from_stdin_and_exports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STAFF_USERS_FILE", str(tmp_path / "staff-users"))
    monkeypatch.delenv("STAFF_USERS", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(entry("ana") + "\n"))
    assert main(["add"]) == 0
    assert "Staff account 'ana' added" in capsys.readouterr().out
    assert main(["export"]) == 0
    assert capsys.readouterr().out.strip() == entry("ana")
    monkeypatch.setenv("STAFF_USERS", "broken")
    assert main(["export"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
