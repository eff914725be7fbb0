"""Cluster soak: many concurrent conversations through nginx while a Rasa replica restarts.

Every conversation runs 12 turns, including the whole escalation form, round robin across both
replicas. One replica is stopped with SIGTERM mid-run and started again. Every reply must be the
right one for its turn, PostgreSQL must hold each conversation's messages exactly once and in
order, and each escalation must be stored exactly once. SOAK_CONVERSATIONS sets the load
(20 by default, 50 in `make test-cluster`).

The crash soak kills processes with SIGKILL instead, one after another while conversations go
on, and the supervisor (local/supervisor.py) restarts them: SOAK_CRASH names them (a replica in
`make test`; a replica, an action server and Redis in `make test-cluster`). Parents with
emergency signs write during each outage. It prints, per fault, turns sent, failed, the slowest
turn, the recovery time and lost or duplicated messages.
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import aiohttp
import pytest
import sqlalchemy as sa

from actions.escalation import confirmation, normalise_contact
from channels.conversation_ids import rest_conversation_id
from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources
from escalation.store import EscalationStore
from local.cluster import Cluster, ClusterPorts, running_cluster
from rasa_patches import REPLAYED_TURN

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
CONVERSATIONS = int(os.environ.get("SOAK_CONVERSATIONS", "20"))
REQUEST_TIMEOUT = 120  # a turn may wait for a busy replica; nothing should take this long
OFFERED_QUESTION = "I want to talk to a person"
#: Processes the crash soak kills, one after another (cluster process names).
CRASHES = [name for name in os.environ.get("SOAK_CRASH", "rasa-1").split(",") if name]
EMERGENCY = "my son can't breathe properly since the injection"
EMERGENCIES_PER_FAULT = 3
#: The issue's bar for a crash: failed turns, slowest turn, seconds until the process is back.
MAX_FAILED_SHARE, MAX_TURN_SECONDS, MAX_RECOVERY_SECONDS = 0.02, 15.0, 90.0

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
    #: Every turn sent: (start, seconds, answered right); failed turns included.
    turns: List[Tuple[float, float, bool]] = field(default_factory=list)
    #: Turns answered with HTTP 200 and no message at all.
    empty: int = 0


def expect(*expected: str) -> Check:
    def check(replies: List[str]) -> None:
        assert replies == list(expected), replies

    return check


def expect_reference(replies: List[str]) -> str:
    assert len(replies) == 1, replies
    found = re.search(r"ESC-\d{4}-\d{6}", replies[0])
    assert found, replies  # e.g. the apology: a failed turn, not a crash of the test
    assert replies[0] == confirmation(found.group(0)), replies
    return found.group(0)


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
                   progress: Callable[[], None], turns: Optional[List[Turn]] = None,
                   prefix: str = "soak") -> Outcome:
    """Runs one conversation; stops at the first wrong reply or failed request."""
    outcome = Outcome(sender=f"{prefix}-{uuid.uuid4().hex}", number=number)
    for index, turn in enumerate(turns or turns_for(number), start=1):
        started = time.monotonic()
        try:
            async with session.post(url, json={"sender": outcome.sender, "message": turn.text},
                                    timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as reply:
                outcome.sent.append(turn.text)
                if reply.status != 200:
                    raise aiohttp.ClientResponseError(reply.request_info, (), status=reply.status,
                                                      message="HTTP status")
                replies = [message.get("text") for message in await reply.json()]
            outcome.latencies.append(time.monotonic() - started)
            outcome.empty += not replies
            reference = turn.check(replies)
        except AssertionError as wrong:
            outcome.turns.append((started, time.monotonic() - started, False))
            outcome.error = f"turn {index} ({turn.text!r}): wrong reply {wrong}"
            return outcome
        except (aiohttp.ClientError, asyncio.TimeoutError) as failed:
            outcome.turns.append((started, time.monotonic() - started, False))
            outcome.error = f"turn {index}: {type(failed).__name__} {failed}"
            return outcome
        outcome.turns.append((started, time.monotonic() - started, True))
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
    await back_in_nginx(cluster)
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


async def back_in_nginx(cluster: Cluster, timeout: float = 30) -> None:
    """Waits until the supervisor has every healthy replica in nginx again."""
    deadline = time.monotonic() + timeout
    while cluster.supervisor.down and time.monotonic() < deadline:
        await asyncio.sleep(0.2)


def user_messages(database_url: str, senders: List[str],
                  prefix: str = "soak") -> Dict[str, List[str]]:
    """Each conversation's user messages in the tracker store, in stored order."""
    engine = sa.create_engine(database_url)
    found: Dict[str, List[str]] = {sender: [] for sender in senders}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("select sender_id, data from events where type_name = 'user' "
                    "and sender_id like :prefix order by id"),
            {"prefix": rest_conversation_id(f"{prefix}-%")},
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


