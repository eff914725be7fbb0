"""Cluster soak: many concurrent conversations through nginx while a Rasa replica restarts.

Every conversation runs 12 turns, including the whole escalation form, round robin across both
replicas. One replica is stopped with SIGTERM mid-run and started again. Every reply must be the
right one for its turn, PostgreSQL must hold each conversation's messages exactly once and in
order, and each escalation must be stored exactly once. SOAK_CONVERSATIONS sets the load
(20 by default, 50 in `make test-cluster`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import aiohttp
import pytest
import sqlalchemy as sa

from actions.escalation import confirmation, normalise_contact
from channels.conversation_ids import rest_conversation_id
from clinic.cluster import Cluster, ClusterPorts, running_cluster
from clinic.escalation_store import EscalationStore
from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
CONVERSATIONS = int(os.environ.get("SOAK_CONVERSATIONS", "20"))
REQUEST_TIMEOUT = 120  # a turn may wait for a busy replica; nothing should take this long
OFFERED_QUESTION = "I want to talk to a person"

pytestmark = pytest.mark.integration

Check = Callable[[List[str]], Optional[str]]  # replies -> reference (turn 11) or None


@dataclass
class Turn:
    """One parent message and what must come back."""

    text: str
    check: Check


@dataclass
class Outcome:
    """What one conversation did."""

    sender: str
    number: int
    sent: List[str] = field(default_factory=list)
    latencies: List[float] = field(default_factory=list)
    reference: Optional[str] = None
    error: Optional[str] = None


def expect(*expected: str) -> Check:
    def check(replies: List[str]) -> None:
        assert replies == list(expected), replies

    return check


def expect_reference(replies: List[str]) -> str:
    [reply] = replies
    reference = re.search(r"ESC-\d{4}-\d{6}", reply).group(0)
    assert reply == confirmation(reference), reply
    return reference


def turns_for(number: int) -> List[Turn]:
    """The 12 turns of conversation `number`: two answers, the form with a detour, an answer."""
    resources = get_resources()
    answers = resources.content.answers

    def answer(topic: str, *then: str) -> Check:
        return expect(answers[topic].text, f"Source: {answers[topic].source}", *then)

    msg = resources.message
    return [
        Turn("Hello!", expect(msg("greet"))),
        Turn("does it hurt?", answer("pain", msg("disclaimer"))),
        Turn("how long does the injection take?", answer("procedure_duration")),
        Turn(OFFERED_QUESTION, expect(msg("request_human"), msg("escalation_offer"))),
        Turn("yes", expect(msg("ask_parent_name"))),
        Turn(parent_name(number), expect(msg("ask_contact"))),
        Turn("can my son ride his bike after?", answer("aftercare_activities", msg("ask_contact"))),
        Turn(phone(number), expect(msg("ask_child_age"))),
        Turn("7", expect(msg("ask_question_confirm", question=OFFERED_QUESTION))),
        Turn(question(number), expect(msg("ask_consent"))),
        Turn("yes", expect_reference),
        Turn("what about eye spasms?", answer("eyelid_spasm")),
    ]


def parent_name(number: int) -> str:
    return f"Alex Morgan {number}"


def phone(number: int) -> str:
    return f"+1 555 0100 {number:03d}"


def question(number: int) -> str:
    return f"Can we move the appointment? (conversation {number})"


async def converse(session: aiohttp.ClientSession, url: str, number: int,
                   progress: Callable[[], None]) -> Outcome:
    """Runs one conversation; stops at the first wrong reply or failed request."""
    outcome = Outcome(sender=f"soak-{uuid.uuid4().hex}", number=number)
    for index, turn in enumerate(turns_for(number), start=1):
        started = time.monotonic()
        try:
            async with session.post(url, json={"sender": outcome.sender, "message": turn.text},
                                    timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as reply:
                outcome.sent.append(turn.text)
                if reply.status != 200:
                    outcome.error = f"turn {index}: HTTP {reply.status}"
                    return outcome
                replies = [message.get("text") for message in await reply.json()]
            outcome.latencies.append(time.monotonic() - started)
            reference = turn.check(replies)
        except AssertionError as wrong:
            outcome.error = f"turn {index} ({turn.text!r}): wrong reply {wrong}"
            return outcome
        except (aiohttp.ClientError, asyncio.TimeoutError) as failed:
            outcome.error = f"turn {index}: {type(failed).__name__} {failed}"
            return outcome
        outcome.reference = reference or outcome.reference
        progress()
    return outcome


async def restart_replica(cluster: Cluster, done: Callable[[], int], at: int) -> Dict[str, float]:
    """Stops replica 1 with SIGTERM once `at` turns are done, then starts it again."""
    while done() < at:
        await asyncio.sleep(0.2)
    stopped_at = time.monotonic()
    await asyncio.to_thread(cluster.stop_rasa, 0)
    stop_seconds = time.monotonic() - stopped_at
    turn_at_stop = done()
    cluster.start_rasa(0)
    await asyncio.to_thread(cluster.wait_rasa, 0)
    return {"stop_s": stop_seconds, "down_s": time.monotonic() - stopped_at,
            "turn_at_stop": turn_at_stop, "turn_at_up": done(),
            "replica_1_turns_at_up": served_by(cluster, 0)}


async def soak(cluster: Cluster, conversations: int) -> Tuple[List[Outcome], Dict[str, float]]:
    total = conversations * 12
    counter = {"done": 0}

    def progress() -> None:
        counter["done"] += 1

    url = cluster.url + "/webhooks/rest/webhook"
    # No connection reuse, like independent browsers.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        restart = asyncio.create_task(restart_replica(cluster, lambda: counter["done"], total // 8))
        outcomes = await asyncio.gather(
            *(converse(session, url, number, progress) for number in range(conversations))
        )
        elapsed = time.monotonic() - started
        restarted = await restart
        # One more conversation once the replica is back: it must take its share again.
        outcomes.append(await converse(session, url, conversations, progress))
    return list(outcomes), {"elapsed_s": elapsed, **restarted}


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    assert MODEL.exists(), f"{MODEL} is missing: run `make train` (make test does it first)"
    # Not pytest's tmp_path: it is private to the user, and PostgreSQL runs as `postgres` for root.
    work_dir = Path(tempfile.mkdtemp(prefix="clinic-cluster-"))
    work_dir.chmod(0o755)
    try:
        # The soak talks REST through nginx: routed only when asked (off by default).
        with running_cluster(MODEL, work_dir, ports=ClusterPorts.free(),
                             extra_env={"REST_CHANNEL_PUBLIC": "on"}) as running:
            yield running
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def user_messages(database_url: str, senders: List[str]) -> Dict[str, List[str]]:
    """Each REST sender's user messages in the tracker store, in stored order."""
    engine = sa.create_engine(database_url)
    found: Dict[str, List[str]] = {sender: [] for sender in senders}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("select sender_id, data from events where type_name = 'user' "
                    "and sender_id like :soak order by id"),
            {"soak": rest_conversation_id("soak-%")},
        )
        for conversation_id, data in rows:
            sender = conversation_id[len(rest_conversation_id("")):]
            found.setdefault(sender, []).append(json.loads(data)["text"])
    engine.dispose()
    return found


