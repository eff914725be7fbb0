"""The one reader of the stores' database URLs: conversations, escalations, feedback, retention.

Every store and tool that opens a SQL database goes through `open_engine` (the stores with their
tables through `open_database`; `normalise` when Rasa opens the engine itself), so a URL that
works for one works for all. Before, the tracker
store accepted Rasa's `postgres://` alias and `make retention` failed on it.

SQLite files hold personal data: `open_engine` creates them readable by their owner only (0600,
folder 0700) and tightens an existing file that others could read; SQLite gives its journal and
WAL files the database file's mode.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic.paths import PROJECT_ROOT

TRACKER_DB_URL_ENV = "TRACKER_DB_URL"
TRACKER_DB_ENV = "TRACKER_DB"
DEFAULT_TRACKER_FILE = "var/tracker.db"
#: SQLite's companions of a database file; created with the database file's mode.
_SQLITE_SUFFIXES = ("", "-journal", "-wal", "-shm")


def normalise(url: str) -> str:
    """`url` as SQLAlchemy 1.4 reads it: Rasa's (and Heroku's) `postgres` alias renamed.

    Raises:
        ValueError: `url` is not `scheme://...` (the message never repeats the URL: it may hold
            a password).
    """
    url = url.strip()
    scheme, separator, rest = url.partition("://")
    if not separator or not scheme:
        raise ValueError("a database URL must look like dialect[+driver]://...")
    dialect, plus, driver = scheme.partition("+")
    if dialect.lower() == "postgres":
        dialect = "postgresql"
    return f"{dialect}{plus}{driver}://{rest}"


def sqlite_file(url: str) -> Optional[Path]:
    """The database file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = sa.engine.make_url(normalise(url))
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite file `path` (relative paths from the project root)."""
    return f"sqlite:///{path if path.is_absolute() else PROJECT_ROOT / path}"


def tracker_db_url(environ: Optional[Mapping[str, str]] = None) -> str:
    """TRACKER_DB_URL (e.g. PostgreSQL), else the SQLite file TRACKER_DB (var/tracker.db)."""
    env = os.environ if environ is None else environ
    url = env.get(TRACKER_DB_URL_ENV, "").strip()
    if url:
        return normalise(url)
    return sqlite_url(Path(env.get(TRACKER_DB_ENV, "").strip() or DEFAULT_TRACKER_FILE))


def describe(url: str) -> str:
    """A URL safe for logs: dialect, host, port and database, never user or password."""
    parsed = sa.engine.make_url(normalise(url))
    if parsed.drivername.startswith("sqlite"):
        return f"SQLite file {parsed.database}"
    return f"{parsed.drivername} at {parsed.host}:{parsed.port or 'default port'}/{parsed.database}"


def make_private(path: Path) -> None:
    """Creates SQLite file `path` (and its folder) for its owner only; tightens an existing one."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process may create it first
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for suffix in _SQLITE_SUFFIXES:
        companion = path.with_name(path.name + suffix)
        # Someone else's file (a report read as another user) is left as it is.
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if companion.stat().st_mode & 0o077:
                companion.chmod(0o600)


def open_engine(url: str, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine on `url` (normalised); a SQLite file is made private first."""
    url = normalise(url)
    database_file = sqlite_file(url)
    if database_file is not None:
        make_private(database_file)
    return sa.create_engine(url, **kwargs)


def open_database(url: str, tables: sa.MetaData) -> Engine:
    """An engine on `url` (a SQLite file made private) with `tables` created if missing."""
    # hide_parameters: database errors must never carry a parent's details into a log.
    engine = open_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)
    tables.create_all(engine)
    return engine
