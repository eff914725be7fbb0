import jsonschema
import pytest
import rasa.core.actions.action as rasa_action
from rasa.core.actions.action import RemoteAction

from clinic.rasa_runtime import tune_rasa_runtime


@pytest.fixture
def tuned(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result",
                        RemoteAction._validate_action_result)
    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT",
                        rasa_action.DEFAULT_REQUEST_TIMEOUT)
    monkeypatch.setenv("ACTION_TIMEOUT_SECONDS", "4")
    tune_rasa_runtime()
    tune_rasa_runtime()  # idempotent


def test_action_timeout_comes_from_the_environment(tuned):
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT == 4.0


def test_valid_responses_pass_and_invalid_ones_fail_as_in_rasa(tuned):
    action = RemoteAction("action_answer_topic", None)
    assert action._validate_action_result(
        {"events": [{"event": "slot", "name": "x", "value": 1}],
         "responses": [{"text": "an answer"}]})
    with pytest.raises(jsonschema.ValidationError) as raised:
        action._validate_action_result({"events": [{"no_event_key": 1}]})
    assert "Failed to validate Action server response" in raised.value.message


@pytest.fixture
def retried(monkeypatch, tuned):
    """Rasa's RemoteAction.run restored after the test (tune_rasa_runtime wraps it)."""
    monkeypatch.setattr(RemoteAction, "run", RemoteAction.run)


def remote_action(port: int, name: str = "action_answer_topic") -> RemoteAction:
    from rasa.utils.endpoints import EndpointConfig

    return RemoteAction(name, EndpointConfig(f"http://127.0.0.1:{port}/webhook"))


async def run_action(action: RemoteAction):
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    return await action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}),
                            DialogueStateTracker("conversation", []), Domain.empty())


async def start_action_server(port: int, calls: list, dropped: int = 0):
    """An action server on `port` that drops its first `dropped` calls."""
    from aiohttp import web

    async def webhook(request: web.Request) -> web.StreamResponse:
        calls.append(await request.json())
        if len(calls) <= dropped:
            # Dies with the request in flight (the connection closes without a response).
            request.transport.close()
        return web.json_response({"events": [{"event": "slot", "name": "x", "value": 1}],
                                  "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_an_action_call_waits_for_a_restarting_action_server(monkeypatch, retried):
    import asyncio

    from local.services import free_port

    monkeypatch.setenv("ACTION_CONNECT_RETRY_SECONDS", "10")
    port, calls = free_port(), []

    async def restart_later():
        await asyncio.sleep(1)  # the action server is being restarted: connections refused
        return await start_action_server(port, calls)

    starting = asyncio.create_task(restart_later())
    events = await run_action(remote_action(port))
    runner = await starting
    await runner.cleanup()
    assert [event.as_dict()["name"] for event in events] == ["x"]
    assert len(calls) == 1


async def test_an_action_call_gives_up_after_the_retry_time(monkeypatch, retried):
    import time

    from rasa.shared.exceptions import RasaException

    from local.services import free_port

    monkeypatch.setenv("ACTION_CONNECT_RETRY_SECONDS", "0.5")
    started = time.monotonic()
    with pytest.raises(RasaException, match="Couldn't connect"):
        await run_action(remote_action(free_port()))
    assert time.monotonic() - started < 5  # 0.5 s of retries, not the 10 s action timeout


@pytest.mark.parametrize("action,calls_made", [
    ("action_answer_topic", 2),  # reads only: sent again
    ("action_submit_escalation", 1),  # may have stored the case: never twice
    ("action_emergency", 1),
])
async def test_a_call_lost_with_the_action_server_is_sent_again_unless_it_records(
        monkeypatch, retried, action, calls_made):
    from rasa.shared.exceptions import RasaException

    from local.services import free_port

    monkeypatch.setenv("ACTION_CONNECT_RETRY_SECONDS", "5")
    port, calls = free_port(), []
    runner = await start_action_server(port, calls, dropped=1)
    try:
        if calls_made == 1:
            with pytest.raises(RasaException):
                await run_action(remote_action(port, action))
        else:
            events = await run_action(remote_action(port, action))
            assert [event.as_dict()["name"] for event in events] == ["x"]
    finally:
        await runner.cleanup()
    assert len(calls) == calls_made
