"""Rasa's HTTP API: off unless a token is configured, then only with the token; CORS closed."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import List

import pytest

from clinic.paths import PROJECT_ROOT
from local.services import running_services

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
TOKEN = "test-" + uuid.uuid4().hex

pytestmark = pytest.mark.integration


def status(url: str, headers=None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def cors_header(url: str, origin: str):
    request = urllib.request.Request(url, method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as error:
        return error.headers.get("Access-Control-Allow-Origin")


def session_command_lines(session: int) -> List[str]:
    """The command lines of the processes in a session, as any local user can read them."""
    lines = []
    for proc in Path("/proc").iterdir():
        try:
            # Fields after the command name: state, ppid, pgrp, session, ...
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[3]) == session:
                lines.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue  # not a process, or it has just exited
    return lines


def test_api_is_off_by_default_and_cors_is_closed(shared_services):
    # The session's services (tests/conftest.py): started without a token or CORS origins.
    services = shared_services
    assert "RASA_API_TOKEN" not in services.env and "RASA_CORS_ORIGINS" not in services.env
    services.send("api-off", "hello")
    assert status(f"{services.rasa_url}/conversations/api-off/tracker") == 404
    assert status(f"{services.rasa_url}/status") == 404
    assert cors_header(f"{services.rasa_url}/webhooks/rest/webhook",
                       "https://evil.example") is None


def test_api_needs_the_token_and_cors_allows_only_configured_origins(tmp_path):
    log = tmp_path / "services.log"
    with running_services(MODEL, tmp_path, log_file=log, extra_env={
        "RASA_API_TOKEN": TOKEN, "RASA_CORS_ORIGINS": "https://clinic.example",
    }) as services:
        services.send("api-on", "hello")
        tracker = f"{services.rasa_url}/conversations/api-on/tracker"
        assert status(tracker) == 401
        assert status(tracker + "?token=wrong") == 401
        assert status(tracker + f"?token={TOKEN}") == 200
        # The token reaches Rasa through the environment, not its command line (`ps`).
        lines = session_command_lines(services.process.pid)
        port = services.rasa_url.rsplit(":", 1)[1]
        assert [line for line in lines if "--model" in line and f"--port {port}" in line]
        assert [line for line in lines if TOKEN in line] == []
        webhook = f"{services.rasa_url}/webhooks/rest/webhook"
        assert cors_header(webhook, "https://clinic.example") == "https://clinic.example"
        assert cors_header(webhook, "https://evil.example") is None
    assert TOKEN not in log.read_text(errors="replace")
