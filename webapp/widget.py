"""The web chat widget: demo clinic page, the one-script-tag widget and its feedback endpoint.

A clinic embeds the widget with one tag (see docs/widget.md):

    <script src="http://127.0.0.1:8000/widget/widget.js" data-server-url="http://127.0.0.1:5005"
            defer></script>

The widget talks to Rasa's socket.io channel (channels/socketio.py) and posts "Was this
helpful?" votes to POST /api/feedback here: only from the clinic's origins, a limited number per
client address, one per answer per conversation (the widget's random vote key, never its
session id). Its labels are vetted texts (content/messages.yml,
`widget_*`), put into widget.js when it is served; socket.io-client is served from node_modules
(installed by `npm ci`), nothing from a CDN.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any, Dict, Iterable, Optional, Tuple

from sanic import Blueprint, Request, Sanic, response
from sanic.response import HTTPResponse

from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources
from clinic.widget_origins import allowed_origins
from webapp.rate_limit import WindowLimit, client_address

widget = Blueprint("widget")

STATIC_DIR = PROJECT_ROOT / "webapp" / "static"
SOCKET_IO_CLIENT = PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
#: The Rasa server the demo page's widget connects to (default http://RASA_HOST:RASA_PORT).
SERVER_URL_ENV = "WIDGET_SERVER_URL"
#: A feedback request is two small fields; anything bigger is refused unread.
MAX_FEEDBACK_BYTES = 512
#: Votes per client address per window: a parent votes once per answer, a few per conversation.
FEEDBACK_VOTES = 30
FEEDBACK_WINDOW_SECONDS = 10 * 60
#: The widget's vote key: 32 random hex digits; a little leeway for other clients.
VOTE_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: Texts the widget shows itself (labels and controls), all vetted in content/messages.yml.
WIDGET_TEXTS = ("widget_open", "widget_title", "widget_close", "widget_input_label",
                "widget_send", "widget_typing", "widget_helpful", "widget_helpful_yes",
                "widget_helpful_no", "widget_helpful_thanks", "widget_offline", "widget_notice",
                "widget_reconnecting", "widget_queued", "widget_retry", "widget_start_again",
                "widget_chars_left", "widget_too_long", "widget_not_helpful", "widget_ask_again",
                "widget_ask_clinician")
#: Source URLs: written in the content file's `source` fields, in parentheses.
SOURCE_URL = re.compile(r"https?://[^\s()]+")
_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff"}


def rasa_server_url(environ: Optional[Dict[str, str]] = None) -> str:
    """The Rasa URL the demo page's widget uses."""
    env = os.environ if environ is None else environ
    return env.get(SERVER_URL_ENV) or (
        f"http://{env.get('RASA_HOST', '127.0.0.1')}:{env.get('RASA_PORT', '5005')}"
    )


def widget_links() -> Dict[str, Any]:
    """The strings the widget turns into links: clinic numbers (settings) and source URLs.

    The URLs come from the content file's `source` fields. Bot text is matched against these
    exact strings, so nothing a parent types ever becomes a link.
    """
    resources = get_resources()
    settings = resources.settings
    phones = sorted({settings.phone, settings.urgent_phone, settings.emergency_number},
                    key=len, reverse=True)
    content = resources.content
    entries = [*content.answers.values(), *content.variants.values(), *content.messages.values()]
    urls = sorted({url.rstrip(".,;") for entry in entries
                   for url in SOURCE_URL.findall(entry.source)}, key=len, reverse=True)
    return {"phones": phones, "urls": urls}


def widget_script(code: str) -> str:
    """widget.js with its vetted texts and allowed links filled in."""
    resources = get_resources()
    texts = {name: resources.message(name) for name in WIDGET_TEXTS}
    return (code.replace("__WIDGET_TEXTS__", json.dumps(texts, ensure_ascii=False))
            .replace("__WIDGET_LINKS__", json.dumps(widget_links(), ensure_ascii=False)))


