"""Every change to Rasa internals, in one guarded place, applied by one call: `apply()`.

Each replaces behaviour that Rasa offers no setting for. They are written against the Rasa
version pinned in requirements.in (the one place the pin is written): `apply()` refuses to
start, with a one-line message, when another version is installed. The Rasa server calls it
when it sets up its channels (every channel's handler is wrapped by channels/reply_guard.py,
which calls it), so nothing is patched at import. docs/rasa-upgrade.md is the checklist of
every touch point, these and the subclasses listed in `SUBCLASS_TOUCH_POINTS`.

* The action server timeout: Rasa waits 300 s for a custom action (`DEFAULT_REQUEST_TIMEOUT`,
  read on every call). A parent should not wait that long for the apology: it becomes
  `ACTION_TIMEOUT_SECONDS` (default 10).
* The action response check: Rasa validates every action server response with
  `jsonschema.validate`, which first validates the *schema* itself, on every call. Profiled on
  the REST channel, that schema check alone was 10 % of the Rasa server's CPU per message.
  The response is now checked with one validator built (and its schema checked) once; when it
  finds a problem, Rasa's own check runs, so errors read exactly as before.
* Action server restarts: a call that cannot connect (the server was killed and is being
  restarted: back in 5-6 s in the crash soak) is tried again every 0.25 s for
  `ACTION_CONNECT_RETRY_SECONDS` (default 10, so that a restart fits; a turn stays under the
  15 s bar) before the turn gets the apology. A call that was sent and lost with the server
  (disconnected, reset) is sent again the same way unless the action records something
  (`RECORDING_ACTIONS`: it may have stored the case before it died, and a case must not be
  stored twice): the other actions only read the conversation. Measured in the crash soak
  (25 parents): 27-35 of ~300 turns failed in the second after an action server was killed
  with no retry; 10 of 251 (apologies, and forms that went a step wrong) with the retry of
  refused connections for 5 s.
* Messages that ask more than one thing: the NLU graph parses the whole message and each of its
  question parts in one run (one batch through the same pipeline, red-flag rules included), and
  knowledge/message_parts.py combines the results. A message of one question costs what it did.
* Stopping: tasks still pending when the Rasa server stops (each widget connection's
  engine.io ping task) are cancelled and awaited before Sanic closes the event loop; they were
  destroyed with it, and every Ctrl-C of `make run` after a widget conversation printed
  "Task was destroyed but it is pending!".
* Replayed turns: nginx sends a turn again to the other replica when the first one died with
  it (deploy/nginx/clinic.conf.template), with the same request id, which the REST channel
  makes the message id (channels/rest.py). Rasa 3.6 stores a turn once, at the end
  (MessageProcessor.handle_message: `log_message(should_save_tracker=False)`, then
  `save_tracker`), so the dead replica either stored the whole turn or none of it. Before
  processing (under the conversation's lock, which Agent.handle_message holds), the
  conversation is read: when it already holds a user message with this id and text, the bot
  messages stored after it are sent again and nothing is processed or stored; otherwise the
  turn is processed as usual. Measured before: the replay stored the parent's message twice
  and the form took "yes" as the parent's name. The check is within one conversation, so an id
  can only replay that conversation's own replies. It costs one more read of the conversation
  per turn.
* Store health: Rasa wraps the tracker store (FailSafeTrackerStore, AwaitableTrackerStore, in
  their private `_tracker_store`); the health endpoint (channels/health.py) pings the project's
  store inside (`unwrapped_store`).
* Telegram's output: TelegramOutput.__init__ hard-codes the production Bot API server; the
  project's output (channels/telegram.py) is initialised as aiogram's Bot with a configurable
  server instead (`init_telegram_output`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

logger = logging.getLogger(__name__)

#: Where the Rasa version these changes were written and tested against is pinned.
REQUIREMENTS_FILE = Path(__file__).resolve().parent / "requirements.in"
#: Private Rasa code the project's own subclasses override, call or rely on, where a subclass
#: reads better than a patch: (Rasa module, class, member, where, why). The version guard
#: covers them: the channels and the tracker store run only where `apply` ran (the Rasa server,
#: the staff shell), and the three classifier components, which `rasa train` and `make eval`
#: also load, check the version when they are made. `missing_touch_points` checks that each
#: still exists; docs/rasa-upgrade.md lists them.
SUBCLASS_TOUCH_POINTS: Tuple[Tuple[str, str, str, str, str], ...] = (
    ("rasa.nlu.classifiers.fallback_classifier", "FallbackClassifier", "_should_fallback",
     "components/second_opinion.py", "the gate also falls back when the classifiers disagree"),
    ("rasa.nlu.classifiers.logistic_regression_classifier", "LogisticRegressionClassifier",
     "_create_X", "components/second_opinion.py", "the second opinion's features"),
    ("rasa.nlu.classifiers.logistic_regression_classifier", "LogisticRegressionClassifier",
     "_create_X", "components/svm_opinion.py", "the SVM's training features"),
    ("rasa.core.tracker_store", "SQLTrackerStore", "_additional_events",
     "stores/tracker.py", "no count query on every save"),
    ("rasa.core.tracker_store", "SQLTrackerStore", "_retrieve",
     "stores/tracker.py", "the read fetches only the events' JSON column"),
    ("rasa.core.tracker_store", "SQLTrackerStore", "_event_query",
     "stores/tracker.py", "called by that read (Rasa's own session query)"),
    ("rasa.core.channels.rest", "RestInput", "_extract_sender", "channels/rest.py",
     "the sender becomes rest:<sender>"),
    ("rasa.core.channels.rest", "RestInput", "_extract_input_channel", "channels/rest.py",
     "the client cannot name the channel"),
    ("rasa.core.channels.facebook", "Messenger", "_handle_user_message",
     "channels/messenger.py", "keyed conversation ids, numbered choices"),
    ("rasa.core.channels.socketio", "SocketIOOutput", "_send_message", "channels/socketio.py",
     "message markers for the widget"),
    ("rasa.core.channels.socketio", "SocketIOInput", "blueprint", "channels/socketio.py",
     "re-implemented: origins, signed sessions, rate limit"),
)


class WrongRasaVersion(SystemExit):
    """The installed Rasa is not the pinned one: the server stops with a one-line message."""


def pinned_version(package: str = "rasa", requirements: Path = REQUIREMENTS_FILE) -> str:
    """The version `requirements` pins `package` to (`name==version`)."""
    for line in requirements.read_text(encoding="utf-8").splitlines():
        name, pinned, version = line.split("#")[0].partition("==")
        if pinned and name.strip().lower() == package:
            return version.strip()
    raise WrongRasaVersion(f"rasa_patches.py: {requirements.name} pins no {package} version")


def check_rasa_version(installed: Optional[str] = None) -> None:
    """Raises WrongRasaVersion (one line) unless the installed Rasa is the pinned one."""
    if installed is None:
        import rasa

        installed = rasa.__version__
    pinned = pinned_version("rasa")
    if installed != pinned:
        raise WrongRasaVersion(
            f"rasa_patches.py is written for Rasa {pinned} (requirements.in) but Rasa "
            f"{installed} is installed: install {pinned}, or upgrade by docs/rasa-upgrade.md"
        )


def missing_touch_points() -> List[str]:
    """The listed private Rasa members that the installed Rasa no longer has."""
    import importlib

    missing = []
    for module, cls, member, _where, _why in SUBCLASS_TOUCH_POINTS:
        if not hasattr(getattr(importlib.import_module(module), cls, None), member):
            missing.append(f"{module}.{cls}.{member}")
    return missing


ACTION_TIMEOUT_ENV = "ACTION_TIMEOUT_SECONDS"
DEFAULT_ACTION_TIMEOUT = 10.0
ACTION_CONNECT_RETRY_ENV = "ACTION_CONNECT_RETRY_SECONDS"
DEFAULT_ACTION_CONNECT_RETRY = 10.0
#: Actions that store something (escalation/service.py record_escalation): a call to
#: them that was sent is never sent again.
RECORDING_ACTIONS = frozenset({"action_emergency", "action_submit_escalation"})
#: Logged when a replayed turn is answered from the store (the crash soak counts it).
REPLAYED_TURN = "replayed turn"
#: Message ids made from a request id (channels/rest.py) start with this: only such a turn can
#: be a replay, so only it pays the extra read of the conversation.
REQUEST_MESSAGE_ID_PREFIX = "request-"


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def apply() -> None:
    """Applies the changes (idempotent).

    Raises:
        WrongRasaVersion: when the installed Rasa is not the pinned version.
    """
    check_rasa_version()  # before importing Rasa's modules: nothing else runs when it fails
    import rasa.core.actions.action as rasa_action

    _parse_message_parts()
    _finish_tasks_at_stop()
    _replay_stored_turns()

    rasa_action.DEFAULT_REQUEST_TIMEOUT = float(
        os.environ.get(ACTION_TIMEOUT_ENV, DEFAULT_ACTION_TIMEOUT)
    )
    remote = rasa_action.RemoteAction
    if getattr(remote._validate_action_result, "_clinic_cached", False):
        return
    _retry_refused_action_calls(remote)
    rasa_check = remote._validate_action_result

    def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
        if _response_validator().is_valid(result):
            return True
        return rasa_check(self, result)  # raises with Rasa's message

    validate_action_result._clinic_cached = True  # type: ignore[attr-defined]
    remote._validate_action_result = validate_action_result


def _retry_refused_action_calls(remote: Any) -> None:
    """RemoteAction.run tries again while the action server is down (see the docstring)."""
    import asyncio
    import time

    import aiohttp

    rasa_run = remote.run

    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + float(
            os.environ.get(ACTION_CONNECT_RETRY_ENV, DEFAULT_ACTION_CONNECT_RETRY))
        while True:
            try:
                return await rasa_run(self, *args, **kwargs)
            except Exception as error:
                # Rasa raises its own exception inside `except ClientConnectionError`.
                cause = error.__context__
                refused = isinstance(cause, aiohttp.ClientConnectorError)
                lost = isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError)
                if not (refused or (lost and self.name() not in RECORDING_ACTIONS)) or (
                        time.monotonic() >= deadline):
                    raise
                await asyncio.sleep(0.25)

    remote.run = run


def _parse_message_parts() -> None:
    """Parses a multi-part message's question parts with it, in the same graph run."""
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER

    from clinic.resources import get_resources
    from knowledge.aspects import read_aspect_file
    from knowledge.message_parts import combine, question_parts

    if getattr(MessageProcessor._parse_message_with_graph, "_clinic_parts", False):
        return
    rasa_parse = MessageProcessor._parse_message_with_graph
    aspect_file = read_aspect_file()

    def parse_message_with_graph(
        self: Any, message: Any, tracker: Any, only_output_properties: bool = True
    ) -> Dict[Text, Any]:
        text = message.text or ""
        questions, has_background = ([], False) if text.startswith("/") else question_parts(text)
        if not questions:
            return rasa_parse(self, message, tracker, only_output_properties)
        extra = [
            UserMessage(q, sender_id=message.sender_id, input_channel=message.input_channel)
            for q in questions
        ]
        target = self.model_metadata.nlu_target
        results = self.graph_runner.run(
            inputs={PLACEHOLDER_MESSAGE: [message, *extra], PLACEHOLDER_TRACKER: tracker},
            targets=[target],
        )
        parsed = [
            {
                "text": "",
                "intent": {"name": None, "confidence": 0.0},
                "entities": [],
                **item.as_dict(only_output_properties=only_output_properties),
            }
            for item in results[target]
        ]
        return combine(
            parsed[0],
            list(zip(questions, parsed[1:], strict=True)),
            has_background,
            get_resources().content.answers,
            aspect_file.condition_answers,
            aspect_file.general_questions,
        )

    parse_message_with_graph._clinic_parts = True  # type: ignore[attr-defined]
    MessageProcessor._parse_message_with_graph = parse_message_with_graph


