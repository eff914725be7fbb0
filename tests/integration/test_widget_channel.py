"""The widget's socket.io channel on the real Rasa server: origins, session isolation, size."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from clinic.resources import get_resources
from local.services import RunningServices

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services(shared_services) -> RunningServices:
    # The session's services (tests/conftest.py): they allow https://partner.example too.
    assert "https://partner.example" in shared_services.env["WIDGET_ALLOWED_ORIGINS"]
    return shared_services


class Widget:
    """A socket.io client as the widget uses it (polling: aiohttp here lacks the WS API)."""

    def __init__(self, services: RunningServices, origin: str) -> None:
        self.services, self.origin = services, origin
        self.client = socketio.AsyncClient()
        self.replies: list = []
        self.session: asyncio.Future = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", self._confirm)
        self.client.on("bot_uttered", self._reply)

    async def _confirm(self, session_id):
        if not self.session.done():
            self.session.set_result(session_id)

    async def _reply(self, message):
        self.replies.append(message)

    async def open(self, session_id=None) -> str:
        await self.client.connect(self.services.rasa_url, headers={"Origin": self.origin},
                                  transports=["polling"])
        await self.client.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.session, 15)

    async def say(self, text, session_id, count=1, timeout=30.0):
        start = len(self.replies)
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.replies) - start < count and loop.time() < deadline:
            await asyncio.sleep(0.1)
        return self.replies[start:]


def site(services):
    return f"http://127.0.0.1:{services.env['WEBAPP_PORT']}"


async def test_foreign_origin_is_refused(services):
    for origin in ("https://evil.example", None):
        widget = Widget(services, origin or "")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await widget.client.connect(
                services.rasa_url, transports=["polling"],
                headers={"Origin": origin} if origin else {})
        await widget.client.disconnect()
    partner = Widget(services, "https://partner.example")
    assert await partner.open()
    await partner.client.disconnect()


async def test_forged_session_id_cannot_join_another_session(services):
    resources = get_resources()
    alice = Widget(services, site(services))
    alice_session = await alice.open()
    await alice.say("does it hurt?", alice_session, count=3)

    mallory = Widget(services, site(services))
    unsigned = alice_session.split(".")[0]
    mallory_session = await mallory.open(unsigned)
    assert mallory_session != alice_session
    # A message naming Alice's session is ignored; Mallory's own session is a new conversation.
    assert await mallory.say("hello", alice_session, timeout=3) == []
    replies = await mallory.say("does it hurt?", mallory_session, count=3)
    assert replies[-1]["text"] == resources.message("disclaimer")  # first answer: disclaimer
    assert len(alice.replies) == 3  # Alice saw nothing of Mallory's conversation
    # Alice's reconnect with her signed id continues her conversation (no second disclaimer).
    again = Widget(services, site(services))
    assert await again.open(alice_session) == alice_session
    replies = await again.say("does it hurt?", alice_session, count=2)
    assert [r.get("kind") for r in replies[:2]] == ["answer", "source"]
    await asyncio.sleep(1)
    assert resources.message("disclaimer") not in [r["text"] for r in again.replies]
    for client in (alice, mallory, again):
        await client.client.disconnect()


async def test_over_long_message_gets_a_polite_reply(services):
    widget = Widget(services, site(services))
    session = await widget.open()
    replies = await widget.say("x" * 5000, session)
    assert replies == [{"text": get_resources().message("message_too_long")}]
    await widget.client.disconnect()