def upstreams(cluster: Cluster) -> Dict[str, int]:
    """How many REST turns each replica answered (nginx's access log); 'a, b' = failed over."""
    counts: Dict[str, int] = {}
    for line in (cluster.work_dir / "nginx" / "access.log").read_text().splitlines():
        if '"POST /webhooks/rest/webhook"' in line:
            upstream = line.split('" ', 1)[1].split(" ", 1)[1].rsplit(" ", 1)[0]
            counts[upstream] = counts.get(upstream, 0) + 1
    return counts


def served_by(cluster: Cluster, replica: int) -> int:
    """REST turns the replica answered (alone) so far."""
    return upstreams(cluster).get(f"127.0.0.1:{cluster.ports.rasa[replica]}", 0)


def test_soak_with_a_replica_restart(cluster):
    outcomes, timing = asyncio.run(soak(cluster, CONVERSATIONS))

    latencies = sorted(latency for o in outcomes[:CONVERSATIONS] for latency in o.latencies)
    errors = [f"{o.sender}: {o.error}" for o in outcomes if o.error]
    served = upstreams(cluster)
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    print(
        f"\nsoak: {CONVERSATIONS} conversations x 12 turns, {len(latencies)} turns answered in "
        f"{timing['elapsed_s']:.1f} s = {len(latencies) / timing['elapsed_s']:.1f} turns/s; "
        f"latency p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, "
        f"max {latencies[-1]:.2f} s; errors {len(errors)}\n"
        f"replica 1 stopped (SIGTERM, {timing['stop_s']:.1f} s to exit) after "
        f"{timing['turn_at_stop']} turns, answering again {timing['down_s']:.1f} s later "
        f"(turn {timing['turn_at_up']}); nginx upstreams: {served}"
    )
    replica_1_after_restart = served_by(cluster, 0) - timing["replica_1_turns_at_up"]
    nginx_errors = (cluster.work_dir / "nginx" / "error.log").read_text().splitlines()
    assert errors == [], (errors[:5], nginx_errors[-5:])

    # Every conversation's messages are in PostgreSQL exactly once and in order.
    stored = user_messages(cluster.tracker_db_url, [o.sender for o in outcomes])
    for outcome in outcomes:
        assert stored[outcome.sender] == [turn.text for turn in turns_for(outcome.number)], (
            outcome.sender
        )
    assert len(stored) == len(outcomes)

    # Every escalation is stored exactly once, with this conversation's details.
    store = EscalationStore(cluster.escalation_db_url)
    try:
        cases = store.list(("open", "contacted", "closed"))
    finally:
        store.dispose()
    by_conversation: Dict[str, list] = {}
    for case in cases:
        by_conversation.setdefault(case.conversation_id, []).append(case)
    for outcome in outcomes:
        [case] = by_conversation[rest_conversation_id(outcome.sender)]
        assert case.reference == outcome.reference
        assert (case.parent_name, case.contact, case.child_age, case.question, case.consent) == (
            parent_name(outcome.number), normalise_contact(phone(outcome.number)), "7 years",
            question(outcome.number), True,
        )
    assert len(cases) == len(outcomes)

    # Both replicas answered turns (the conversations crossed replicas), and the restarted one
    # took its share of the last conversation.
    assert served_by(cluster, 1) > 0 and replica_1_after_restart > 0, served


