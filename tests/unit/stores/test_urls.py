import re
import sqlite3
import stat
from pathlib import Path

import pytest

from clinic.paths import CODE_PACKAGES, PROJECT_ROOT
from stores.urls import (
    describe,
    normalise,
    open_engine,
    sqlite_file,
    sqlite_url,
    tracker_db_url,
)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_postgres_alias_is_read_as_postgresql():
    assert normalise("postgres://u:p@db:5432/x") == "postgresql://u:p@db:5432/x"
    assert normalise(" postgres+psycopg2://u@db/x ") == "postgresql+psycopg2://u@db/x"
    assert normalise("postgresql://u@db/x") == "postgresql://u@db/x"
    assert normalise("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"


def test_a_bad_url_is_refused_without_repeating_it():
    with pytest.raises(ValueError) as raised:
        normalise("clinic:s3cret@db")
    assert "s3cret" not in str(raised.value)


def test_sqlite_file(tmp_path):
    assert sqlite_file(f"sqlite:///{tmp_path}/t.db") == tmp_path / "t.db"
    assert sqlite_file(sqlite_url(tmp_path / "t.db")) == tmp_path / "t.db"
    assert sqlite_url(Path("var/x.db")) == f"sqlite:///{PROJECT_ROOT}/var/x.db"
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgres://u@db/x") is None


def test_tracker_url_comes_from_the_environment(tmp_path):
    assert tracker_db_url({"TRACKER_DB": str(tmp_path / "t.db")}) == f"sqlite:///{tmp_path}/t.db"
    assert tracker_db_url({"TRACKER_DB_URL": "postgres://u:p@db:5432/x"}) == (
        "postgresql://u:p@db:5432/x")
    assert tracker_db_url({}) == f"sqlite:///{PROJECT_ROOT}/var/tracker.db"


def test_descriptions_never_show_credentials():
    text = describe("postgres://clinic:s3cret@db.example:5433/conversations")
    assert "s3cret" not in text and "clinic:" not in text
    assert text == "postgresql at db.example:5433/conversations"


def test_sqlite_files_are_created_for_their_owner_only(tmp_path):
    database = tmp_path / "var" / "store.db"
    engine = open_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.exec_driver_sql("CREATE TABLE t (x)")
    engine.dispose()
    assert mode(database.parent) == 0o700
    assert mode(database) == 0o600


def test_an_existing_readable_sqlite_file_is_tightened(tmp_path):
    database = tmp_path / "old.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    open_engine(f"sqlite:///{database}").dispose()
    assert mode(database) == 0o600


def test_no_other_module_opens_a_database_engine():
    # One reader of store URLs: a second one drifts (retention once refused postgres://).
    callers = [
        path.relative_to(PROJECT_ROOT) for package in
        (*CODE_PACKAGES, "scripts")
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if re.search(r"\bcreate_engine\(", path.read_text())
    ]
    assert [str(path) for path in callers] == ["stores/urls.py"]
