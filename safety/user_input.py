r"""What a parent types, made safe before Rasa sees it (every channel uses these helpers).

Two problems are handled here rather than in each channel:

* text that cannot be stored or processed: lone UTF-16 surrogates (valid JSON escapes such as
  ``\ud800`` that UTF-8 cannot encode: spaCy and the tracker store fail on them), NUL and other
  control characters (PostgreSQL refuses NUL), and very long messages;
* Rasa's ``/intent{"entity": "value"}`` shortcut. Rasa treats any message starting with "/" as
  an already-classified intent with entities and skips the classifier's verdict, so a typed
  ``/greet{"a": 1} he can't breathe`` would be a greeting, not an emergency. Only the bare form
  ``/intent`` is kept: it is what the assistant's own buttons send, and it carries no text
  and no entities. Everything else starting with "/" loses its slashes and is read as text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Optional

#: Longer messages are cut: no question to this assistant needs more, and the NLU pipeline's
#: cost grows with the length.
MAX_MESSAGE_CHARS = 5000
#: Rasa's SQL tracker store keeps the conversation id in a VARCHAR(255).
MAX_SENDER_CHARS = 255

_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 controls except tab/newline/carriage return, DEL, and C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: What the assistant's buttons send: a slash and an intent name, nothing else.
_BUTTON_PAYLOAD = re.compile(r"^/[A-Za-z_][A-Za-z0-9_]*$")
_LEADING_SLASHES = re.compile(r"^[\s/]+")


def clean_text(value: Any) -> str:
    """A message text that every component and store can handle (never raises).

    Lone surrogates become U+FFFD, control characters become spaces, the text is cut to
    `MAX_MESSAGE_CHARS`. Non-strings become "" (the channel decides whether to refuse them).
    """
    if not isinstance(value, str):
        return ""
    text = _SURROGATES.sub("\ufffd", value)
    text = _CONTROLS.sub(" ", text)
    return text[:MAX_MESSAGE_CHARS]


def clean_sender(value: Any) -> Optional[str]:
    """A usable conversation id, or None when `value` cannot be one."""
    if not isinstance(value, str):
        return None
    sender = value.strip()
    if not sender or len(sender) > MAX_SENDER_CHARS:
        return None
    if _SURROGATES.search(sender) or any(
        unicodedata.category(ch) in ("Cc", "Cs") for ch in sender
    ):
        return None
    return sender


def is_button_payload(text: str) -> bool:
    """Whether `text` is exactly `/intent_name`, the only slash form the assistant sends."""
    return bool(_BUTTON_PAYLOAD.match(text.strip()))


def neutralise_typed_intent(text: str) -> str:
    """`text` without Rasa's intent shortcut, unless it is a bare button payload.

    `/request_human{"parent_name": "x"}` becomes `request_human{"parent_name": "x"}`, which the
    classifier and the red-flag rules read like any other text; `/affirm` stays `/affirm`.
    """
    if not text.lstrip().startswith("/") or is_button_payload(text):
        return text
    return _LEADING_SLASHES.sub("", text)