#: How long the Rasa server waits for cancelled tasks when it stops.
TASK_FINISH_SECONDS = 5.0
#: The names Rasa 3.6 gives its Sanic app (without and with the HTTP API).
RASA_APP_NAMES = frozenset({"rasa_core_no_api", "rasa_server"})


def _finish_tasks_at_stop() -> None:
    """Cancels the Rasa server's pending tasks when it stops (its app exists by now)."""
    from sanic import Sanic

    # apply() runs while Rasa registers the channels, after it made its app (named
    # by rasa/core/run.py or rasa/server.py) and before it starts it.
    for name, app in list(Sanic._app_registry.items()):
        if name not in RASA_APP_NAMES or getattr(app.ctx, "clinic_finishes_tasks", False):
            continue
        if app.signal_router.finalized:  # already running: too late to add a listener
            continue
        app.ctx.clinic_finishes_tasks = True
        app.register_listener(finish_pending_tasks, "after_server_stop")


async def finish_pending_tasks(_app: Any, _loop: asyncio.AbstractEventLoop) -> None:
    """Cancels every other pending task of the loop and waits (bounded) until they end."""
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=TASK_FINISH_SECONDS)


def stored_replies(tracker: Any, message: Any) -> Optional[List[Dict[Text, Any]]]:
    """The bot messages stored after `message` if the tracker holds it already, else None."""
    from rasa.shared.core.events import BotUttered, UserUttered

    if tracker is None or not message.message_id:
        return None
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, UserUttered) and event.message_id == message.message_id:
            if event.text != message.text:
                return None  # the same id for another message: not a replay
            replies = []
            for later in events[index + 1:]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):
                    replies.append(later.message())
            return replies
    return None


