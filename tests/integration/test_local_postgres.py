"""The local PostgreSQL server (`make cluster`, tests) asks every connection for its password."""

import stat
from urllib.parse import urlparse

import psycopg2
import pytest

from local.postgres import password_file
from tests.integration.postgres import postgres_server

pytestmark = pytest.mark.integration


def connect(**kwargs):
    return psycopg2.connect(dbname="postgres", user="postgres", connect_timeout=5, **kwargs)


def test_a_connection_without_the_password_is_refused():
    with postgres_server() as server:
        # Over TCP and over the local socket (in the data directory), as any local user could.
        for host in ("127.0.0.1", str(server.data)):
            with pytest.raises(psycopg2.OperationalError):
                connect(host=host, port=server.port).close()
            with pytest.raises(psycopg2.OperationalError):
                connect(host=host, port=server.port, password="guess").close()
        with psycopg2.connect(urlparse(server.url)._replace(scheme="postgresql").geturl()) as db:
            assert db.cursor() is not None
        db.close()
        secret = password_file(server.data)
        assert secret.read_text().strip() == server.password
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
