import jsonschema
import pytest
import rasa.core.actions.action as rasa_action
from rasa.core.actions.action import RemoteAction

import rasa_patches


@pytest.fixture
def tuned(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result",
                        RemoteAction._validate_action_result)
    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT",
                        rasa_action.DEFAULT_REQUEST_TIMEOUT)
    monkeypatch.setenv("ACTION_TIMEOUT_SECONDS", "4")
    rasa_patches.apply()
    rasa_patches.apply()  # idempotent


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
    """Rasa's RemoteAction.run restored after the test (apply wraps it)."""
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


def test_another_rasa_version_is_refused_with_one_line(monkeypatch):
    import rasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(SystemExit) as refused:
        rasa_patches.apply()
    message = str(refused.value)
    assert "\n" not in message
    assert "Rasa 3.6.21 (requirements.in)" in message and "Rasa 3.7.0 is installed" in message


def test_the_server_process_stops_with_the_line_and_no_traceback():
    import subprocess
    import sys

    from clinic.paths import PROJECT_ROOT

    code = "import rasa; rasa.__version__ = '3.5.0'; import rasa_patches; rasa_patches.apply()"
    run = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "rasa_patches.py is written for Rasa 3.6.21 (requirements.in) but Rasa 3.5.0 is "
        "installed: install 3.6.21, or upgrade by docs/rasa-upgrade.md"]


def test_the_pin_is_read_from_requirements_in_and_the_lock_agrees(tmp_path):
    from clinic.paths import PROJECT_ROOT

    lock = (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert f"\nrasa=={rasa_patches.pinned_version('rasa')} " in lock
    other = tmp_path / "requirements.in"
    other.write_text("rasa-sdk==3.6.2\nrasa==9.9.9  # a comment\n", encoding="utf-8")
    assert rasa_patches.pinned_version("rasa", other) == "9.9.9"


def test_every_listed_subclass_touch_point_exists_in_rasa_and_in_its_file():
    from clinic.paths import PROJECT_ROOT

    assert rasa_patches.missing_touch_points() == []
    for _module, _cls, member, where, _why in rasa_patches.SUBCLASS_TOUCH_POINTS:
        assert member in (PROJECT_ROOT / where).read_text(encoding="utf-8"), (member, where)


def test_the_upgrade_checklist_names_every_touch_point():
    from clinic.paths import PROJECT_ROOT

    checklist = (PROJECT_ROOT / "docs" / "rasa-upgrade.md").read_text(encoding="utf-8")
    patches = ["_validate_action_result", "DEFAULT_REQUEST_TIMEOUT", "RemoteAction.run",
               "_parse_message_with_graph", "MessageProcessor.handle_message",
               "_app_registry", "_tracker_store", "TelegramOutput.__init__"]
    listed = [member for _m, _c, member, _w, _y in rasa_patches.SUBCLASS_TOUCH_POINTS]
    assert [name for name in patches + listed if f"`{name}`" not in checklist
            and f"{name}`" not in checklist] == []