def _replay_stored_turns() -> None:
    """MessageProcessor.handle_message answers a stored turn from the store."""
    import uuid

    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import UserUttered

    if getattr(MessageProcessor.handle_message, "_clinic_replay", False):
        return
    rasa_handle = MessageProcessor.handle_message

    async def handle_message(self: Any, message: Any) -> Optional[List[Dict[Text, Any]]]:
        if not str(message.message_id or "").startswith(REQUEST_MESSAGE_ID_PREFIX):
            return await rasa_handle(self, message)  # a fresh id: never stored before
        tracker = await self.tracker_store.retrieve(message.sender_id)
        replies = stored_replies(tracker, message)
        if replies is None:
            if tracker is not None and any(
                    isinstance(event, UserUttered) and event.message_id == message.message_id
                    for event in tracker.events):
                message.message_id = uuid.uuid4().hex  # keep the stored ids unique
            return await rasa_handle(self, message)
        # A warning: it means a replica died with this turn in flight.
        logger.warning("%s: turn already stored; its %d replies sent again", REPLAYED_TURN,
                       len(replies))
        for reply in replies:
            await message.output_channel.send_response(message.sender_id, reply)
        if isinstance(message.output_channel, CollectingOutputChannel):
            return message.output_channel.messages
        return None

    handle_message._clinic_replay = True  # type: ignore[attr-defined]
    MessageProcessor.handle_message = handle_message


def unwrapped_store(store: Any) -> Any:
    """The project's store inside Rasa's wrappers (FailSafeTrackerStore, AwaitableTrackerStore)."""
    while hasattr(store, "_tracker_store"):
        store = store._tracker_store
    return store


def init_telegram_output(output: Any, access_token: Optional[Text], server: Any,
                         timeout: float) -> None:
    """Initialises a TelegramOutput as aiogram's Bot on `server`, skipping Rasa's __init__.

    TelegramOutput.__init__ only passes the token on, to aiogram's production server.
    """
    from rasa.core.channels.telegram import TelegramOutput

    super(TelegramOutput, output).__init__(access_token, server=server, timeout=timeout)
