"""Messaging apps end to end: the real servers, the apps' APIs replaced by a local stand-in.

WhatsApp (Twilio) in full: signed webhooks, replies through the Messages API, buttons as
numbered choices. Telegram and Messenger: their webhook authentication and API base. Every app:
conversations no other channel can address (a REST client posting a parent's chat id does not
join the parent's conversation), and a replayed update processed once.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, List, Optional

import pytest
from twilio.request_validator import RequestValidator

from channels.choices import numbered_text
from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources
from local.services import RunningServices, running_services
from tests.stand_in_apis import StandInAPIs

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
SID, TOKEN, NUMBER = "AC0123456789abcdef", "twilio-test-token", "+14155238886"
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
TG_TOKEN, TG_SECRET = "123456:test-token", "telegram-test-secret"
FB_SECRET = "messenger-test-secret"
UPDATE_IDS = itertools.count(1000)

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

    def send(self, text: str, signature: Optional[str] = None,
             message_sid: Optional[str] = None) -> int:
        form = {"From": self.address, "To": f"whatsapp:{NUMBER}", "Body": text,
                "MessageSid": message_sid or "SM" + uuid.uuid4().hex, "AccountSid": SID,
                "NumMedia": "0"}
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


def hub_signatures(body: bytes, secret: str = FB_SECRET) -> Dict[str, str]:
    """Both headers, as Meta sends them: SHA-1 (legacy) and SHA-256."""
    return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body,
                                                  hashlib.sha1).hexdigest(),
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body,
                                                        hashlib.sha256).hexdigest()}


def test_messenger_events_need_the_hub_signature(services, stand_in):
    resources = get_resources()
    url = f"{services.rasa_url}/webhooks/facebook/webhook"
    body = json.dumps({"object": "page", "entry": [{"messaging": [
        {"sender": {"id": "psid-42"}, "recipient": {"id": "page"},
         "message": {"mid": "m1", "text": "does it hurt?"}}]}]}).encode()
    before = len(stand_in.received("/me/messages"))
    wrong = hub_signatures(body, "other")
    good = hub_signatures(body)
    for headers in ({}, wrong, {"X-Hub-Signature-256": wrong["X-Hub-Signature-256"]},
                    # SHA-1 alone, even correct, is refused: only SHA-256 counts.
                    {"X-Hub-Signature": good["X-Hub-Signature"]}):
        assert post(url, body, {"Content-Type": "application/json", **headers}) == 403
    assert len(stand_in.received("/me/messages")) == before
    assert post(url, body, {"Content-Type": "application/json",
                            "X-Hub-Signature-256": good["X-Hub-Signature-256"]}) == 200
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


def rest_send(services: RunningServices, sender: str, text: str) -> List[str]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"{services.rasa_url}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return [reply.get("text") for reply in json.load(response)]


class Telegram:
    """A parent in a Telegram chat: sends authentic updates, reads what reached the Bot API."""

    def __init__(self, services: RunningServices, stand_in: StandInAPIs, chat_id: int) -> None:
        self.url = f"{services.rasa_url}/webhooks/telegram/webhook"
        self.stand_in = stand_in
        self.chat_id = chat_id

    def sent_to_me(self) -> List[str]:
        return [r["body"]["text"] for r in self.stand_in.received(f"/bot{TG_TOKEN}/sendMessage")
                if str(r["body"]["chat_id"]) == str(self.chat_id)]

    def update(self, text: str) -> bytes:
        return json.dumps({"update_id": next(UPDATE_IDS), "message": {
            "message_id": 1, "date": 0, "chat": {"id": self.chat_id, "type": "private"},
            "text": text}}).encode()

    def post(self, update: bytes) -> List[str]:
        """Posts an update; returns the messages that went out in reply, in order."""
        before = len(self.sent_to_me())
        assert post(self.url, update, {"Content-Type": "application/json",
                                       "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}) == 200
        return self.sent_to_me()[before:]

    def ask(self, text: str) -> List[str]:
        return self.post(self.update(text))


class Messenger:
    """A parent on Messenger: sends signed events, reads what reached the Graph API."""

    def __init__(self, services: RunningServices, stand_in: StandInAPIs, psid: str) -> None:
        self.url = f"{services.rasa_url}/webhooks/facebook/webhook"
        self.stand_in = stand_in
        self.psid = psid

    def sent_to_me(self) -> List[str]:
        texts = []
        for request in self.stand_in.received("/me/messages"):
            if request["body"]["recipient"]["id"] != self.psid:
                continue
            message: Dict[str, Any] = request["body"].get("message") or {}
            if "text" in message:
                texts.append(message["text"])
            elif "attachment" in message:  # a button template
                texts.append(message["attachment"]["payload"]["text"])
        return texts

    def event(self, text: str) -> bytes:
        return json.dumps({"object": "page", "entry": [{"messaging": [
            {"sender": {"id": self.psid}, "recipient": {"id": "page"},
             "message": {"mid": f"m_{uuid.uuid4().hex}", "text": text}}]}]}).encode()

    def post(self, body: bytes) -> List[str]:
        before = len(self.sent_to_me())
        assert post(self.url, body, {"Content-Type": "application/json",
                                     **hub_signatures(body)}) == 200
        return self.sent_to_me()[before:]

    def ask(self, text: str) -> List[str]:
        return self.post(self.event(text))


def stored_senders(services: RunningServices) -> set:
    with sqlite3.connect(services.env["TRACKER_DB"]) as connection:
        return {row[0] for row in connection.execute("select distinct sender_id from events")}


@pytest.mark.parametrize("app", ["telegram", "messenger"])
def test_a_rest_client_cannot_join_a_parents_conversation(services, stand_in, app):
    """Issue 12, item 1: posting the parent's raw chat/user id over REST."""
    resources = get_resources()
    if app == "telegram":
        parent, raw_id = Telegram(services, stand_in, 515151), "515151"
    else:
        raw_id = f"psid-{uuid.uuid4().hex[:8]}"
        parent = Messenger(services, stand_in, raw_id)
    parent.ask("can I talk to a nurse please")
    assert parent.ask("/affirm") == [resources.message("ask_parent_name")]

    # The stranger knows the parent's id and answers the open form's question for them.
    stranger = rest_send(services, raw_id, "Mallory Attacker")
    assert resources.message("ask_contact") not in stranger
    rest_send(services, raw_id, "/restart")

    # The parent's form is where they left it: their name is asked, then their contact.
    assert parent.ask("Jane Parent") == [resources.message("ask_contact")]
    senders = stored_senders(services)
    assert raw_id not in senders
    assert f"rest:{raw_id}" in senders
    assert any(sender.startswith(f"{'facebook' if app == 'messenger' else app}-")
               for sender in senders)


def test_replayed_whatsapp_webhook_is_processed_once(services, stand_in):
    parent = WhatsApp(services, stand_in, "+15550100007")
    sid = "SM" + uuid.uuid4().hex
    assert parent.send("does it hurt?", message_sid=sid) in (200, 204)
    replies = len(parent.sent_to_me())
    assert replies >= 1
    assert parent.send("does it hurt?", message_sid=sid) in (200, 204)
    assert len(parent.sent_to_me()) == replies
    # A new message (new MessageSid) with the same text is answered.
    assert parent.send("does it hurt?") in (200, 204)
    assert len(parent.sent_to_me()) > replies


def test_replayed_telegram_update_is_processed_once(services, stand_in):
    parent = Telegram(services, stand_in, 626262)
    update = parent.update("does it hurt?")
    assert parent.post(update) != []
    assert parent.post(update) == []
    assert parent.ask("does it hurt?") != []


def test_replayed_messenger_event_is_processed_once(services, stand_in):
    parent = Messenger(services, stand_in, f"psid-{uuid.uuid4().hex[:8]}")
    event = parent.event("does it hurt?")
    assert parent.post(event) != []
    assert parent.post(event) == []
    assert parent.ask("does it hurt?") != []
