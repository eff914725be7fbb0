import hashlib
import hmac
import json
from types import SimpleNamespace

import pytest

from channels.messenger import ClinicMessengerInput, event_id
from tests.stand_in_apis import StandInAPIs

BODY = json.dumps({"object": "page", "entry": [{"messaging": [
    {"sender": {"id": "psid-1"}, "message": {"text": "does it hurt?"}}]}]}).encode()


def channel(api_base=None):
    credentials = {"verify": "v", "secret": "fb-secret", "page-access-token": "page-token"}
    return ClinicMessengerInput.from_credentials(
        {**credentials, **({"api_base": api_base} if api_base else {})})


def request(signature, body=BODY, header="X-Hub-Signature-256"):
    return SimpleNamespace(headers={header: signature} if signature else {}, body=body)


def sign(body=BODY, secret="fb-secret", algorithm="sha256"):
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return f"{algorithm}={digest}"


def test_the_sha256_hub_signature_is_checked():
    assert channel().is_signed(request(sign()))
    assert channel().is_signed(request(sign().upper().replace("SHA256=", "sha256=")))
    assert not channel().is_signed(request(None))
    assert not channel().is_signed(request(sign(secret="other")))
    assert not channel().is_signed(request(sign(), body=BODY + b" "))


@pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha512"])
def test_other_algorithms_are_refused(algorithm):
    # Rasa's own check accepts whatever hash X-Hub-Signature names.
    assert not channel().is_signed(request(sign(algorithm=algorithm), header="X-Hub-Signature"))
    assert not channel().is_signed(request(sign(algorithm=algorithm)))


def test_malformed_signature_headers_are_not_signed():
    for header in ["sha256", "nohash=abc", "new=abc", "sha256=a=b", "sha256=\u00e9"]:
        assert not channel().is_signed(request(header))


def test_the_event_id_is_the_mid_of_the_event_rasa_handles():
    def payload(*events):
        return {"object": "page", "entry": [{"messaging": list(events)}]}

    message = {"sender": {"id": "p"}, "message": {"mid": "m.1", "text": "hi"}}
    postback = {"sender": {"id": "p"}, "postback": {"mid": "m.2", "payload": "/affirm"}}
    read = {"sender": {"id": "p"}, "read": {"watermark": 1}}
    assert event_id(payload(message)) == "m.1"
    assert event_id(payload(read, postback, message)) == "m.2"
    assert event_id(payload(read)) is None
    for malformed in (None, [], {"entry": "x"}, {"entry": [{"messaging": [5]}]},
                      payload({"message": {"text": "no mid"}}), payload({"message": "x"})):
        assert event_id(malformed) is None


async def test_output_uses_the_configured_graph_api_base():
    with StandInAPIs() as api:
        out = channel(api.url).get_output_channel()
        await out.send_response("psid-1", {"text": "First.\n\nSecond paragraph."})
        await out.send_response("psid-1", {"text": "Shall I?", "buttons": [
            {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]})
        many = [{"title": f"Topic number {n} with a long title", "payload": f"/t{n}"}
                for n in range(1, 5)]
        await out.send_response("psid-1", {"text": "Topics:", "buttons": many})
        sent = api.received("/me/messages")
    assert [r["body"]["recipient"]["id"] for r in sent] == ["psid-1"] * len(sent)
    messages = [r["body"]["message"] for r in sent]
    assert messages[-2]["attachment"]["payload"]["buttons"][1]["payload"] == "/deny"
    # Rasa would drop 4 buttons; they arrive as numbered choices instead.
    assert messages[-1] == {"text": "Topics:\n\n" + "\n".join(
        f"{n}. Topic number {n} with a long title" for n in range(1, 5))}
    assert [m.get("text") for m in messages[:-2]] == ["First.", "Second paragraph."]
