"""The entry point's routing: the real nginx template in front of a stand-in for the replicas.

The REST channel (a client names its own conversation) is routed only when REST_CHANNEL_PUBLIC
is "on"; the messaging apps' webhooks always are.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from local.cluster import ClusterPorts, _wait_port, nginx_command, write_nginx_conf
from local.services import free_port
from tests.stand_in_apis import StandInAPIs

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stand_in() -> StandInAPIs:
    with StandInAPIs() as api:
        yield api


@contextmanager
def nginx(work_dir: Path, backend_url: str, rest_channel_public: str) -> Iterator[str]:
    """nginx from the template, every upstream (replicas, web app) being `backend_url`."""
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (make system-packages)")
    backend = int(backend_url.rsplit(":", 1)[1])
    ports = ClusterPorts(nginx=free_port(), rasa=(backend, backend), webapp=backend)
    main_conf = write_nginx_conf(work_dir, ports, "30r/s", 100, rest_channel_public)
    process = subprocess.Popen([*nginx_command(main_conf), "-g", "daemon off;"])  # noqa: S603
    try:
        _wait_port("nginx", ports.nginx, 10)
        yield f"http://127.0.0.1:{ports.nginx}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def post(url: str) -> int:
    request = urllib.request.Request(url, data=b'{"sender": "4242", "message": "hi"}',
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_rest_channel_is_closed_by_default(tmp_path, stand_in):
    with nginx(tmp_path, stand_in.url, "off") as entry:
        before = len(stand_in.requests)
        for path in ("/webhooks/rest/webhook", "/webhooks/rest/webhook?stream=true",
                     "/webhooks//rest/webhook", "/webhooks/%72est/webhook",
                     "/webhooks/rest/../rest/webhook", "/webhooks/rest"):
            assert post(entry + path) == 404, path
        assert stand_in.requests[before:] == []
        # The messaging apps' webhooks still reach the replicas.
        assert post(entry + "/webhooks/telegram/webhook") == 200
        assert [r["path"] for r in stand_in.requests[before:]] == ["/webhooks/telegram/webhook"]


def test_rest_channel_is_routed_when_the_setting_says_so(tmp_path, stand_in):
    with nginx(tmp_path, stand_in.url, "on") as entry:
        before = len(stand_in.requests)
        assert post(entry + "/webhooks/rest/webhook") == 200
        assert [r["path"] for r in stand_in.requests[before:]] == ["/webhooks/rest/webhook"]
