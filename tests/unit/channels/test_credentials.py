import yaml

from channels.credentials import build_credentials, enabled_apps, write_credentials

BASE = "# Channels.\n\nrest:\nsocketio:\n  user_message_evt: user_uttered\n"
TWILIO = {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "tw-secret-1",
          "TWILIO_WHATSAPP_NUMBER": "+14155238886"}


def test_no_secrets_means_only_the_base_channels():
    assert build_credentials(BASE, {}) == BASE
    assert enabled_apps({"PATH": "/bin", "TWILIO_API_BASE": "http://x"}) == []


def test_an_app_with_some_secrets_missing_stays_off(caplog):
    partial = {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "tw-secret-1",
               "TELEGRAM_ACCESS_TOKEN": "123:abc", "MESSENGER_SECRET": " "}
    assert build_credentials(BASE, partial) == BASE
    assert "TWILIO_WHATSAPP_NUMBER" in caplog.text
    assert "TELEGRAM_SECRET_TOKEN" in caplog.text
    assert "abc" not in caplog.text and "tw-secret-1" not in caplog.text


def test_enabled_app_is_added_with_references_not_secrets():
    text = build_credentials(BASE, {**TWILIO, "TWILIO_API_BASE": "http://127.0.0.1:9"})
    assert text.startswith(BASE)  # every base entry copied as it is
    assert "tw-secret-1" not in text and "AC123" not in text
    entry = yaml.safe_load(text)["channels.twilio_whatsapp.TwilioWhatsAppInput"]
    assert entry == {"account_sid": "${TWILIO_ACCOUNT_SID}",
                     "auth_token": "${TWILIO_AUTH_TOKEN}",
                     "whatsapp_number": "${TWILIO_WHATSAPP_NUMBER}",
                     "api_base": "${TWILIO_API_BASE}"}
    assert set(yaml.safe_load(text)) == {"rest", "socketio",
                                         "channels.twilio_whatsapp.TwilioWhatsAppInput"}


def test_rasa_substitutes_the_references(tmp_path, monkeypatch):
    from rasa.shared.utils.io import read_config_file

    env = {**TWILIO, "TELEGRAM_ACCESS_TOKEN": "123:abc", "TELEGRAM_SECRET_TOKEN": "s3cret",
           "MESSENGER_VERIFY": "v", "MESSENGER_SECRET": "s", "MESSENGER_PAGE_ACCESS_TOKEN": "p"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    base, out = tmp_path / "credentials.yml", tmp_path / "var" / "credentials.yml"
    base.write_text(BASE)
    titles = write_credentials(base, out, env)
    assert titles == ["WhatsApp (Twilio)", "Telegram", "Facebook Messenger"]
    loaded = read_config_file(out)
    assert loaded["channels.twilio_whatsapp.TwilioWhatsAppInput"]["auth_token"] == "tw-secret-1"
    assert loaded["channels.telegram.ClinicTelegramInput"] == {
        "access_token": "123:abc", "secret_token": "s3cret"}
    assert loaded["channels.messenger.ClinicMessengerInput"]["page-access-token"] == "p"
    assert loaded["socketio"] == {"user_message_evt": "user_uttered"}


def test_an_app_already_in_the_base_file_is_not_added_twice():
    base = BASE + "channels.twilio_whatsapp.TwilioWhatsAppInput:\n  account_sid: x\n"
    assert build_credentials(base, TWILIO) == base


def test_project_credentials_file_loads_with_no_messaging_env():
    from clinic.paths import PROJECT_ROOT

    text = (PROJECT_ROOT / "credentials.yml").read_text()
    assert build_credentials(text, {}) == text
