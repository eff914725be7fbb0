"""A throwaway PostgreSQL server on 127.0.0.1 for tests (Debian's postgresql package)."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from local.postgres import (
    database_url,
    init_cluster,
    password_file,
    start_server,
    stop_server,
)
from local.services import free_port


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster that a test can stop and start again."""

    data: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        """Its SQLAlchemy URL (user postgres, with the password)."""
        return database_url("postgres", self.password, self.port, "postgres")

    def start(self) -> None:
        """Starts the server and waits until it accepts connections."""
        start_server(self.data, self.port)

    def stop(self) -> None:
        """Stops the server at once (as a crash would)."""
        stop_server(self.data, mode="immediate")

    def restart_if_stopped(self) -> None:
        """Starts it again if a test stopped it and failed before starting it (shared servers)."""
        if not (self.data / "postmaster.pid").exists():
            self.start()


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Starts a fresh cluster (password authentication) on a free port; removes it afterwards."""
    data = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    server = PostgresServer(data, free_port(), init_cluster(data))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
        password_file(data).unlink(missing_ok=True)


@contextmanager
def temporary_postgres() -> Iterator[str]:
    """Starts a fresh cluster on a free port; yields its SQLAlchemy URL (with the password)."""
    with postgres_server() as server:
        yield server.url
