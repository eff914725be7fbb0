import json
from types import SimpleNamespace

import pytest

from channels.rest import ClinicRestInput, checked_body


class StubRequest(SimpleNamespace):
    """What checked_body uses of a Sanic request: the parsed body, and a place to replace it."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body=body, parsed_json=None)

    @property
    def json(self):
        if self.parsed_json is None:
            self.parsed_json = json.loads(self.body)
        return self.parsed_json


def test_a_good_request_is_cleaned_in_place():
    request = StubRequest(json.dumps({"sender": " conv-1 ", "message": "hi\x00\ud800",
                                      "metadata": {"a": 1}, "input_channel": "whatsapp"}
                                     ).encode())
    assert checked_body(request) is None
    assert request.parsed_json == {"sender": "conv-1", "message": "hi \ufffd",
                                   "metadata": {"a": 1}}


@pytest.mark.parametrize("body,reason", [
    (b"{", "the body must be a JSON object"),
    (b"[1]", "the body must be a JSON object"),
    (b"null", "the body must be a JSON object"),
    (b'{"message": "hi"}', "sender must be a non-empty string of printable characters"),
    (b'{"sender": 5, "message": "hi"}', "sender must be a non-empty string of printable"
                                        " characters"),
    (b'{"sender": "\\ud800", "message": "hi"}', "sender must be a non-empty string of"
                                                " printable characters"),
    (b'{"sender": "x"}', "message must be a string"),
    (b'{"sender": "x", "message": {"text": "hi"}}', "message must be a string"),
])
def test_malformed_requests_are_refused(body, reason):
    refused = checked_body(StubRequest(body))
    assert refused.status == 400
    assert json.loads(refused.body) == {"error": reason}


def test_the_url_stays_rasas():
    assert ClinicRestInput.name() == "rest"


@pytest.mark.parametrize("sender", ["4242", "telegram-0123", "a" * 32 + "." + "b" * 32,
                                    "rest:x"])
async def test_the_sender_is_stored_in_the_rest_namespace(sender):
    request = StubRequest(json.dumps({"sender": sender, "message": "hi"}).encode())
    assert checked_body(request) is None
    assert await ClinicRestInput()._extract_sender(request) == f"rest:{sender}"


@pytest.mark.parametrize("header,expected", [
    ("0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),  # nginx's form
    (None, None),
    ("", None),
    ("short", None),
    ("x" * 65, None),
    ("a b c d e f g h", None),
    ("<script>alert(1)</script>", None),
])
def test_only_a_plain_request_id_becomes_the_message_id(header, expected):
    from channels.rest import request_id

    headers = {} if header is None else {"X-Request-ID": header}
    assert request_id(SimpleNamespace(headers=headers)) == expected
