"""The replica's health report sees its action server: 503 naming it while it is down, 200 back."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from local.services import free_port, running_services
from tests.integration.test_faults import MODEL, health

pytestmark = pytest.mark.integration


class _HealthOnly(http.server.BaseHTTPRequestHandler):
    """An action server's /health, as rasa-sdk answers it."""

    def do_GET(self):  # noqa: N802
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


def test_health_names_a_dead_action_server_and_recovers(tmp_path):
    port = free_port()
    with running_services(MODEL, tmp_path, extra_env={
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{port}/webhook",
    }) as services:
        started = time.monotonic()
        status, report = health(services.rasa_url)
        # Quickly, so that a probe or the supervisor is not kept waiting by a dead server.
        assert time.monotonic() - started < 5
        assert status == 503 and report["failing"] == ["action_server"], report
        assert report["action_server"]["server"] == f"127.0.0.1:{port}"
        assert report["tracker_store"]["ok"] and report["lock_store"]["ok"]

        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _HealthOnly)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            status, report = health(services.rasa_url)
            assert status == 200 and report["failing"] == [], report
        finally:
            server.shutdown()
            server.server_close()
