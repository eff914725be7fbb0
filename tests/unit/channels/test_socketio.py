"""The widget's socket.io channel: origin, signed-session and size checks (handlers called
directly; the socket.io transport is replaced by a recorder)."""

import asyncio

import pytest

from channels.socketio import ClinicSocketIOInput, ClinicSocketIOOutput, SessionSigner
from clinic.widget_origins import allowed_origins

SITE = "http://127.0.0.1:8000"


class Recorder:
    """Stands in for the AsyncServer methods the handlers call."""

    def __init__(self):
        self.sessions, self.rooms, self.emitted = {}, [], []

    async def save_session(self, sid, session, namespace=None):
        self.sessions[sid] = session

    async def get_session(self, sid, namespace=None):
        return self.sessions.setdefault(sid, {})

    async def enter_room(self, sid, room, namespace=None):
        self.rooms.append((sid, room))

    async def leave_room(self, sid, room, namespace=None):
        self.rooms.remove((sid, room))

    async def emit(self, event, data=None, room=None, namespace=None):
        self.emitted.append((event, data, room))


@pytest.fixture
def channel(monkeypatch):
    monkeypatch.setenv("WEBAPP_HOST", "127.0.0.1")
    monkeypatch.setenv("WEBAPP_PORT", "8000")
    monkeypatch.setenv("WIDGET_ALLOWED_ORIGINS", "https://partner.example/")
    received = []

    async def on_new_message(message):
        received.append(message)

    channel = ClinicSocketIOInput.from_credentials({"session_persistence": True})
    channel.signer = SessionSigner(b"test secret")
    channel.blueprint(on_new_message)
    recorder = Recorder()
    for name in ("save_session", "get_session", "enter_room", "leave_room", "emit"):
        monkeypatch.setattr(channel.sio, name, getattr(recorder, name))
    handlers = channel.sio.handlers["/"]
    return channel, handlers, recorder, received


def test_allowed_origins_from_settings_webapp_and_environment():
    origins = allowed_origins("https://clinic.example", {
        "WEBAPP_HOST": "127.0.0.1", "WEBAPP_PORT": "8000",
        "WIDGET_ALLOWED_ORIGINS": " https://a.example/, ,https://b.example"})
    assert origins == ["http://127.0.0.1:8000", "https://a.example", "https://b.example",
                       "https://clinic.example"]


async def test_only_configured_origins_may_connect(channel, resources):
    channel_, handlers, _, _ = channel
    connect = handlers["connect"]
    assert await connect("s1", {"HTTP_ORIGIN": SITE})
    assert await connect("s2", {"HTTP_ORIGIN": "https://partner.example"})
    assert await connect("s3", {"HTTP_ORIGIN": resources.settings.website})
    assert not await connect("s4", {"HTTP_ORIGIN": "https://evil.example"})
    assert not await connect("s5", {"HTTP_ORIGIN": "http://127.0.0.1:8001"})
    assert not await connect("s6", {})  # no Origin: not a browser on the clinic's site
    # engine.io refuses the same origins at the handshake.
    assert channel_.sio.eio.cors_allowed_origins == sorted(channel_.origins)


def test_signed_session_ids():
    signer = SessionSigner(b"secret")
    issued = signer.issue()
    assert signer.verify(issued)
    assert issued != signer.issue()
    token, _, signature = issued.partition(".")
    assert not signer.verify(token)
    assert not signer.verify(f"{token}.{'0' * len(signature)}")
    assert not signer.verify("f" * 32 + "." + signature)
    assert not SessionSigner(b"other secret").verify(issued)
    for bad in (None, 42, "", "x" * 500, {"session_id": issued}):
        assert not signer.verify(bad)


def test_random_secret_when_none_is_configured(caplog):
    first = SessionSigner.from_environment({})
    assert "will not survive" in caplog.text
    assert not SessionSigner.from_environment({}).verify(first.issue())
    configured = SessionSigner.from_environment({"WIDGET_SESSION_SECRET": "s3cret"})
    assert SessionSigner.from_environment({"WIDGET_SESSION_SECRET": "s3cret"}).verify(
        configured.issue())


async def test_session_request_keeps_signed_ids_and_replaces_others(channel):
    channel_, handlers, recorder, _ = channel
    valid = channel_.signer.issue()
    await handlers["session_request"]("s1", {"session_id": valid})
    assert recorder.emitted[-1] == ("session_confirm", valid, "s1")
    assert ("s1", valid) in recorder.rooms

    for forged in ("someone-elses-id", valid.split(".")[0], None, 7):
        await handlers["session_request"]("s2", {"session_id": forged})
        fresh = recorder.emitted[-1][1]
        assert fresh != valid and channel_.signer.verify(fresh)
    await handlers["session_request"]("s3", "not a dict")
    assert channel_.signer.verify(recorder.emitted[-1][1])