@widget.before_server_start
async def load_widget(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
    """Reads the widget's code and the allowed origins once per process."""
    resources = get_resources()
    app.ctx.widget_origins = frozenset(allowed_origins(resources.settings.website))
    app.ctx.feedback_limit = WindowLimit(FEEDBACK_VOTES, FEEDBACK_WINDOW_SECONDS)
    app.ctx.widget_js = widget_script((STATIC_DIR / "widget.js").read_text(encoding="utf-8"))
    app.ctx.widget_css = (STATIC_DIR / "widget.css").read_text(encoding="utf-8")
    app.ctx.demo_css = (STATIC_DIR / "demo.css").read_text(encoding="utf-8")


@widget.get("/")
async def demo_page(request: Request) -> HTTPResponse:
    """A demo clinic page with the widget embedded by one script tag."""
    server = rasa_server_url()
    websocket = "ws" + server[len("http"):] if server.startswith("http") else server
    html = request.app.ctx.templates.get_template("demo.html").render(
        settings=get_resources().settings, server_url=server,
        request_origin=f"{request.scheme}://{request.host}",
    )
    return response.html(html, headers={
        **_SECURITY_HEADERS,
        "Content-Security-Policy": (
            f"default-src 'self'; connect-src 'self' {server} {websocket}; "
            "img-src 'self' data:; frame-ancestors 'none'"
        ),
    })


@widget.get("/widget/widget.js")
async def widget_js(request: Request) -> HTTPResponse:
    """The widget: the one script a clinic's page includes."""
    return response.text(request.app.ctx.widget_js, content_type="text/javascript; charset=utf-8",
                         headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"})


@widget.get("/widget/widget.css")
async def widget_css(request: Request) -> HTTPResponse:
    """The widget's styles (loaded by widget.js)."""
    return response.text(request.app.ctx.widget_css, content_type="text/css; charset=utf-8",
                         headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"})


@widget.get("/demo.css")
async def demo_css(request: Request) -> HTTPResponse:
    """The demo page's own styles."""
    return response.text(request.app.ctx.demo_css, content_type="text/css; charset=utf-8",
                         headers=_SECURITY_HEADERS)


@widget.get("/widget/vendor/socket.io.min.js")
async def socket_io_client(request: Request) -> HTTPResponse:
    """socket.io-client from node_modules (package-lock.json pins it; `npm ci` installs it)."""
    if not SOCKET_IO_CLIENT.exists():
        return response.text("socket.io-client is not installed: run `npm ci`", status=503)
    return await response.file(SOCKET_IO_CLIENT, mime_type="text/javascript",
                               headers=_SECURITY_HEADERS)


def cors_headers(origin: Optional[str], allowed: Iterable[str]) -> Dict[str, str]:
    """CORS headers for a widget on an allowed origin (none for others)."""
    if not origin or origin not in allowed:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "600"}


def parse_feedback(body: Any, answer_ids: Iterable[str]) -> Optional[Tuple[str, bool, str]]:
    """(answer_id, helpful, vote key) from a request body, or None if it is not exactly that."""
    if not isinstance(body, dict) or set(body) != {"answer_id", "helpful", "vote_key"}:
        return None
    answer_id, helpful, vote_key = body["answer_id"], body["helpful"], body["vote_key"]
    if not isinstance(answer_id, str) or answer_id not in answer_ids:
        return None
    if not isinstance(helpful, bool):
        return None
    if not isinstance(vote_key, str) or not VOTE_KEY.fullmatch(vote_key):
        return None
    return answer_id, helpful, vote_key


@widget.options("/api/feedback")
async def feedback_preflight(request: Request) -> HTTPResponse:
    """CORS preflight for widgets on the clinic's site."""
    headers = cors_headers(request.headers.get("origin"), request.app.ctx.widget_origins)
    return response.empty(status=204 if headers else 403, headers=headers)


@widget.post("/api/feedback")
async def feedback(request: Request) -> HTTPResponse:
    """Stores a "Was this helpful?" vote (answer id, yes or no, the conversation's vote key)."""
    headers = cors_headers(request.headers.get("origin"), request.app.ctx.widget_origins)
    # Browsers send Origin on every POST, same-origin too: a request without one is a script.
    if not headers:
        return response.json({"error": "origin not allowed"}, status=403)
    if len(request.body or b"") > MAX_FEEDBACK_BYTES:
        return response.json({"error": "request too large"}, status=413, headers=headers)
    if not request.app.ctx.feedback_limit.take(client_address(request)):
        return response.json({"error": "too many votes, please try again later"}, status=429,
                             headers={**headers, "Retry-After": str(FEEDBACK_WINDOW_SECONDS)})
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        body = None
    parsed = parse_feedback(body, get_resources().content.answers)
    if parsed is None:
        return response.json(
            {"error": 'expected {"answer_id": "<known answer id>", "helpful": true|false, '
                      '"vote_key": "<16-64 letters, digits, - or _>"}'},
            status=400, headers=headers,
        )
    answer_id, helpful, vote_key = parsed
    await asyncio.to_thread(request.app.ctx.feedback.record, answer_id, helpful, vote_key)
    return response.json({"ok": True}, status=201, headers=headers)
