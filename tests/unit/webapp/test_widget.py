"""The widget routes and POST /api/feedback, on the real app served in-process."""

import itertools
import json

import pytest

from feedback.store import FeedbackStore, answer_feedback
from tests.unit.webapp.conftest import store_fixtures
from webapp.widget import (
    FEEDBACK_VOTES,
    cors_headers,
    parse_feedback,
    rasa_server_url,
    widget_links,
)

SITE = "http://127.0.0.1:8000"
KEY = "0123456789abcdef0123456789abcdef"
_ADDRESSES = (f"198.51.100.{n}" for n in itertools.count(1))

# On the async tests only: on a plain test pytest-asyncio warns (PytestWarning).
in_package_loop = pytest.mark.asyncio(loop_scope="package")


running, server = store_fixtures(FeedbackStore, answer_feedback)


async def post(client, body, origin=SITE, address=None):
    """POSTs a vote; each call from its own client address unless `address` is given."""
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {"Content-Type": "application/json", **({"Origin": origin} if origin else {}),
               "X-Forwarded-For": address or next(_ADDRESSES)}
    async with client.post("/api/feedback", data=data, headers=headers) as resp:
        return resp.status, resp.headers, await resp.text()


def vote(answer_id, helpful, key=KEY):
    return {"answer_id": answer_id, "helpful": helpful, "vote_key": key}


@in_package_loop
async def test_feedback_is_stored_per_answer(server):
    client, store = server
    status, headers, _ = await post(client, vote("pain", True))
    assert status == 201
    assert headers["Access-Control-Allow-Origin"] == SITE
    assert (await post(client, vote("pain", False, "b" * 32),
                       origin="https://partner.example"))[0] == 201
    assert (await post(client, vote("pain", False, "c" * 32)))[0] == 201
    [row] = store.counts()
    assert (row.answer_id, row.helpful, row.unhelpful) == ("pain", 1, 2)


@in_package_loop
async def test_one_vote_per_answer_per_conversation_a_changed_mind_replaces_it(server):
    client, store = server
    for helpful in (True, True, True, False):
        assert (await post(client, vote("pain", helpful)))[0] == 201
    assert (await post(client, vote("side_effects", True)))[0] == 201
    assert [(r.answer_id, r.helpful, r.unhelpful) for r in store.counts()] == [
        ("pain", 0, 1), ("side_effects", 1, 0)]


@in_package_loop
async def test_feedback_without_an_allowed_origin_is_refused(server):
    client, store = server
    for origin in (None, "https://evil.example", "null"):
        status, headers, _ = await post(client, vote("pain", True), origin=origin)
        assert status == 403 and "Access-Control-Allow-Origin" not in headers, origin
    assert store.counts() == []


@in_package_loop
async def test_feedback_is_rate_limited_per_client_address(server):
    client, store = server
    statuses = [(await post(client, vote("pain", True, f"{n:032x}"), address="203.0.113.7"))[0]
                for n in range(FEEDBACK_VOTES + 3)]
    assert statuses == [201] * FEEDBACK_VOTES + [429] * 3
    # Another client is not affected.
    assert (await post(client, vote("pain", False), address="203.0.113.8"))[0] == 201
    [row] = store.counts()
    assert (row.helpful, row.unhelpful) == (FEEDBACK_VOTES, 1)


@pytest.mark.parametrize("body", [
    vote("no_such_answer", True),
    vote("pain", "yes"),
    vote("pain", 1),
    {"answer_id": "pain", "vote_key": KEY},
    {"answer_id": "pain", "helpful": True},
    {"answer_id": "pain", "helpful": True, "vote_key": KEY, "session": "x"},
    vote("pain", True, "short"),
    vote("pain", True, "x" * 65),
    vote("pain", True, "<script>alert(1)</script>12345"),
    vote("pain", True, 12345678901234567890),
    ["pain", True],
    "not json",
])
@in_package_loop
async def test_invalid_feedback_is_refused(server, body):
    client, store = server
    status, _, text = await post(client, body)
    assert status == 400
    assert "answer_id" in text
    assert store.counts() == []


@in_package_loop
async def test_oversized_feedback_is_refused(server):
    client, store = server
    big = json.dumps({**vote("pain", True), "x": "a" * 1000})
    assert (await post(client, big))[0] == 413
    assert store.counts() == []


@in_package_loop
async def test_preflight_only_for_allowed_origins(server):
    client, _ = server
    async with client.options("/api/feedback", headers={
            "Origin": SITE, "Access-Control-Request-Method": "POST"}) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == SITE
    async with client.options("/api/feedback", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}) as resp:
        assert resp.status == 403


@in_package_loop
async def test_demo_page_embeds_the_widget_with_one_script_tag(server, resources):
    client, _ = server
    async with client.get("/") as resp:
        html = await resp.text()
        assert "connect-src 'self'" in resp.headers["Content-Security-Policy"]
    assert html.count('<script src="/widget/widget.js"') == 1
    async with client.get("/widget/widget.js") as resp:
        code = await resp.text()
    assert "__WIDGET_TEXTS__" not in code and "__WIDGET_LINKS__" not in code
    assert json.dumps(resources.message("widget_helpful")) in code
    assert "innerHTML" not in code
    async with client.get("/widget/vendor/socket.io.min.js") as resp:
        assert resp.status == 200
        assert "socket.io" in (await resp.text())[:200].lower()


def test_only_clinic_numbers_and_content_source_urls_become_links(resources):
    links = widget_links()
    settings = resources.settings
    assert set(links["phones"]) == {settings.phone, settings.urgent_phone,
                                    settings.emergency_number}
    assert "https://www.nice.org.uk/guidance/cg145" in links["urls"]
    content = resources.content
    entries = [*content.answers.values(), *content.variants.values(), *content.messages.values()]
    sources = " ".join(entry.source for entry in entries)
    assert all(url in sources for url in links["urls"])
    assert all(not url.endswith((")", ",", ";", ".")) for url in links["urls"])


def test_parse_feedback_and_cors_helpers():
    assert parse_feedback(vote("pain", False), {"pain"}) == ("pain", False, KEY)
    assert parse_feedback(vote("pain", None), {"pain"}) is None
    assert cors_headers("https://evil.example", {SITE}) == {}
    assert cors_headers(None, {SITE}) == {}
    assert rasa_server_url({"RASA_HOST": "127.0.0.1", "RASA_PORT": "5999"}) == (
        "http://127.0.0.1:5999")
    assert rasa_server_url({"WIDGET_SERVER_URL": "https://chat.example"}) == (
        "https://chat.example")
