from types import SimpleNamespace

import pytest
from aiogram.types import Update

from channels.conversation_ids import keyed_conversation_id
from channels.telegram import SECRET_HEADER, ClinicTelegramInput
from tests.stand_in_apis import StandInAPIs


def channel(api_base="https://api.telegram.org", webhook_url=None):
    return ClinicTelegramInput.from_credentials({
        "access_token": "123:abc", "secret_token": "tg-secret", "verify": "clinic_bot",
        "api_base": api_base, "webhook_url": webhook_url})


def test_update_needs_the_secret_token():
    assert channel().is_authentic(SimpleNamespace(headers={SECRET_HEADER: "tg-secret"}))
    assert not channel().is_authentic(SimpleNamespace(headers={SECRET_HEADER: "tg-secre"}))
    assert not channel().is_authentic(SimpleNamespace(headers={}))


def test_a_channel_without_a_secret_is_refused():
    with pytest.raises((KeyError, ValueError)):
        ClinicTelegramInput.from_credentials({"access_token": "123:abc"})
    with pytest.raises(ValueError):
        ClinicTelegramInput.from_credentials({"access_token": "123:abc", "secret_token": ""})


def test_texts_and_button_presses_are_read():
    message = {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"}}
    text = Update(**{"update_id": 1, "message": {**message, "text": "does it hurt?"}})
    press = Update(**{"update_id": 2, "callback_query": {
        "id": "q", "chat_instance": "c", "data": "/affirm", "message": message,
        "from": {"id": 42, "is_bot": False, "first_name": "A"}}})
    sticker = Update(**{"update_id": 3, "message": {**message, "sticker": {
        "file_id": "f", "file_unique_id": "u", "width": 1, "height": 1, "is_animated": False}}})
    assert ClinicTelegramInput._text_of(text) == (42, "does it hurt?")
    assert ClinicTelegramInput._text_of(press) == (42, "/affirm")
    assert ClinicTelegramInput._text_of(sticker) is None
    for command in ("/start", "/start@clinic_bot"):
        start = Update(**{"update_id": 4, "message": {**message, "text": command}})
        assert ClinicTelegramInput._text_of(start) == (42, "/greet")


async def test_output_and_webhook_registration_use_the_configured_api_base():
    with StandInAPIs() as api:
        tg = channel(api.url, webhook_url="https://clinic.example/webhooks/telegram/webhook")
        out = tg.get_output_channel()
        await out.send_text_message("42", "First.")
        await out.session.close()
        await tg.register_webhook()
        sent = api.received("/bot123:abc/")
    assert [r["path"].rsplit("/", 1)[-1] for r in sent] == ["sendMessage", "setWebhook", "getMe"]
    assert sent[0]["body"]["text"] == "First."
    assert sent[1]["body"]["secret_token"] == "tg-secret"


def test_the_conversation_id_is_a_keyed_hash_of_the_chat_id():
    conversation_id = channel().conversation_id(42)
    assert conversation_id == keyed_conversation_id("telegram", "tg-secret", "42")
    assert conversation_id == channel().conversation_id("42")
    assert conversation_id != channel().conversation_id(43)


async def test_a_failing_webhook_registration_does_not_raise(caplog):
    await channel("http://127.0.0.1:9", webhook_url="https://x.example/").register_webhook()
    assert "setWebhook failed" in caplog.text
