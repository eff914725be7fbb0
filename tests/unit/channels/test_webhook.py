import json

import pytest
from rasa.shared.exceptions import RasaException
from sanic import Sanic

from channels.messenger import DEFAULT_API_BASE as MESSENGER_API
from channels.messenger import ClinicMessengerInput
from channels.socketio import ClinicSocketIOInput
from channels.telegram import DEFAULT_API_BASE as TELEGRAM_API
from channels.telegram import ClinicTelegramInput
from channels.twilio_whatsapp import DEFAULT_API_BASE as TWILIO_API
from channels.twilio_whatsapp import TwilioWhatsAppInput
from channels.webhook import CredentialedInput, guarded_webhook

CHANNELS = [ClinicTelegramInput, ClinicMessengerInput, TwilioWhatsAppInput, ClinicSocketIOInput]


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_is_built_by_the_one_from_credentials(channel):
    assert channel.from_credentials.__func__ is CredentialedInput.from_credentials.__func__


@pytest.mark.parametrize("channel", [ClinicTelegramInput, ClinicMessengerInput,
                                     TwilioWhatsAppInput])
@pytest.mark.parametrize("credentials", [None, {}])
def test_a_messaging_app_without_credentials_is_refused(channel, credentials):
    with pytest.raises(RasaException):
        channel.from_credentials(credentials)


def test_empty_optional_values_take_the_defaults():
    telegram = ClinicTelegramInput.from_credentials(
        {"access_token": "123:abc", "secret_token": "s", "api_base": "", "verify": ""})
    assert (telegram.api_base, telegram.verify, telegram.webhook_url) == (TELEGRAM_API, None, None)
    messenger = ClinicMessengerInput.from_credentials(
        {"verify": "v", "secret": "s", "page-access-token": "t"})
    assert (messenger.fb_verify, messenger.fb_secret, messenger.fb_access_token,
            messenger.api_base) == ("v", "s", "t", MESSENGER_API)
    whatsapp = TwilioWhatsAppInput.from_credentials(
        {"account_sid": "AC1", "auth_token": "tok", "whatsapp_number": 14155238886,
         "webhook_url": "https://clinic.example/webhooks/whatsapp/webhook"})
    assert (whatsapp.whatsapp_number, whatsapp.api_base, whatsapp.webhook_url) == (
        "14155238886", TWILIO_API, "https://clinic.example/webhooks/whatsapp/webhook")


def test_the_widget_channel_keeps_rasas_defaults_and_a_switched_off_persistence():
    default = ClinicSocketIOInput.from_credentials(None)
    assert (default.user_message_evt, default.bot_message_evt, default.namespace,
            default.session_persistence, default.socketio_path) == (
        "user_uttered", "bot_uttered", None, True, "/socket.io")
    assert ClinicSocketIOInput.from_credentials(
        {"session_persistence": False}).session_persistence is False


async def test_the_opened_webhook_answers_health_and_guards_the_handler():
    handled = []

    async def on_new_message(message):
        handled.append(message)

    blueprint, guarded = guarded_webhook("test_webhook", on_new_message)
    assert guarded.on_new_message is on_new_message
    app = Sanic("webhook_test")
    app.blueprint(blueprint, url_prefix="/webhooks/test")
    [health] = [route for route in app.router.routes if route.path == "webhooks/test"]
    assert health.methods == {"GET"}
    answer = await health.handler(None)
    assert answer.status == 200 and json.loads(answer.body) == {"status": "ok"}