def test_rasa_http_api_and_action_servers_are_not_exposed(cluster):
    import urllib.error
    import urllib.request

    for path in ("/conversations/x/tracker", "/model", "/version", "/webhook", "/health",
                 "/webhooks/health/"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(cluster.url + path, timeout=10)
        # A 404 from nginx or the web app, not Rasa's or the action server's answer.
        assert error.value.code == 404, path
    # The replicas themselves still answer their probes.
    with urllib.request.urlopen(cluster.rasa_urls[0] + "/webhooks/health/", timeout=10) as ok:
        assert ok.status == 200


def test_oversized_chat_message_is_refused_by_nginx(cluster):
    import urllib.error
    import urllib.request

    body = json.dumps({"sender": "big", "message": "x" * 100_000}).encode()
    request = urllib.request.Request(cluster.url + "/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 413


def test_staff_login_is_rate_limited(cluster):
    import urllib.error
    import urllib.request

    statuses = []
    for _ in range(12):
        request = urllib.request.Request(cluster.url + "/staff/login",
                                         data=b"username=x&password=y")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    # burst 5 at 10 per minute: the first ones reach the web app, the rest get 429.
    assert statuses[0] != 429 and statuses.count(429) >= 5, statuses


async def test_widget_socketio_through_nginx_sticks_to_one_replica(cluster):
    import socketio

    # Long polling is several HTTP requests per session: without nginx's ip_hash they would be
    # spread over both replicas, and the second one does not know the session.
    client = socketio.AsyncClient()
    replies: list = []
    session: asyncio.Future = asyncio.get_running_loop().create_future()
    client.on("session_confirm", lambda sid: session.done() or session.set_result(sid))
    client.on("bot_uttered", replies.append)
    await client.connect(cluster.url, headers={"Origin": cluster.url}, transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": None})
        session_id = await asyncio.wait_for(session, 15)
        for text in ("Hello!", "does it hurt?"):
            await client.emit("user_uttered", {"message": text, "session_id": session_id})
        deadline = time.monotonic() + 30
        while len(replies) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        await client.disconnect()
    resources = get_resources()
    assert [reply.get("text") for reply in replies[:2]] == [
        resources.message("greet"), resources.content.answers["pain"].text]
    socketio_lines = [line for line in (cluster.work_dir / "nginx" / "access.log").read_text()
                      .splitlines() if "/socket.io/" in line]
    assert len(socketio_lines) > 2
    assert len({line.rsplit(" ", 2)[1] for line in socketio_lines}) == 1, socketio_lines[:5]
