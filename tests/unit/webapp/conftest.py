"""One real web app, served in-process, for every test module of the package.

Sanic 21.12 can start only one app per process cleanly (its start-up rewrites its own code
once), so the modules share this server; each module empties the tables it uses.
"""

import uuid
from typing import Any, Callable, Tuple

import aiohttp
import pytest
import pytest_asyncio

from local.services import free_port
from webapp import create_app
from webapp.staff_auth import hash_password

STAFF_PASSWORD = "correct horse battery"  # noqa: S105


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def webapp(tmp_path_factory):
    """(HTTP client of the running web app, its database URL)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WEBAPP_HOST", "127.0.0.1")
        monkeypatch.setenv("WEBAPP_PORT", "8000")
        monkeypatch.setenv("WIDGET_ALLOWED_ORIGINS", "https://partner.example")
        stored = hash_password(STAFF_PASSWORD)
        # nurse.kim: an entry made before roles (staff); dr.lee may sign off texts.
        monkeypatch.setenv("STAFF_USERS", f"nurse.kim:{stored},dr.lee:{stored}:clinician")
        monkeypatch.setenv("ESCALATION_RETRY_SECONDS", "3600")
        # As behind nginx: tests give each client its own address with X-Forwarded-For.
        monkeypatch.setenv("SANIC_PROXIES_COUNT", "1")
        monkeypatch.delenv("ESCALATION_WEBHOOK_URL", raising=False)
        url = f"sqlite:///{tmp_path_factory.mktemp('webapp') / 'db.sqlite'}"
        app = create_app(f"webapp_test_{uuid.uuid4().hex}", store_url=url)
        port = free_port()
        served = await app.create_server(host="127.0.0.1", port=port,
                                         return_asyncio_server=True, access_log=False)
        await served.startup()
        await served.before_start()
        await served.after_start()
        # A connection per request: a kept-alive one the server closed after its keep-alive
        # timeout (5 s, e.g. while another module hashes passwords) fails the next request.
        async with aiohttp.ClientSession(
                f"http://127.0.0.1:{port}",
                connector=aiohttp.TCPConnector(force_close=True)) as client:
            yield client, url
        await served.before_stop()
        served.close()
        await served.wait_closed()
        await served.after_stop()


def store_fixtures(store_class: Callable[[str], Any], *tables: Any) -> Tuple[Any, Any]:
    """A module's `running` (web app client, store) and `server` (same, `tables` emptied) fixtures.

    Use as `running, server = store_fixtures(FeedbackStore, answer_feedback)` in a test module.
    """

    @pytest.fixture(scope="module")
    def running(webapp):
        client, url = webapp
        store = store_class(url)
        yield client, store
        store.dispose()

    @pytest.fixture
    def server(running):
        client, store = running
        with store.engine.begin() as connection:
            for table in tables:
                connection.execute(table.delete())
        return client, store

    return running, server
