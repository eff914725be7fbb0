"""A local stand-in for the messaging apps' APIs (Twilio, Telegram Bot API, Graph API).

Records every request (method, path, form or JSON body) and answers with a plausible JSON
body, so the real connectors can be pointed at it with their *_API_BASE setting.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List


def _reply_for(path: str, body: Dict[str, Any]) -> Dict[str, Any]:
    if path.endswith("/Messages.json"):  # Twilio
        return {"sid": "SM" + "0" * 32, "status": "queued", "to": body.get("To"),
                "body": body.get("Body")}
    if "/bot" in path:  # Telegram Bot API
        method = path.rsplit("/", 1)[-1].lower()
        if method == "getme":
            return {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "Clinic",
                                           "username": "clinic_bot"}}
        if method == "sendmessage":
            return {"ok": True, "result": {
                "message_id": 1, "date": int(time.time()), "text": body.get("text", ""),
                "chat": {"id": int(body.get("chat_id", 0)), "type": "private"}}}
        return {"ok": True, "result": True}
    return {"recipient_id": "1", "message_id": "m_1"}  # Graph API


class StandInAPIs:
    """The stand-in server; `requests` lists what it received, in order."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.headers.get("Content-Type", "")
                if "json" in kind:
                    body = json.loads(raw or b"{}")
                else:
                    body = dict(urllib.parse.parse_qsl(raw.decode()))
                path = urllib.parse.urlsplit(self.path).path
                stand_in.requests.append({"path": path, "body": body,
                                          "auth": self.headers.get("Authorization")})
                data = json.dumps(_reply_for(path, body)).encode()
                self.send_response(201 if path.endswith("/Messages.json") else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass  # quiet test output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandInAPIs:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self, path_part: str) -> List[Dict[str, Any]]:
        """Requests whose path contains `path_part`."""
        return [r for r in self.requests if path_part in r["path"]]

    def wait_for(self, path_part: str, count: int, timeout: float = 10) -> List[Dict[str, Any]]:
        """Waits until at least `count` requests matched, then returns them."""
        deadline = time.monotonic() + timeout
        while len(self.received(path_part)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received(path_part)
