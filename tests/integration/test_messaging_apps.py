"""Messaging apps end to end: the real servers, the apps' APIs replaced by a local stand-in.

WhatsApp (Twilio) in full: signed webhooks, replies through the Messages API, buttons as
numbered choices. Telegram and Messenger: their webhook authentication and API base.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, List, Optional

import pytest
from twilio.request_validator import RequestValidator

from channels.choices import numbered_text
from clinic.local_services import RunningServices, running_services
from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources
from tests.stand_in_apis import StandInAPIs

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
SID, TOKEN, NUMBER = "AC0123456789abcdef", "twilio-test-token", "+14155238886"
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
TG_TOKEN, TG_SECRET = "123456:test-token", "telegram-test-secret"
FB_SECRET = "messenger-test-secret"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stand_in() -> StandInAPIs:
    with StandInAPIs() as api:
        yield api


@pytest.fixture(scope="module")
def services(tmp_path_factory, stand_in) -> RunningServices:
    assert MODEL.exists(), f"{MODEL} is missing: run `make train` (make test does it first)"
    work_dir = tmp_path_factory.mktemp("messaging")
    env = {
        "CREDENTIALS_FILE": str(work_dir / "credentials.yml"),
        "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_WHATSAPP_NUMBER": NUMBER,
        "TWILIO_API_BASE": stand_in.url,
        "TELEGRAM_ACCESS_TOKEN": TG_TOKEN, "TELEGRAM_SECRET_TOKEN": TG_SECRET,
        "TELEGRAM_WEBHOOK_URL": "https://clinic.example/webhooks/telegram/webhook",
        "TELEGRAM_API_BASE": stand_in.url,
        "MESSENGER_VERIFY": "verify-me", "MESSENGER_SECRET": FB_SECRET,
        "MESSENGER_PAGE_ACCESS_TOKEN": "page-token", "MESSENGER_API_BASE": stand_in.url,
        # Set as if exported by hand: without --shell it must not reach the action server.
        "STAFF_SHELL_DEBUG": "1",
    }
    with running_services(MODEL, work_dir, extra_env=env) as running:
        yield running


def post(url: str, data: bytes, headers: Dict[str, str]) -> int:
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class WhatsApp:
    """A parent on WhatsApp: sends signed webhooks, reads what reached Twilio's API."""

    def __init__(self, services: RunningServices, stand_in: StandInAPIs, number: str) -> None:
        self.url = f"{services.rasa_url}/webhooks/whatsapp/webhook"
        self.stand_in = stand_in
        self.address = f"whatsapp:{number}"

    def sent_to_me(self) -> List[str]:
        return [r["body"]["Body"] for r in self.stand_in.received(MESSAGES_PATH)
                if r["body"]["To"] == self.address]

    def send(self, text: str, signature: Optional[str] = None) -> int:
        form = {"From": self.address, "To": f"whatsapp:{NUMBER}", "Body": text,
                "MessageSid": "SM" + "1" * 32, "AccountSid": SID, "NumMedia": "0"}
        if signature is None:
            signature = RequestValidator(TOKEN).compute_signature(self.url, form)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature:
            headers["X-Twilio-Signature"] = signature
        return post(self.url, urllib.parse.urlencode(form).encode(), headers)

    def ask(self, text: str) -> List[str]:
        """Sends a signed message; returns the messages that went out in reply, in order."""
        before = len(self.sent_to_me())
        assert self.send(text) in (200, 204)
        return self.sent_to_me()[before:]


def test_whatsapp_question_gets_the_vetted_answer_through_twilio(services, stand_in):
    resources = get_resources()
    pain = resources.content.answers["pain"]
    parent = WhatsApp(services, stand_in, "+15550100001")
    assert parent.ask("does it hurt?") == [
        resources.render(pain), f"Source: {pain.source}", resources.message("disclaimer"),
    ]
    request = stand_in.received(MESSAGES_PATH)[-1]
    assert request["body"]["From"] == f"whatsapp:{NUMBER}"
    assert request["auth"].startswith("Basic ")


def test_whatsapp_conversation_id_is_not_the_phone_number(services, stand_in):
    parent = WhatsApp(services, stand_in, "+15550100002")
    parent.ask("is botox safe?")
    import sqlite3

    with sqlite3.connect(services.env["TRACKER_DB"]) as connection:
        senders = {row[0] for row in connection.execute("select distinct sender_id from events")}
    assert not any("5550100002" in sender for sender in senders)
    assert any(sender.startswith("whatsapp-") for sender in senders)


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", "wrong"])
def test_unsigned_or_wrongly_signed_whatsapp_requests_get_403(services, stand_in, signature):
    parent = WhatsApp(services, stand_in, "+15550100003")
    if signature == "wrong":  # signed with another token
        form = {"From": parent.address, "Body": "does it hurt?"}
        signature = RequestValidator("another-token").compute_signature(parent.url, form)
    calls_before = len(stand_in.requests)
    assert parent.send("does it hurt?", signature=signature) == 403
    assert len(stand_in.requests) == calls_before