@dataclass
class Fault:
    """One SIGKILL and what followed."""

    child: str
    at_turn: int
    killed_at: float = 0.0
    back_s: float = float("nan")  # until the process answers again
    answering_s: float = float("nan")  # until a new conversation's turn through nginx is right
    emergencies: List[Outcome] = field(default_factory=list)


def child_answers(cluster: Cluster, child: str, old_pid: int) -> bool:
    """Whether `child` is a new process (restarted) that answers on its port."""
    import socket
    import urllib.error
    import urllib.request

    process = cluster.processes.get(child)
    if process is None or process.pid == old_pid or process.poll() is not None:
        return False
    kind, _, number = child.partition("-")
    if kind == "redis":
        try:
            with socket.create_connection(("127.0.0.1", cluster.ports.redis), timeout=1):
                return True
        except OSError:
            return False
    url = {
        "rasa": lambda: cluster.rasa_urls[int(number) - 1] + "/",
        "actions": lambda: f"http://127.0.0.1:{cluster.ports.actions[int(number) - 1]}/health",
        "webapp": lambda: f"http://127.0.0.1:{cluster.ports.webapp}/staff/login",
        "nginx": lambda: cluster.url + "/staff/login",
    }[kind]()
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


async def crash_one(cluster: Cluster, fault: Fault, session: aiohttp.ClientSession,
                    url: str) -> None:
    """Kills one process, sends emergencies during the outage, times its recovery."""
    old_pid = cluster.kill(fault.child)
    fault.killed_at = time.monotonic()
    # A second later: during the outage. (At the very instant of a kill, a dying replica's
    # socket still accepts a turn that then fails with 502, like any turn in flight: counted
    # by the parents' turns above.)
    await asyncio.sleep(1)
    emergency = [Turn(EMERGENCY, expect(get_resources().message("emergency")))]
    fault.emergencies = list(await asyncio.gather(*(
        converse(session, url, number, lambda: None, emergency, prefix="crash-emergency")
        for number in range(EMERGENCIES_PER_FAULT))))
    while not child_answers(cluster, fault.child, old_pid):
        assert time.monotonic() - fault.killed_at < MAX_RECOVERY_SECONDS * 2, fault.child
        await asyncio.sleep(0.25)
    fault.back_s = time.monotonic() - fault.killed_at
    await back_in_nginx(cluster)
    hello = [Turn("Hello!", expect(get_resources().message("greet")))]
    while (await converse(session, url, 0, lambda: None, hello, prefix="crash-probe")).error:
        await asyncio.sleep(0.5)
    fault.answering_s = time.monotonic() - fault.killed_at


async def crash_soak(cluster: Cluster, workers: int, children: List[str]
                     ) -> Tuple[List[Outcome], List[Fault]]:
    """`workers` parents each run conversations back to back until every fault has recovered.

    A fault comes once the previous one has recovered and 5 more turns per worker are done,
    so each process dies under full load.
    """
    counter = {"done": 0}
    faults = [Fault(child, 0) for child in children]
    finished = asyncio.Event()

    def progress() -> None:
        counter["done"] += 1

    url = cluster.url + "/webhooks/rest/webhook"
    outcomes: List[Outcome] = []
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def parent(worker: int) -> None:
            number = worker
            while not finished.is_set():
                outcome = await converse(session, url, number, progress, prefix="crash")
                outcomes.append(outcome)
                number += workers
                if outcome.error:
                    await asyncio.sleep(1)  # a parent whose turn failed writes again later

        async def injector() -> None:
            try:
                for fault in faults:
                    fault.at_turn = counter["done"] + 5 * workers
                    while counter["done"] < fault.at_turn:
                        await asyncio.sleep(0.1)
                    await crash_one(cluster, fault, session, url)
            finally:
                finished.set()

        await asyncio.gather(injector(), *(parent(worker) for worker in range(workers)))
    return outcomes, faults


def fault_table(outcomes: List[Outcome], faults: List[Fault],
                stored: Dict[str, List[str]]) -> List[Dict[str, float]]:
    """Per fault: the turns started from its kill to the next one (or the end)."""
    rows = []
    for index, fault in enumerate(faults):
        end = faults[index + 1].killed_at if index + 1 < len(faults) else float("inf")
        # Turns that ended from this kill to the next one (those in progress at the kill too).
        window = [turn for o in outcomes for turn in o.turns
                  if fault.killed_at <= turn[0] + turn[1] < end]
        touched = [o for o in outcomes if any(t in window for t in o.turns)]
        wrong = [o for o in touched if stored[o.sender] not in stored_forms(o)]
        duplicated = sum(len(stored[o.sender]) > len(set(stored[o.sender])) for o in wrong)
        lost = len(wrong) - duplicated
        kinds = Counter(re.sub(r"^turn \d+( \(.*?\))?: ", "", o.error).split(",")[0][:60]
                        for o in touched if o.error and o.turns[-1] in window)
        rows.append({
            "fault": f"SIGKILL {fault.child}", "sent": len(window), "kinds": dict(kinds),
            "failed": sum(not ok for _, _, ok in window),
            "slowest_s": max((seconds for _, seconds, _ in window), default=0.0),
            "back_s": fault.back_s, "answering_s": fault.answering_s,
            "lost": lost, "duplicated": duplicated,
        })
    return rows


