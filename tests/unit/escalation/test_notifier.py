import datetime as dt
import json

import pytest
from aiohttp import web

from escalation.notifier import SIGNATURE_HEADER, WebhookNotifier, retry_delay, sign, verify
from escalation.store import EscalationStore

SECRET = "test-secret"  # noqa: S105


class Receiver:
    """A local webhook receiver that fails its first `failures` requests."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((body, request.headers.get(SIGNATURE_HEADER)))
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=500)
        return web.Response(status=204)


@pytest.fixture
def store(tmp_path):
    store = EscalationStore(f"sqlite:///{tmp_path / 'escalations.db'}")
    yield store
    store.dispose()


@pytest.fixture
async def receiver_url():
    receivers = []

    async def start(receiver: Receiver) -> str:
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        receivers.append(runner)
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook"

    yield start
    for runner in receivers:
        await runner.cleanup()


def new_case(store):
    return store.create(channel="rest", conversation_id="c", urgency="urgent", reason="emergency",
                        transcript=[{"speaker": "user", "text": "he can't breathe"}])


def test_signature_round_trip():
    body = b'{"a": 1}'
    assert verify(body, SECRET, sign(body, SECRET))
    assert not verify(body, "other", sign(body, SECRET))
    assert not verify(body + b" ", SECRET, sign(body, SECRET))


def test_backoff_grows_and_is_capped():
    assert retry_delay(1) == dt.timedelta(seconds=30)
    assert retry_delay(2) == dt.timedelta(seconds=60)
    assert retry_delay(20) == dt.timedelta(minutes=30)


def test_url_without_secret_is_refused():
    with pytest.raises(ValueError, match="unsigned"):
        WebhookNotifier.from_environment({"ESCALATION_WEBHOOK_URL": "http://127.0.0.1:9/x"})


async def test_delivery_is_signed_json(store, receiver_url):
    receiver = Receiver()
    notifier = WebhookNotifier(url=await receiver_url(receiver), secret=SECRET)
    case = new_case(store)
    assert await notifier.deliver(store, case)
    [(body, signature)] = receiver.received
    assert verify(body, SECRET, signature)
    assert json.loads(body)["escalation"]["reference"] == case.reference
    assert store.get(case.reference).notification_state == "sent"


async def test_the_webhook_never_carries_the_conversation_id(store, receiver_url):
    receiver = Receiver()
    notifier = WebhookNotifier(url=await receiver_url(receiver), secret=SECRET)
    session_id = "0123456789abcdef0123456789abcdef.signature"
    case = store.create(channel="socketio", conversation_id=session_id, urgency="urgent",
                        reason="emergency", transcript=[])
    assert await notifier.deliver(store, case)
    [(body, _)] = receiver.received
    # The widget's session id lets whoever holds it continue the conversation.
    assert session_id not in body.decode() and "conversation_id" not in body.decode()
    assert json.loads(body)["escalation"]["case_id"] == case.case_id


async def test_failed_attempts_are_retried_until_delivered(store, receiver_url):
    receiver = Receiver(failures=2)
    notifier = WebhookNotifier(url=await receiver_url(receiver), secret=SECRET)
    case = new_case(store)
    assert not await notifier.deliver(store, case)
    flagged = store.get(case.reference)
    assert flagged.notification_state == "failed"
    assert flagged.next_notification_at > dt.datetime.now(dt.timezone.utc)

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    for _ in range(2):
        for due in store.due_notifications(now=later):
            await notifier.deliver(store, due)
    assert len(receiver.received) == 3
    final = store.get(case.reference)
    assert final.notification_state == "sent" and final.notification_attempts == 3


async def test_nothing_is_lost_while_the_receiver_is_down(store):
    # Port 9 (discard) on loopback: connection refused for the whole test.
    notifier = WebhookNotifier(url="http://127.0.0.1:9/hook", secret=SECRET, timeout_seconds=1)
    cases = [new_case(store) for _ in range(3)]
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    for _ in range(3):
        for due in store.due_notifications(now=later):
            await notifier.deliver(store, due)
    for case in cases:
        stored = store.get(case.reference)
        assert stored is not None
        assert stored.notification_state == "failed"
        assert stored.notification_attempts == 3
        assert "Connect" in stored.notification_error or "refused" in stored.notification_error


async def test_disabled_notifier_keeps_cases_pending(store):
    notifier = WebhookNotifier(url=None, secret="")
    case = new_case(store)
    assert not await notifier.deliver(store, case)
    assert await notifier.deliver_due(store) == 0
    # Disabled: the case stays pending (visible in the inbox), never dropped.
    assert store.get(case.reference).notification_state == "pending"


async def test_retry_loop_picks_up_new_cases_after_the_grace_period(store, receiver_url):
    receiver = Receiver()
    notifier = WebhookNotifier(url=await receiver_url(receiver), secret=SECRET)
    case = new_case(store)  # its creator never got to notify (e.g. the action server died)
    assert await notifier.deliver_due(store) == 0
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    assert await notifier.deliver_due(store, now=later) == 1
    assert store.get(case.reference).notification_state == "sent"
    assert await notifier.deliver_due(store, now=later) == 0