def test_whatsapp_buttons_are_numbered_choices_and_a_number_picks_one(services, stand_in):
    resources = get_resources()
    parent = WhatsApp(services, stand_in, "+15550100004")
    [topics] = parent.ask("what can you help with?")
    help_topics = resources.content.messages["help_topics"]
    titles = [resources.content.answers[i].title for i in help_topics.buttons]
    assert topics == numbered_text(resources.message("help_topics"),
                                   [{"title": t} for t in titles])
    second = resources.content.answers[help_topics.buttons[1]]
    assert parent.ask(" 2. ")[0] == resources.render(second)


def test_whatsapp_clinician_offer_is_answered_by_number(services, stand_in):
    resources = get_resources()
    parent = WhatsApp(services, stand_in, "+15550100005")
    replies = parent.ask("what's the weather in Paris tomorrow?")
    assert replies == [
        resources.message("out_of_scope"),
        f"{resources.message('escalation_offer')}\n\n1. {resources.message('button_yes')}\n"
        f"2. {resources.message('button_no')}",
    ]
    assert parent.ask("1") == [resources.message("ask_parent_name")]


def test_whatsapp_emergency_comes_first(services, stand_in):
    resources = get_resources()
    parent = WhatsApp(services, stand_in, "+15550100006")
    assert parent.ask("he can't breathe after the injection")[0] == \
        resources.message("emergency")


def test_telegram_registered_its_webhook_with_the_secret(services, stand_in):
    calls = stand_in.wait_for(f"/bot{TG_TOKEN}/setWebhook", 1)
    assert calls[0]["body"]["secret_token"] == TG_SECRET
    assert calls[0]["body"]["url"] == "https://clinic.example/webhooks/telegram/webhook"


def test_telegram_updates_need_the_secret_token(services, stand_in):
    resources = get_resources()
    url = f"{services.rasa_url}/webhooks/telegram/webhook"
    update = json.dumps({"update_id": 7, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 4242, "type": "private"},
        "text": "does it hurt?"}}).encode()
    sent = f"/bot{TG_TOKEN}/sendMessage"
    before = len(stand_in.received(sent))
    for secret in (None, "wrong"):
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        assert post(url, update, headers) == 403
    assert len(stand_in.received(sent)) == before
    assert post(url, update, {"Content-Type": "application/json",
                              "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}) == 200
    replies = stand_in.received(sent)[before:]
    assert replies[0]["body"]["chat_id"] in (4242, "4242")
    assert replies[0]["body"]["text"] == resources.render(resources.content.answers["pain"])


def test_messenger_events_need_the_hub_signature(services, stand_in):
    resources = get_resources()
    url = f"{services.rasa_url}/webhooks/facebook/webhook"
    body = json.dumps({"object": "page", "entry": [{"messaging": [
        {"sender": {"id": "psid-42"}, "recipient": {"id": "page"},
         "message": {"mid": "m1", "text": "does it hurt?"}}]}]}).encode()
    before = len(stand_in.received("/me/messages"))
    wrong = "sha1=" + hmac.new(b"other", body, hashlib.sha1).hexdigest()
    for headers in ({}, {"X-Hub-Signature": wrong}):
        assert post(url, body, {"Content-Type": "application/json", **headers}) == 403
    assert len(stand_in.received("/me/messages")) == before
    good = "sha1=" + hmac.new(FB_SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert post(url, body, {"Content-Type": "application/json",
                            "X-Hub-Signature": good}) == 200
    replies = stand_in.received("/me/messages")[before:]
    assert replies[0]["body"]["recipient"]["id"] == "psid-42"
    assert replies[0]["body"]["message"]["text"] == \
        resources.render(resources.content.answers["pain"])


def test_rest_clients_claiming_the_shell_channel_get_no_debug_line(services):
    resources = get_resources()
    body = json.dumps({"sender": "it-claims-cmdline", "message": "does it hurt?",
                       "input_channel": "cmdline"}).encode()
    request = urllib.request.Request(f"{services.rasa_url}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = [reply.get("text") for reply in json.load(response)]
    assert replies[0] == resources.render(resources.content.answers["pain"])
    assert not any(text.startswith("[debug]") for text in replies)
