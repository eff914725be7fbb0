from types import SimpleNamespace

from twilio.request_validator import RequestValidator

from channels.twilio_whatsapp import TwilioWhatsAppInput, TwilioWhatsAppOutput, whatsapp_address
from tests.stand_in_apis import StandInAPIs

URL = "https://clinic.example/webhooks/whatsapp/webhook"
FORM = {"From": "whatsapp:+15550100999", "Body": "does it hurt?", "MessageSid": "SM1"}


def channel(**overrides):
    settings = {"account_sid": "AC1", "auth_token": "tw-secret", "whatsapp_number": "+1415"}
    return TwilioWhatsAppInput.from_credentials({**settings, **overrides})


def request(signature, url=URL, form=FORM):
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return SimpleNamespace(headers=headers, form=form, url=url)


def signed(form=FORM, url=URL, token="tw-secret"):
    return RequestValidator(token).compute_signature(url, form)


def test_correctly_signed_request_is_accepted():
    assert channel().is_signed(request(signed()))


def test_unsigned_wrongly_signed_or_altered_requests_are_rejected():
    assert not channel().is_signed(request(None))
    assert not channel().is_signed(request(""))
    assert not channel().is_signed(request(signed(token="another-token")))
    altered = {**FORM, "Body": "something else"}
    assert not channel().is_signed(request(signed(), form=altered))


def test_behind_a_proxy_the_public_url_is_what_twilio_signed():
    internal = request(signed(), url="http://127.0.0.1:5005/webhooks/whatsapp/webhook")
    assert not channel().is_signed(internal)
    assert channel(webhook_url=URL).is_signed(internal)


def test_conversation_id_is_stable_and_hides_the_number():
    first, again = channel().conversation_id(FORM["From"]), channel().conversation_id(FORM["From"])
    assert first == again and first.startswith("whatsapp-")
    assert "5550100999" not in first
    assert channel().conversation_id("whatsapp:+15550100998") != first


def test_whatsapp_address_adds_the_prefix_once():
    assert whatsapp_address("+14155238886") == "whatsapp:+14155238886"
    assert whatsapp_address("whatsapp:+14155238886") == "whatsapp:+14155238886"


async def test_messages_go_to_the_configured_api_in_order_with_numbered_choices():
    with StandInAPIs() as api:
        out = TwilioWhatsAppOutput("AC1", "tw-secret", "+1415", FORM["From"], api.url)
        await out.send_response("ignored", {"text": "First."})
        await out.send_response("ignored", {"text": "Shall I?", "buttons": [
            {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]})
        sent = api.received("/2010-04-01/Accounts/AC1/Messages.json")
    assert [r["body"]["Body"] for r in sent] == ["First.", "Shall I?\n\n1. Yes\n2. No"]
    assert {(r["body"]["To"], r["body"]["From"]) for r in sent} == \
        {(FORM["From"], "whatsapp:+1415")}
    assert all(r["auth"].startswith("Basic ") for r in sent)


async def test_an_unreachable_api_is_logged_without_the_number(caplog):
    out = TwilioWhatsAppOutput("AC1", "tw-secret", "+1415", FORM["From"], "http://127.0.0.1:9")
    await out.send_text_message("ignored", "hello")
    assert "Twilio unreachable" in caplog.text
    assert "5550100999" not in caplog.text
