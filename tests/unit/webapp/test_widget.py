"""The widget routes and POST /api/feedback, on the real app served in-process."""

import json

import pytest

from clinic.feedback_store import FeedbackStore, answer_feedback
from webapp.widget import cors_headers, parse_feedback, rasa_server_url

SITE = "http://127.0.0.1:8000"

pytestmark = pytest.mark.asyncio(loop_scope="package")


@pytest.fixture(scope="module")
def running(webapp):
    """The package's web app (tests/unit/webapp/conftest.py) and its feedback store."""
    client, url = webapp
    store = FeedbackStore(url)
    yield client, store
    store.dispose()


@pytest.fixture
def server(running):
    """The module's server, with an empty feedback table."""
    client, store = running
    with store.engine.begin() as connection:
        connection.execute(answer_feedback.delete())
    return client, store


async def post(client, body, origin=SITE):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {"Content-Type": "application/json", **({"Origin": origin} if origin else {})}
    async with client.post("/api/feedback", data=data, headers=headers) as resp:
        return resp.status, resp.headers, await resp.text()


async def test_feedback_is_stored_per_answer(server):
    client, store = server
    status, headers, _ = await post(client, {"answer_id": "pain", "helpful": True})
    assert status == 201
    assert headers["Access-Control-Allow-Origin"] == SITE
    assert (await post(client, {"answer_id": "pain", "helpful": False},
                       origin="https://partner.example"))[0] == 201
    assert (await post(client, {"answer_id": "pain", "helpful": False}, origin=None))[0] == 201
    [row] = store.counts()
    assert (row.answer_id, row.helpful, row.unhelpful) == ("pain", 1, 2)


@pytest.mark.parametrize("body", [
    {"answer_id": "no_such_answer", "helpful": True},
    {"answer_id": "pain", "helpful": "yes"},
    {"answer_id": "pain", "helpful": 1},
    {"answer_id": "pain"},
    {"answer_id": "pain", "helpful": True, "session": "x"},
    ["pain", True],
    "not json",
])
async def test_invalid_feedback_is_refused(server, body):
    client, store = server
    status, _, text = await post(client, body)
    assert status == 400
    assert "answer_id" in text
    assert store.counts() == []


async def test_oversized_feedback_and_foreign_origins_are_refused(server):
    client, store = server
    big = json.dumps({"answer_id": "pain", "helpful": True, "x": "a" * 1000})
    assert (await post(client, big))[0] == 413
    status, headers, _ = await post(client, {"answer_id": "pain", "helpful": True},
                                    origin="https://evil.example")
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    assert store.counts() == []


async def test_preflight_only_for_allowed_origins(server):
    client, _ = server
    async with client.options("/api/feedback", headers={
            "Origin": SITE, "Access-Control-Request-Method": "POST"}) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == SITE
    async with client.options("/api/feedback", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}) as resp:
        assert resp.status == 403


async def test_demo_page_embeds_the_widget_with_one_script_tag(server, resources):
    client, _ = server
    async with client.get("/") as resp:
        html = await resp.text()
        assert "connect-src 'self'" in resp.headers["Content-Security-Policy"]
    assert html.count('<script src="/widget/widget.js"') == 1
    async with client.get("/widget/widget.js") as resp:
        code = await resp.text()
    assert "__WIDGET_TEXTS__" not in code
    assert json.dumps(resources.message("widget_helpful")) in code
    assert "innerHTML" not in code
    async with client.get("/widget/vendor/socket.io.min.js") as resp:
        assert resp.status == 200
        assert "socket.io" in (await resp.text())[:200].lower()


def test_parse_feedback_and_cors_helpers():
    assert parse_feedback({"answer_id": "pain", "helpful": False}, {"pain"}) == ("pain", False)
    assert parse_feedback({"answer_id": "pain", "helpful": None}, {"pain"}) is None
    assert cors_headers("https://evil.example", {SITE}) == {}
    assert cors_headers(None, {SITE}) == {}
    assert rasa_server_url({"RASA_HOST": "127.0.0.1", "RASA_PORT": "5999"}) == (
        "http://127.0.0.1:5999")
    assert rasa_server_url({"WIDGET_SERVER_URL": "https://chat.example"}) == (
        "https://chat.example")
