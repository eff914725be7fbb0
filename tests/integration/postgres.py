"""A throwaway PostgreSQL server on 127.0.0.1 for tests (Debian's postgresql package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from clinic.local_postgres import as_postgres, postgres_binary
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
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(  # noqa: S603 (fixed command)
            as_postgres([postgres_binary("pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                         "-t", "60", "-l", str(self.data / "server.log"), "start"]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        """Stops the server at once (as a crash would)."""
        subprocess.run(  # noqa: S603
            as_postgres([postgres_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate",
                         "stop"]),
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Starts a fresh cluster with trust auth on a free port; removes it afterwards."""
    data = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(  # noqa: S603 (fixed command)
        as_postgres([postgres_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
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
