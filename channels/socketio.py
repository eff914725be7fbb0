"""The web widget's socket.io channel: Rasa's SocketIOInput with the checks a public site needs.

Rasa's own channel accepts any origin (its AsyncServer is created with
`cors_allowed_origins=[]`), lets a client pick any session id (so one browser can join another's
conversation) and passes messages of any size to the NLU pipeline. This subclass:

- accepts connections only from the clinic's origins (`allowed_origins`);
- issues session ids signed with an HMAC secret and replaces any id without a valid signature,
  and takes the conversation id of a message from the socket's confirmed session, never from
  the message itself;
- ends a session on the widget's "Start again" (`session_end`): the socket gets a new id and
  the old id is refused from then on (by this process), so the old conversation cannot be
  resumed from a shared device;
- wraps the handler in the reply guard (channels/reply_guard.py) like every project channel:
  messages over the size limit get a vetted "please send a shorter message" text (or the
  emergency message, if they carry emergency signs) and are not parsed, and a turn that produced
  nothing gets the apology with the clinic's number;
- limits the messages of each connection (the reply guard's rate, MESSAGE_RATE_LIMIT per
  MESSAGE_RATE_WINDOW_SECONDS): once a connection is open, nginx's request limit no longer
  sees its messages. Messages over the limit get "please slow down" (or the emergency message).

Bot messages carry the `kind` and `answer_id` the actions attach, so the widget can style the
emergency message and ask "Was this helpful?" after an answer.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import os
import secrets
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Set, Text

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint
from socketio import AsyncServer

from channels.reply_guard import GuardedHandler, guard_replies, message_rate_limit
from channels.webhook import CredentialedInput, with_health_route
from clinic.widget_origins import allowed_origins
from safety.rate_limit import WindowLimit

logger = logging.getLogger(__name__)

SESSION_SECRET_ENV = "WIDGET_SESSION_SECRET"  # noqa: S105 (the variable's name)
#: Bot-message fields (set by the actions) passed on to the widget.
MESSAGE_MARKERS = ("kind", "answer_id")
_TOKEN_BYTES = 16
_SIGNATURE_CHARS = 32


class SessionSigner:
    """Issues and checks session ids of the form `<random hex>.<HMAC-SHA256 prefix>`."""

    def __init__(self, secret: bytes) -> None:
        """Signs with `secret` (keep it the same across restarts to keep sessions)."""
        self._secret = secret
        self._ended: Set[str] = set()

    def end(self, session_id: str) -> None:
        """Refuses `session_id` from now on ("Start again" in the widget)."""
        self._ended.add(session_id)

    @classmethod
    def from_environment(cls, environ: Optional[Mapping[str, str]] = None) -> SessionSigner:
        """Uses WIDGET_SESSION_SECRET, or a random secret (sessions end with the process)."""
        env = os.environ if environ is None else environ
        secret = env.get(SESSION_SECRET_ENV, "")
        if not secret:
            logger.warning(
                "%s is not set: using a random secret, so widget sessions will not survive "
                "a restart of the Rasa server", SESSION_SECRET_ENV,
            )
            return cls(secrets.token_bytes(32))
        return cls(secret.encode())

    def _signature(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()[
            :_SIGNATURE_CHARS
        ]

    def issue(self) -> str:
        """A fresh, unguessable, signed session id."""
        token = secrets.token_hex(_TOKEN_BYTES)
        return f"{token}.{self._signature(token)}"

    def verify(self, session_id: Any) -> bool:
        """Whether `session_id` was issued with this secret."""
        if not isinstance(session_id, str) or len(session_id) > 2 * _TOKEN_BYTES + 1 + 64:
            return False
        if session_id in self._ended:
            return False
        token, _, signature = session_id.partition(".")
        if len(token) != 2 * _TOKEN_BYTES or not signature:
            return False
        return hmac.compare_digest(signature, self._signature(token))


class ClinicSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, passing on the message markers (`kind`, `answer_id`)."""

    @staticmethod
    def _markers(kwargs: Mapping[str, Any]) -> Dict[str, Any]:
        return {key: kwargs[key] for key in MESSAGE_MARKERS if kwargs.get(key)}

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Sends each paragraph of `text` with the markers."""
        for part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, {"text": part, **self._markers(kwargs)})

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Sends the text with the buttons as quick replies (on the last paragraph)."""
        parts = text.strip().split("\n\n") or [text]
        messages: List[Dict[str, Any]] = [
            {"text": part, "quick_replies": [], **self._markers(kwargs)} for part in parts
        ]
        messages[-1]["quick_replies"] = [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]}
            for b in buttons
        ]
        for message in messages:
            await self._send_message(recipient_id, message)


