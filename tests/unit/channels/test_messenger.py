import hashlib
import hmac
import json
from types import SimpleNamespace

from channels.messenger import ClinicMessengerInput
from tests.stand_in_apis import StandInAPIs

BODY = json.dumps({"object": "page", "entry": [{"messaging": [
    {"sender": {"id": "psid-1"}, "message": {"text": "does it hurt?"}}]}]}).encode()


def channel(api_base=None):
    credentials = {"verify": "v", "secret": "fb-secret", "page-access-token": "page-token"}
    return ClinicMessengerInput.from_credentials(
        {**credentials, **({"api_base": api_base} if api_base else {})})


def request(signature, body=BODY):
    return SimpleNamespace(headers={"X-Hub-Signature": signature} if signature else {},
                           body=body)


def sign(body=BODY, secret="fb-secret"):
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def test_rasa_checks_the_hub_signature():
    assert channel().is_signed(request(sign()))
    assert not channel().is_signed(request(None))
    assert not channel().is_signed(request(sign(secret="other")))
    assert not channel().is_signed(request(sign(), body=BODY + b" "))


def test_malformed_signature_headers_are_not_signed():
    for header in ["sha1", "nohash=abc", "new=abc", "sha1=a=b"]:
        assert not channel().is_signed(request(header))


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
