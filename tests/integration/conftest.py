"""Services shared by integration tests in several files that need the same special set-up."""

from __future__ import annotations

from typing import Iterator, Tuple

import pytest

from clinic.paths import PROJECT_ROOT
from local.services import RunningServices, running_services
from tests.integration.postgres import PostgresServer, postgres_server

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"


@pytest.fixture(scope="session")
def _tracker_in_postgres(tmp_path_factory) -> Iterator[Tuple[PostgresServer, RunningServices]]:
    assert MODEL.exists(), f"{MODEL} is missing: run `make train` (make test does it first)"
    work_dir = tmp_path_factory.mktemp("tracker-in-postgres")
    with postgres_server() as database, running_services(
        MODEL, work_dir, extra_env={"TRACKER_DB_URL": database.url},
    ) as services:
        yield database, services


@pytest.fixture
def tracker_in_postgres(_tracker_in_postgres) -> Iterator[Tuple[PostgresServer, RunningServices]]:
    """Services whose tracker store is a PostgreSQL server the test may stop and start.

    Started once for the tracker-outage tests (test_faults.py, test_form_outage.py); each test
    starts the database again before it ends, and if it failed first this does.
    """
    database, services = _tracker_in_postgres
    yield database, services
    database.restart_if_stopped()
