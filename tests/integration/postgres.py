"""A throwaway PostgreSQL server on 127.0.0.1 for tests (Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

from clinic.local_services import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is missing: run scripts/install_system_packages.sh "
            "(make test does)"
        )
    return found[-1]


def _as_postgres(command: List[str]) -> List[str]:
    # PostgreSQL refuses to run as root; CI runs as root, developers may not.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


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
            _as_postgres([_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "60",
                          "-l", str(self.data / "server.log"), "start"]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        """Stops the server at once (as a crash would)."""
        subprocess.run(  # noqa: S603
            _as_postgres([_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Starts a fresh cluster with trust auth on a free port; removes it afterwards."""
    data = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(  # noqa: S603 (fixed command)
        _as_postgres([_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
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
