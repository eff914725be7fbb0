"""A throwaway PostgreSQL server on 127.0.0.1 for tests (Debian's postgresql package)."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from clinic.local_postgres import init_cluster, start_server, stop_server
from clinic.local_services import free_port


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster that a test can stop and start again."""

    data: Path
    port: int

    @property
    def url(self) -> str:
        """Its SQLAlchemy URL (trust auth, user postgres)."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Starts the server and waits until it accepts connections."""
        start_server(self.data, self.port)

    def stop(self) -> None:
        """Stops the server at once (as a crash would)."""
        stop_server(self.data, mode="immediate")


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Starts a fresh cluster with trust auth on a free port; removes it afterwards."""
    data = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    init_cluster(data)
    server = PostgresServer(data, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def temporary_postgres() -> Iterator[str]:
    """Starts a fresh cluster with trust auth on a free port; yields its SQLAlchemy URL."""
    with postgres_server() as server:
        yield server.url