class ClinicSocketIOInput(CredentialedInput, SocketIOInput):
    """Socket.io channel for the clinic's web widget (see the module docstring)."""

    #: The `socketio:`-style entry of credentials.yml (all optional, Rasa's defaults).
    optional_credentials = {
        key: (key, default) for key, default in (
            ("user_message_evt", "user_uttered"), ("bot_message_evt", "bot_uttered"),
            ("namespace", None), ("session_persistence", True),
            ("socketio_path", "/socket.io"))
    }

    @classmethod
    def name(cls) -> Text:
        """Same name as Rasa's channel: trackers and escalations say `socketio`."""
        return "socketio"

    origins: Iterable[str] = ()
    signer: Optional[SessionSigner] = None
    guarded: Optional[GuardedHandler] = None

    def get_output_channel(self) -> Optional[OutputChannel]:
        """The output channel for messages sent outside a conversation turn."""
        if self.sio is None:
            return super().get_output_channel()
        return ClinicSocketIOOutput(self.sio, self.bot_message_evt)

    def origin_allowed(self, origin: Optional[str]) -> bool:
        """Whether a connection from `origin` may open a session (no Origin: refused)."""
        return origin is not None and origin != "" and origin in self.origins

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The socket.io server with origin, session and size checks."""
        self.guarded = guard_replies(on_new_message)
        from clinic.resources import get_resources

        self.origins = frozenset(allowed_origins(get_resources().settings.website))
        self.signer = self.signer or SessionSigner.from_environment()
        logger.info("widget origins allowed: %s", ", ".join(sorted(self.origins)))
        # engine.io refuses other origins at the handshake; `connect` checks again (and
        # refuses clients that send no Origin at all, which engine.io lets through).
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=sorted(self.origins))
        socketio_webhook = with_health_route(
            SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__))
        self.sio = sio
        _WidgetEvents(self, sio, self.signer, self.guarded, message_rate_limit()).register()
        return socketio_webhook


class _WidgetEvents:
    """The socket.io event handlers of one widget server (connect, sessions, messages)."""

    def __init__(self, channel: ClinicSocketIOInput, sio: AsyncServer, signer: SessionSigner,
                 guarded: GuardedHandler, connection_limit: WindowLimit) -> None:
        """Handles the events of `sio` for `channel`, limiting each connection's messages."""
        self.channel = channel
        self.sio = sio
        self.namespace = channel.namespace
        self.signer = signer
        self.guarded = guarded
        self.connection_limit = connection_limit

    def register(self) -> None:
        """Registers the handlers on the server, under the channel's event names."""
        for event, handler in (
            ("connect", self.connect), ("disconnect", self.disconnect),
            ("session_request", self.session_request), ("session_end", self.session_end),
            (self.channel.user_message_evt, self.handle_message),
        ):
            self.sio.on(event, namespace=self.namespace)(handler)

    async def connect(self, sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
        """Accepts a connection only from an allowed origin."""
        origin = environ.get("HTTP_ORIGIN")
        if not self.channel.origin_allowed(origin):
            logger.warning("widget connection refused: origin %r not allowed", origin)
            return False
        return True

    async def disconnect(self, sid: Text) -> None:
        """Forgets the connection's message count."""
        self.connection_limit.forget(sid)

    async def confirm(self, sid: Text, session_id: str) -> None:
        """Binds the socket to `session_id` and tells the widget."""
        sio, namespace = self.sio, self.namespace
        await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)
        if self.channel.session_persistence:
            # A coroutine in python-socketio >= 5.12 (Rasa's own channel forgets to await it).
            joined = sio.enter_room(sid, session_id, namespace=namespace)
            if inspect.isawaitable(joined):
                await joined
        await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

    async def session_request(self, sid: Text, data: Any) -> None:
        """Confirms the requested session if its signature is valid, else a new one."""
        requested = data.get("session_id") if isinstance(data, dict) else None
        if self.signer.verify(requested):
            session_id = str(requested)
        else:
            if requested:
                logger.warning("widget session id not valid (or ended): new session")
            session_id = self.signer.issue()
        await self.confirm(sid, session_id)

    async def session_end(self, sid: Text, data: Any) -> None:
        """The widget's "Start again": refuses this session id from now on, confirms a new one."""
        session = await self.sio.get_session(sid, namespace=self.namespace)
        old = session.get("session_id")
        requested = data.get("session_id") if isinstance(data, dict) else None
        if not old or requested != old:
            logger.warning("widget session_end for another session id: ignored")
            return
        self.signer.end(old)
        if self.channel.session_persistence:
            left = self.sio.leave_room(sid, old, namespace=self.namespace)
            if inspect.isawaitable(left):
                await left
        await self.confirm(sid, self.signer.issue())

    async def handle_message(self, sid: Text, data: Any) -> None:
        """Passes a message of the socket's confirmed session to the guarded handler."""
        channel = self.channel
        # Every message event counts, also those ignored below.
        allowed = self.connection_limit.take(sid)
        session = await self.sio.get_session(sid, namespace=self.namespace)
        session_id = session.get("session_id")
        if not session_id or not isinstance(data, dict):
            logger.warning("widget message before session_request: ignored")
            return
        if channel.session_persistence and data.get("session_id") != session_id:
            # The conversation is the one this socket was confirmed for, never another.
            logger.warning("widget message for another session id: ignored")
            return
        text = data.get("message")
        text = text if isinstance(text, str) else ""
        output = ClinicSocketIOOutput(self.sio, channel.bot_message_evt)
        # Client metadata is not passed on: nothing in the conversation may depend on it.
        message = UserMessage(
            text, output, session_id if channel.session_persistence else sid,
            input_channel=channel.name(),
        )
        if not allowed:
            logger.warning("widget message over the connection's rate limit not processed")
            await self.guarded.answer_throttled(message)
            return
        await self.guarded(message)
