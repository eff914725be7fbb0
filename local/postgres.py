"""A project-local PostgreSQL server on 127.0.0.1 (Debian's postgresql binaries).

Used by `make cluster` (a persistent cluster under var/cluster/pg) and by the integration tests
(a throwaway cluster in a temporary directory).

It holds parents' details, so it asks for a password (scram-sha-256) on every connection, local
socket included: with trust authentication any local user could read them. The superuser's
password is generated once and kept beside the data directory (`<data dir>.password`, 0600);
the services get it inside their database URL, through the environment.
"""

from __future__ import annotations

import glob
import os
import secrets
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


def password_file(data_dir: Path) -> Path:
    """Where the superuser's password of the cluster in `data_dir` is kept."""
    return data_dir.with_name(data_dir.name + ".password")


def _new_password_file(path: Path) -> None:
    # O_EXCL and mode 0600 at creation: the password is never readable by others, not even briefly.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(32) + "\n")


def init_cluster(data_dir: Path, user: str = "postgres") -> str:
    """Creates the data directory and, if it holds no cluster yet, runs initdb.

    Password authentication (scram-sha-256) for every connection; the password is generated
    the first time (see `password_file`).

    Returns:
        The superuser's password.

    Raises:
        RuntimeError: the data directory holds a cluster made with trust authentication (by an
            earlier version), or one whose password file is missing.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = password_file(data_dir)
    initialised = (data_dir / "PG_VERSION").exists()
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    if not initialised:
        if not secret.exists():
            _new_password_file(secret)
        if os.geteuid() == 0:
            shutil.chown(secret, "postgres", "postgres")  # initdb runs as postgres
        _run([postgres_binary("initdb"), "-D", str(data_dir), "-A", "scram-sha-256",
              f"--pwfile={secret}", "-U", user])
    elif not secret.exists() or _trusts_anyone(data_dir):
        raise RuntimeError(
            f"{data_dir} holds a PostgreSQL cluster without password authentication (made by "
            f"an earlier version, with trust): delete it and start again to get one with a "
            f"password")
    return secret.read_text().strip()


def _trusts_anyone(data_dir: Path) -> bool:
    hba = data_dir / "pg_hba.conf"
    return any(line.split()[-1:] == ["trust"] for line in hba.read_text().splitlines()
               if line.strip() and not line.lstrip().startswith("#"))


def database_url(user: str, password: str, port: int, database: str) -> str:
    """The SQLAlchemy URL of a database on the local server (password included)."""
    return f"postgresql+psycopg2://{user}:{password}@127.0.0.1:{port}/{database}"


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

    Password authentication, loopback only. The database is created if it is missing. The
    server is stopped on exit; the data directory and its password file are kept.

    Args:
        data_dir: the cluster's data directory (created if missing).
        port: TCP port on 127.0.0.1.
        user: the superuser name initdb creates.
        database: the database the yielded URL names.

    Yields:
        A SQLAlchemy URL, postgresql+psycopg2://user:password@127.0.0.1:port/database.
    """
    password = init_cluster(data_dir, user)
    try:
        # Inside the try: an interrupt while it starts must still stop it.
        start_server(data_dir, port)
        if database != "postgres":
            created = subprocess.run(  # noqa: S603
                as_postgres([postgres_binary("createdb"), "-h", "127.0.0.1", "-p", str(port),
                              "-U", user, database]),
                check=False, capture_output=True, text=True,
                env={**os.environ, "PGPASSWORD": password},  # not in argv: `ps` shows that
            )
            if created.returncode != 0 and "already exists" not in created.stderr:
                raise RuntimeError(f"createdb failed: {created.stderr.strip()}")
        yield database_url(user, password, port, database)
    finally:
        stop_server(data_dir, mode="fast")
