import re

from rasa.core.channels.channel import CollectingOutputChannel

from channels.conversation_ids import ToRecipient, keyed_conversation_id, rest_conversation_id
from channels.messenger import ClinicMessengerInput
from channels.socketio import SessionSigner
from channels.telegram import ClinicTelegramInput
from channels.twilio_whatsapp import TwilioWhatsAppInput


def test_keyed_id_is_stable_hides_the_app_id_and_needs_the_secret():
    first = keyed_conversation_id("telegram", "secret", "4242")
    assert first == keyed_conversation_id("telegram", "secret", "4242")
    assert re.fullmatch(r"telegram-[0-9a-f]{32}", first)
    assert "4242" not in first
    assert keyed_conversation_id("telegram", "other secret", "4242") != first
    assert keyed_conversation_id("telegram", "secret", "4243") != first


def test_whatsapp_ids_did_not_change():
    # Conversations stored before the shared implementation keep their ids.
    channel = TwilioWhatsAppInput("AC1", "tw-secret", "+1415")
    assert channel.conversation_id("whatsapp:+15550100999") == \
        "whatsapp-dcb440664c06fba5b52c2573936da832"


def test_every_channel_has_its_own_namespace():
    telegram = ClinicTelegramInput("123:abc", None, None, "tg-secret")
    messenger = ClinicMessengerInput("v", "fb-secret", "page-token")
    whatsapp = TwilioWhatsAppInput("AC1", "tw-secret", "+1415")
    raw = "4242"
    ids = {telegram.conversation_id(raw), messenger.conversation_id(raw),
           whatsapp.conversation_id(raw), rest_conversation_id(raw),
           SessionSigner(b"widget").issue()}
    assert len(ids) == 5 and raw not in ids
    assert telegram.conversation_id(4242) == telegram.conversation_id("4242")
    # A REST client cannot name any of them, whatever it sends.
    for conversation_id in ids - {rest_conversation_id(raw)}:
        assert rest_conversation_id(conversation_id) != conversation_id
        assert not conversation_id.startswith("rest:")


async def test_replies_go_to_the_real_recipient():
    inner = CollectingOutputChannel()
    out = ToRecipient(inner, "4242")
    await out.send_response("telegram-0123", {"text": "Hello."})
    assert inner.messages == [{"recipient_id": "4242", "text": "Hello."}]
    assert out.name() == "collector"
    assert out.messages is inner.messages
