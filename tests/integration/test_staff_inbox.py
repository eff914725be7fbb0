"""The staff inbox and its API, against the real web app server started as `make run` does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookies import SimpleCookie

import pytest

from clinic.escalation_store import EscalationStore
from clinic.local_services import free_port
from clinic.paths import PROJECT_ROOT
from webapp.staff_auth import hash_password

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"  # noqa: S105
API_TOKEN = "test-api-token-0123456789"  # noqa: S105


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(url, data=None, headers=None, method=None):
    """(status, headers, body) without following redirects."""
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("webapp")
    db_url = f"sqlite:///{work / 'escalations.db'}"
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "WEBAPP_PORT": str(port),
        "ESCALATION_DB_URL": db_url,
        "STAFF_USERS": f"nurse.kim:{hash_password(PASSWORD)}",
        "STAFF_API_TOKEN": API_TOKEN,
    }
    env.pop("ESCALATION_WEBHOOK_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "webapp"], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            call(base + "/staff/login")
            break
        except OSError:
            time.sleep(0.3)
    store = EscalationStore(db_url)
    yield base, store
    store.dispose()
    process.terminate()
    process.wait(timeout=20)


def new_case(store, urgency="routine"):
    return store.create(channel="rest", conversation_id="c", urgency=urgency, reason="request",
                        transcript=[{"speaker": "user", "text": "<b>can we swim?</b>"}],
                        parent_name="Alex <script>alert(1)</script>", contact="alex@example.com",
                        question="can we swim?", consent=True)


def login(base):
    status, headers, body = call(base + "/staff/login")
    assert status == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', body).group(1)
    cookie = SimpleCookie(headers["Set-Cookie"])
    login_cookie = cookie["staff_login_csrf"].value
    status, headers, _ = call(base + "/staff/login",
                              {"username": "nurse.kim", "password": PASSWORD, "csrf": csrf},
                              {"Cookie": f"staff_login_csrf={login_cookie}"})
    assert status == 302
    session = SimpleCookie(headers["Set-Cookie"])["staff_session"]
    assert session["httponly"] and session["secure"] and session["samesite"] == "Strict"
    return {"Cookie": f"staff_session={session.value}"}


def test_unauthenticated_requests_get_no_data(server):
    base, store = server
    case = new_case(store)
    status, headers, body = call(base + "/staff/")
    assert status == 302 and headers["Location"] == "/staff/login"
    status, _, body = call(base + f"/staff/escalations/{case.reference}")
    assert status == 302 and "alex@example.com" not in body
    status, _, body = call(base + "/api/escalations")
    assert status == 401 and "alex" not in body
    status, _, _ = call(base + "/api/escalations",
                        headers={"Authorization": "Bearer wrong-token"})
    assert status == 401


def test_wrong_password_and_missing_csrf_are_refused(server):
    base, _ = server
    status, headers, body = call(base + "/staff/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', body).group(1)
    cookie = SimpleCookie(headers["Set-Cookie"])["staff_login_csrf"].value
    status, _, body = call(base + "/staff/login",
                           {"username": "nurse.kim", "password": "wrong", "csrf": csrf},
                           {"Cookie": f"staff_login_csrf={cookie}"})
    assert status == 401 and "Wrong user name or password" in body
    status, _, _ = call(base + "/staff/login",
                        {"username": "nurse.kim", "password": PASSWORD, "csrf": "forged"},
                        {"Cookie": f"staff_login_csrf={cookie}"})
    assert status == 403


def test_inbox_lists_urgent_first_and_escapes_everything(server):
    base, store = server
    routine = new_case(store)
    urgent = new_case(store, urgency="urgent")
    session = login(base)
    status, _, body = call(base + "/staff/", headers=session)
    assert status == 200
    assert body.index(urgent.reference) < body.index(routine.reference)
    status, _, body = call(base + f"/staff/escalations/{routine.reference}", headers=session)
    assert status == 200
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    assert "&lt;b&gt;can we swim?&lt;/b&gt;" in body


def test_status_change_needs_csrf_and_is_audited(server):
    base, store = server
    case = new_case(store)
    session = login(base)
    _, _, page = call(base + f"/staff/escalations/{case.reference}", headers=session)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)

    url = base + f"/staff/escalations/{case.reference}/status"
    status, _, _ = call(url, {"status": "closed", "csrf": "forged"}, session)
    assert status == 403
    assert store.get(case.reference).status == "open"

    status, _, _ = call(url, {"status": "contacted", "csrf": csrf}, session)
    assert status == 302
    assert store.get(case.reference).status == "contacted"
    [created, changed] = store.audit(case.reference)
    assert (changed.actor, changed.change) == ("nurse.kim", "status open -> contacted")


def test_api_with_token(server):
    base, store = server
    case = new_case(store, urgency="urgent")
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    status, _, body = call(base + "/api/escalations", headers=auth)
    assert status == 200 and case.reference in body
    status, _, body = call(base + f"/api/escalations/{case.reference}/status",
                           b'{"status": "closed", "actor": "dr.lee"}',
                           {**auth, "Content-Type": "application/json"}, method="POST")
    assert status == 200
    assert store.get(case.reference).status == "closed"
    assert store.audit(case.reference)[-1].actor == "api:dr.lee"
    status, _, _ = call(base + f"/api/escalations/{case.reference}/status",
                        b'{"status": "deleted"}', {**auth, "Content-Type": "application/json"},
                        method="POST")
    assert status == 400


def test_api_names_cases_by_case_id_never_by_session_id(server):
    base, store = server
    session_id = "5f0c2a9e1b7d4c3a8e6f0b1d2c3a4e5f.0123456789abcdef0123456789abcdef"
    first = store.create(channel="socketio", conversation_id=session_id, urgency="routine",
                         reason="request", transcript=[], consent=True)
    second = store.create(channel="socketio", conversation_id=session_id, urgency="urgent",
                          reason="emergency", transcript=[])
    status, _, body = call(base + "/api/escalations",
                           headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert status == 200 and first.reference in body
    # The session id lets whoever holds it continue the widget conversation.
    assert session_id.split(".")[0] not in body and "conversation_id" not in body
    cases = {case["reference"]: case for case in json.loads(body)["escalations"]}
    # Cases of one conversation are still linked, by their case id.
    assert cases[first.reference]["case_id"] == cases[second.reference]["case_id"]


def test_logout_ends_the_session(server):
    base, _ = server
    session = login(base)
    _, _, page = call(base + "/staff/", headers=session)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    call(base + "/staff/logout", {"csrf": csrf}, session)
    status, _, _ = call(base + "/staff/", headers=session)
    assert status == 302
