"""A project-local PostgreSQL server on 127.0.0.1 (Debian's postgresql binaries).

Used by `make cluster` (a persistent cluster under var/cluster/pg) and by the integration tests
(a throwaway cluster in a temporary directory).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List


def postgres_binary(name: str) -> str:
    """Path of a PostgreSQL server program (the newest installed major version)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is missing: run scripts/install_system_packages.sh "
            "(make test does)"
        )
    return found[-1]


def as_postgres(command: List[str]) -> List[str]:
    """The command, run as the postgres user when we are root."""
    # PostgreSQL refuses to run as root; CI runs as root, developers may not.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: List[str]) -> None:
    result = subprocess.run(  # noqa: S603 (fixed PostgreSQL programs, our own arguments)
        as_postgres(command), check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{Path(command[0]).name} failed: {result.stderr.decode(errors='replace').strip()}"
        )


def init_cluster(data_dir: Path, user: str = "postgres") -> None:
    """Creates the data directory and, if it holds no cluster yet, runs initdb (trust auth)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    if not (data_dir / "PG_VERSION").exists():
        _run([postgres_binary("initdb"), "-D", str(data_dir), "-A", "trust", "-U", user])


def start_server(data_dir: Path, port: int) -> None:
    """Starts the cluster on 127.0.0.1:port and waits until it accepts connections."""
    # fsync off: a local cluster and tests trade crash safety for speed.
    options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run([postgres_binary("pg_ctl"), "-D", str(data_dir), "-o", options, "-w", "-t", "60",
          "-l", str(data_dir / "server.log"), "start"])


def stop_server(data_dir: Path, mode: str = "fast") -> None:
    """Stops the cluster (`immediate` stops it as a crash would); quiet if it is not running."""
    subprocess.run(  # noqa: S603
        as_postgres([postgres_binary("pg_ctl"), "-D", str(data_dir), "-m", mode, "stop"]),
        check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


@contextmanager
def running_postgres(
    data_dir: Path, port: int, user: str = "postgres", database: str = "postgres"
) -> Iterator[str]:
    """Starts PostgreSQL on 127.0.0.1:port (initdb first if data_dir is empty); yields its URL.

    Trust authentication, loopback only. The database is created if it is missing. The server is
    stopped on exit; the data directory is kept.

    Args:
        data_dir: the cluster's data directory (created if missing).
        port: TCP port on 127.0.0.1.
        user: the superuser name initdb creates.
        database: the database the yielded URL names.

    Yields:
        A SQLAlchemy URL, postgresql+psycopg2://user@127.0.0.1:port/database.
    """
    init_cluster(data_dir, user)
    try:
        # Inside the try: an interrupt while it starts must still stop it.
        start_server(data_dir, port)
        if database != "postgres":
            created = subprocess.run(  # noqa: S603
                as_postgres([postgres_binary("createdb"), "-h", "127.0.0.1", "-p", str(port),
                              "-U", user, database]),
                check=False, capture_output=True, text=True,
            )
            if created.returncode != 0 and "already exists" not in created.stderr:
                raise RuntimeError(f"createdb failed: {created.stderr.strip()}")
        yield f"postgresql+psycopg2://{user}@127.0.0.1:{port}/{database}"
    finally:
        stop_server(data_dir, mode="fast")
