"""A turn sent again with the same request id (nginx's retry after a replica died) runs once.

Real action server and Rasa server over the REST channel, with the X-Request-ID header nginx
sets (deploy/nginx/clinic.conf.template; rasa_patches.py answers a stored turn).
"""

from __future__ import annotations

import json
import sqlite3
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest

from channels.conversation_ids import rest_conversation_id
from clinic.resources import get_resources
from local.services import RunningServices
from rasa_patches import REQUEST_MESSAGE_ID_PREFIX

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services(shared_services) -> RunningServices:
    # The session's services (tests/conftest.py); each test has its own senders.
    return shared_services


def send(services: RunningServices, sender: str, text: str, request_id: str) -> List[Any]:
    request = urllib.request.Request(
        f"{services.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json", "X-Request-ID": request_id},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return [reply.get("text") for reply in json.load(response)]


def stored(services: RunningServices, sender: str) -> List[Dict[str, Any]]:
    """The conversation's user messages in the tracker store: text and message id."""
    with sqlite3.connect(Path(services.env["TRACKER_DB"])) as connection:
        rows = connection.execute(
            "select data from events where type_name = 'user' and sender_id = ? order by id",
            (rest_conversation_id(sender),),
        ).fetchall()
    return [{"text": json.loads(data)["text"], "id": json.loads(data)["message_id"]}
            for (data,) in rows]


def test_a_stored_turn_sent_again_gets_the_same_replies_and_is_stored_once(services):
    resources = get_resources()
    sender = f"replay-{uuid.uuid4().hex}"
    greet, offer, yes = (uuid.uuid4().hex for _ in range(3))

    first = send(services, sender, "Hello!", greet)
    assert first == [resources.message("greet")]
    assert send(services, sender, "Hello!", greet) == first

    send(services, sender, "I want to talk to a person", offer)
    assert send(services, sender, "yes", yes) == [resources.message("ask_parent_name")]
    # The replay of "yes" must not reach the form (it took "yes" as the parent's name).
    assert send(services, sender, "yes", yes) == [resources.message("ask_parent_name")]
    assert send(services, sender, "Alex Morgan", uuid.uuid4().hex) == [
        resources.message("ask_contact")]

    assert [m["text"] for m in stored(services, sender)] == [
        "Hello!", "I want to talk to a person", "yes", "Alex Morgan"]
    assert [m["id"] for m in stored(services, sender)][:3] == [
        REQUEST_MESSAGE_ID_PREFIX + request for request in (greet, offer, yes)]


def test_a_request_id_replays_only_its_own_conversations_turn(services):
    resources = get_resources()
    first, other = f"replay-{uuid.uuid4().hex}", f"replay-{uuid.uuid4().hex}"
    request_id = uuid.uuid4().hex
    assert send(services, first, "Hello!", request_id) == [resources.message("greet")]

    # Another conversation with the same id: processed as its own turn.
    answer = resources.content.answers["pain"]
    assert send(services, other, "does it hurt?", request_id)[:2] == [
        answer.text, f"Source: {answer.source}"]
    assert [m["text"] for m in stored(services, other)] == ["does it hurt?"]

    # The same id with another text in the same conversation is a new turn, stored once.
    assert send(services, first, "does it hurt?", request_id)[:2] == [
        answer.text, f"Source: {answer.source}"]
    messages = stored(services, first)
    assert [m["text"] for m in messages] == ["Hello!", "does it hurt?"]
    assert len({m["id"] for m in messages}) == 2