async def test_start_again_ends_the_session_for_good(channel):
    """The widget's "Start again": a new id for the socket; the old one is never confirmed again."""
    channel_, handlers, recorder, received = channel
    old = channel_.signer.issue()
    await handlers["session_request"]("s1", {"session_id": old})
    await handlers["session_end"]("s1", {"session_id": channel_.signer.issue()})  # not its own
    assert recorder.emitted[-1][1] == old

    await handlers["session_end"]("s1", {"session_id": old})
    new = recorder.emitted[-1][1]
    assert recorder.emitted[-1][0] == "session_confirm" and new != old
    assert ("s1", old) not in recorder.rooms and ("s1", new) in recorder.rooms
    await handlers["user_uttered"]("s1", {"message": "hi", "session_id": old})
    assert received == []
    await handlers["session_request"]("s2", {"session_id": old})
    assert recorder.emitted[-1][1] not in (old, new)


async def test_messages_go_to_the_sockets_own_session_only(channel):
    channel_, handlers, recorder, received = channel
    mine, other = channel_.signer.issue(), channel_.signer.issue()
    await handlers["session_request"]("s1", {"session_id": mine})
    await handlers["user_uttered"]("s1", {"message": "does it hurt?", "session_id": mine,
                                          "metadata": {"admin": True}})
    [message] = received
    assert message.sender_id == mine and message.text == "does it hurt?"
    assert message.input_channel == "socketio"
    assert not message.metadata
    assert isinstance(message.output_channel, ClinicSocketIOOutput)

    await handlers["user_uttered"]("s1", {"message": "hi", "session_id": other})
    await handlers["user_uttered"]("s9", {"message": "hi", "session_id": mine})  # no session
    await handlers["user_uttered"]("s1", "not a dict")
    assert len(received) == 1


async def test_over_long_messages_get_the_vetted_reply(channel, resources):
    channel_, handlers, recorder, received = channel
    session = channel_.signer.issue()
    await handlers["session_request"]("s1", {"session_id": session})
    await handlers["user_uttered"]("s1", {"message": "a" * 1001, "session_id": session})
    assert received == []
    # Sent by the reply guard through the session's room (every tab of the conversation).
    assert recorder.emitted[-1] == (
        "bot_uttered", {"text": resources.message("message_too_long")}, session)
    assert resources.settings.emergency_number in resources.message("message_too_long")
    await handlers["user_uttered"]("s1", {"message": "a" * 1000, "session_id": session})
    await handlers["user_uttered"]("s1", {"message": None, "session_id": session})
    assert [m.text for m in received] == ["a" * 1000, ""]


async def test_output_passes_on_the_message_markers():
    sent = []

    class Sio:
        async def emit(self, event, data, room=None):
            sent.append((event, data, room))

    output = ClinicSocketIOOutput(Sio(), "bot_uttered")
    await output.send_response("room1", {"text": "Answer", "kind": "answer",
                                         "answer_id": "pain", "timestamp": 1})
    await output.send_response("room1", {"text": "Pick", "buttons": [
        {"title": "Pain", "payload": "/ask_pain"}], "kind": None})
    assert sent == [
        ("bot_uttered", {"text": "Answer", "kind": "answer", "answer_id": "pain"}, "room1"),
        ("bot_uttered", {"text": "Pick", "quick_replies": [
            {"content_type": "text", "title": "Pain", "payload": "/ask_pain"}]}, "room1"),
    ]


async def test_a_connection_flooding_messages_is_asked_to_slow_down(
    channel, resources, monkeypatch, escalation_store
):
    monkeypatch.setenv("MESSAGE_RATE_LIMIT", "3")
    channel_, handlers, recorder, received = channel
    channel_.blueprint(received.append)  # limits read when the channel is set up
    for name in ("save_session", "get_session", "enter_room", "leave_room", "emit"):
        monkeypatch.setattr(channel_.sio, name, getattr(recorder, name))
    handlers = channel_.sio.handlers["/"]
    mine, other = channel_.signer.issue(), channel_.signer.issue()
    await handlers["session_request"]("s1", {"session_id": mine})
    # Messages for other conversations count against the connection too (ignored as before).
    for _ in range(3):
        await handlers["user_uttered"]("s1", {"message": "hi", "session_id": other})
    await handlers["user_uttered"]("s1", {"message": "does it hurt?", "session_id": mine})
    assert received == []
    assert recorder.emitted[-1] == (
        "bot_uttered", {"text": resources.message("message_rate_limited")}, mine)
    await handlers["user_uttered"]("s1", {"message": "he can't breathe since the injection",
                                          "session_id": mine})
    assert recorder.emitted[-1][1]["text"] == resources.message("emergency")
    assert recorder.emitted[-1][1]["kind"] == "emergency"
    await asyncio.wait_for(asyncio.wait(set(channel_.guarded.background)), 10)
    assert [case.urgency for case in escalation_store.list()] == ["urgent"]
    # Another connection has its own allowance; a closed one is forgotten.
    await handlers["session_request"]("s2", {"session_id": other})
    await handlers["user_uttered"]("s2", {"message": "does it hurt?", "session_id": other})
    assert [m.text for m in received] == ["does it hurt?"]
    await handlers["disconnect"]("s1")
