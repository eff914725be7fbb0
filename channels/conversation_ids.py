"""Conversation ids: each channel stores its conversations in a namespace no other can address.

A conversation id is what Rasa stores and locks a conversation under; whoever can send a
message under it joins the conversation (sees that it exists, fills its open form, restarts it).
So no channel may let a client choose an id that another channel uses:

- messaging apps (WhatsApp, Telegram, Messenger): `<channel>-<32 hex>`, a keyed hash (HMAC-SHA256
  with the app's secret) of the app's own id for the parent (phone number, chat id, page-scoped
  user id). The raw id is never stored or logged, and without the secret nobody can compute the
  conversation id of a known phone number or chat id;
- REST: `rest:<sender>`, whatever the client sends, so it never equals another channel's id;
- the web widget (socket.io): `<32 hex>.<32 hex>` session ids signed by the server
  (channels/socketio.py); they have no `rest:` prefix, so REST cannot name them either.

Replies still go to the parent's real address: `ToRecipient` hands the output channel the app's
own id while the tracker keeps the namespaced one.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Dict, Text

from rasa.core.channels.channel import OutputChannel

REST_PREFIX = "rest:"
_DIGEST_CHARS = 32


def keyed_conversation_id(channel: str, secret: str, app_id: str) -> str:
    """`<channel>-<HMAC-SHA256(secret, app_id) prefix>`: stable, and hides `app_id`."""
    digest = hmac.new(secret.encode(), app_id.encode(), hashlib.sha256).hexdigest()
    return f"{channel}-{digest[:_DIGEST_CHARS]}"


def rest_conversation_id(sender: str) -> str:
    """The conversation id of a REST client's `sender`."""
    return f"{REST_PREFIX}{sender}"


class ToRecipient(OutputChannel):
    """Sends through `inner` to the app's own id for the parent, whatever id Rasa passes.

    Rasa passes the conversation id (the tracker's sender id) as the recipient; for the
    messaging apps that is a hash, which their APIs cannot deliver to.
    """

    def __init__(self, inner: OutputChannel, recipient_id: Text) -> None:
        self.inner = inner
        self.recipient_id = recipient_id

    def name(self) -> Text:
        """The wrapped channel's name (Rasa picks channel-specific responses by it)."""
        return self.inner.name()

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        """Sends `message` to the real recipient."""
        await self.inner.send_response(self.recipient_id, message)

    def __getattr__(self, attribute: str) -> Any:
        # Channel-specific attributes of the wrapped channel.
        if attribute == "inner":
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)