def stored_forms(outcome: Outcome) -> List[List[str]]:
    """What the store may hold: every message sent, once, in order; a failed last turn or not."""
    return [outcome.sent[:-1], outcome.sent] if outcome.error else [outcome.sent]


def urgent_cases(cluster: Cluster, senders: List[str], timeout: float = 90) -> Dict[str, int]:
    """Urgent cases per conversation, waiting for outboxes to be moved into the store."""
    store = EscalationStore(cluster.escalation_db_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            # Cases name the stored conversation (`rest:<sender>`, channels/conversation_ids.py).
            counts = {rest_conversation_id(sender): 0 for sender in senders}
            for case in store.list(("open", "contacted", "closed")):
                if case.conversation_id in counts and case.urgency == "urgent":
                    counts[case.conversation_id] += 1
            if all(counts.values()) or time.monotonic() > deadline:
                return {sender: counts[rest_conversation_id(sender)] for sender in senders}
            time.sleep(2)
    finally:
        store.dispose()


def test_soak_through_crashes(cluster):
    workers = max(4, CONVERSATIONS // 2)
    outcomes, faults = asyncio.run(crash_soak(cluster, workers, CRASHES))
    stored = user_messages(cluster.tracker_db_url, [o.sender for o in outcomes], prefix="crash")
    rows = fault_table(outcomes, faults, stored)
    turns = [turn for o in outcomes for turn in o.turns]
    failed = [o for o in outcomes if o.error]
    replayed = sum(v for k, v in upstreams(cluster).items() if ", " in k)
    from_store = sum(log.read_text(errors="replace").count(REPLAYED_TURN)
                     for log in (cluster.work_dir / "logs").glob("rasa-*.log"))
    print(f"\ncrash soak: {workers} parents, {len(outcomes)} conversations, {len(turns)} turns, "
          f"{len(failed)} failed; sent again by nginx to the other replica: {replayed} "
          f"({from_store} of them already stored, answered from the store); "
          f"supervisor: "
          + "; ".join(f"{e.child} {e.what}" for e in cluster.supervisor.events))
    print("| fault | turns sent | failed | slowest turn | back after | answering after "
          "| lost / duplicated messages |\n|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['fault']} | {row['sent']} | {row['failed']} | {row['slowest_s']:.1f} s "
              f"| {row['back_s']:.1f} s | {row['answering_s']:.1f} s "
              f"| {row['lost']} / {row['duplicated']} |")
    for outcome in failed:
        print(f"failed: {outcome.error[:160]}")
    emergencies = [o for fault in faults for o in fault.emergencies]
    recorded = urgent_cases(cluster, [o.sender for o in emergencies])
    for row, fault in zip(rows, faults, strict=True):
        print(f"{row['fault']}: failed turns {row['kinds']}; emergencies "
              f"{sum(not o.error for o in fault.emergencies)}/{len(fault.emergencies)} answered, "
              f"{sum(recorded[o.sender] == 1 for o in fault.emergencies)} recorded once")

    assert cluster.supervisor.failure is None
    assert sum(o.empty for o in outcomes + emergencies) == 0  # no turn answered with nothing
    assert len([t for t in turns if not t[2]]) <= MAX_FAILED_SHARE * len(turns), rows
    assert max(seconds for _, seconds, _ in turns) < MAX_TURN_SECONDS, rows
    for fault in faults:
        assert fault.back_s < MAX_RECOVERY_SECONDS and fault.answering_s < MAX_RECOVERY_SECONDS
    # Each stored message exactly once and in order: all of a finished conversation's; a failed
    # one's up to its failed turn, which may or may not have been stored, once.
    for outcome in outcomes:
        assert stored[outcome.sender] in stored_forms(outcome), (outcome.sender, outcome.error)
    assert [o.error for o in emergencies] == [None] * len(emergencies)
    assert set(recorded.values()) == {1}, recorded  # every emergency recorded once


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


def test_nginx_replaces_a_clients_request_id(cluster):
    import urllib.request

    # A client's X-Request-ID would make its second "Hello!" a replay of the first (answered
    # from the store, stored once); nginx's own id makes it a new turn.
    sender = f"request-id-{uuid.uuid4().hex}"
    for _ in range(2):
        request = urllib.request.Request(
            cluster.url + "/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": "Hello!"}).encode(),
            headers={"Content-Type": "application/json", "X-Request-ID": "f" * 32})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            assert [m.get("text") for m in json.load(response)] == [
                get_resources().message("greet")]
    assert user_messages(cluster.tracker_db_url, [sender], prefix="request-id")[sender] == [
        "Hello!", "Hello!"]


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
