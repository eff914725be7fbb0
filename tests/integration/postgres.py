"""A throwaway PostgreSQL server on 127.0.0.1 for tests (Debian's postgresql package)."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from clinic.local_postgres import running_postgres
from clinic.local_services import free_port


@contextmanager
def temporary_postgres() -> Iterator[str]:
    """Starts a fresh cluster with trust auth on a free port; yields its SQLAlchemy URL."""
    data = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    try:
        with running_postgres(data, free_port()) as url:
            yield url
    finally:
        shutil.rmtree(data, ignore_errors=True)
