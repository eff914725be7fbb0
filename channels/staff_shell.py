"""The staff shell (`make shell`): chat with the assistant in the terminal.

Replaces `rasa shell`, which served the Rasa HTTP server on every interface (0.0.0.0:5005) for
its own console client, and showed buttons as an arrow-key menu (questionary) that took the next
typed line as a button ("he has seizures..." started the form as "Yes, please"). Here the model
runs in this process and no port is opened: messages go through the reply guard like every
channel's (channels/reply_guard.py), on input channel "cmdline". Buttons are numbered choices
as on WhatsApp (channels/choices.py): a number picks one, anything else is sent as typed.

With STAFF_SHELL_DEBUG=1 (`make shell DEBUG=1`) a debug line follows every reply, made here from
the conversation's events, so it exists on no other channel: the intent, the actions that ran
(emergency, guards, clarify, forms), the answer and its review status, the active form. Log lines
go to the log file scripts/run_services.sh names (stderr), never into the chat.

python -m channels.staff_shell --model models/clinic.tar.gz --endpoints endpoints.yml
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import uuid
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from channels.choices import numbered_text, resolve_choice

logger = logging.getLogger(__name__)

#: Environment switch (set by `make shell DEBUG=1`).
DEBUG_ENV = "STAFF_SHELL_DEBUG"
#: The input channel of shell conversations (as `rasa shell`'s).
SHELL_CHANNEL = "cmdline"
PROMPT = "You: "
STOP_COMMANDS = frozenset({"/stop", "/quit", "/exit"})
_ANSWER_SLOT = "last_answer_id"


def debug_enabled(environ: Optional[Mapping[str, str]] = None) -> bool:
    """Whether STAFF_SHELL_DEBUG is on."""
    env = os.environ if environ is None else environ
    return env.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def render(message: Mapping[str, Any]) -> List[str]:
    """The terminal lines of one bot message: its text, then its buttons as numbered choices."""
    lines = [f"Bot: {line}" for line in str(message.get("text") or "").splitlines() if line]
    for key in ("image", "attachment", "custom"):
        if message.get(key):
            lines.append(f"Bot: [{key}] {message[key]}")
    choices = numbered_text("", message.get("buttons") or [])
    lines.extend(f"     {line}" for line in choices.splitlines())
    return lines


def _turn_events(events: Iterable[Any]) -> Optional[List[Any]]:
    """The events since the latest user message; None if there is none."""
    from rasa.shared.core.events import UserUttered

    events = list(events)
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            return events[index:]
    return None


def debug_line(tracker: Any, answers: Mapping[str, Any], previous_events: int) -> str:
    """The debug line of the turn that started after `previous_events` events of `tracker`.

    '[debug] intent ask_pain (0.97) · actions action_answer_topic · answer pain · status approved'
    """
    from rasa.shared.core.events import ActionExecuted, SlotSet

    # No tracker yet: the first message was an emergency, answered by the reply guard before
    # its turn was stored.
    events = list(tracker.events) if tracker is not None else []
    turn = _turn_events(events[previous_events:])
    if not turn:
        # The reply guard answered without the model: too long, or a failure (see the log).
        return "[debug] not processed by the model: reply from the reply guard (see the log)"
    intent = turn[0].intent or {}
    parts = [f"[debug] intent {intent.get('name') or 'none'} "
             f"({float(intent.get('confidence') or 0.0):.2f})"]
    actions = [event.action_name for event in turn if isinstance(event, ActionExecuted)
               and event.action_name not in (None, "action_listen")]
    parts.append(f"actions {', '.join(actions) if actions else 'none'}")
    answer_ids = [event.value for event in turn
                  if isinstance(event, SlotSet) and event.key == _ANSWER_SLOT and event.value]
    known = [answers[answer_id] for answer_id in dict.fromkeys(answer_ids) if answer_id in answers]
    if known:
        parts.extend(f"answer {answer.id} · status {answer.status}" for answer in known)
    else:
        parts.append("answer none")
    if tracker.active_loop_name:
        parts.append(f"form {tracker.active_loop_name}")
    return " · ".join(parts)


class StaffShell:
    """One shell conversation with a loaded agent."""

    def __init__(self, agent: Any, debug: bool, write: Callable[[str], None] = print) -> None:
        """Talks to `agent` as a new conversation; `write` prints a line."""
        from channels.reply_guard import guard_replies

        self.agent = agent
        self.debug = debug
        self.write = write
        self.sender_id = f"staff-shell-{uuid.uuid4().hex}"
        self.buttons: List[Dict[str, Any]] = []
        self._handle = guard_replies(agent.handle_message)

    async def _events(self) -> int:
        tracker = await self.agent.tracker_store.retrieve(self.sender_id)
        return len(tracker.events) if tracker is not None else 0

    async def send(self, line: str) -> None:
        """Sends a typed line (or the chosen button) and prints the replies."""
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        from clinic.resources import get_resources

        before = await self._events() if self.debug else 0
        output = CollectingOutputChannel()
        text = resolve_choice(line, self.buttons) or line
        await self._handle(UserMessage(text, output, self.sender_id, input_channel=SHELL_CHANNEL))
        self.buttons = []
        for message in output.messages:
            for text in render(message):
                self.write(text)
            self.buttons = list(message.get("buttons") or []) or self.buttons
        if self.debug:
            tracker = await self.agent.tracker_store.retrieve(self.sender_id)
            self.write(debug_line(tracker, get_resources().content.answers, before))


def _arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Staff chat in the terminal.")
    parser.add_argument("--model", default="models/clinic.tar.gz")
    parser.add_argument("--endpoints", default="endpoints.yml")
    return parser.parse_args(argv)


async def _load_agent(model: str, endpoints: str) -> Any:
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    return await load_agent(model_path=model,
                            endpoints=AvailableEndpoints.read_endpoints(endpoints))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Loads the model, then reads the terminal until /stop, Ctrl-D or Ctrl-C."""
    arguments = _arguments(argv)
    # Log records go to stderr, which scripts/run_services.sh sends to the log file.
    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "WARNING").upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.captureWarnings(True)
    from rasa.utils.log_utils import configure_structlog

    # Rasa's structured log lines go through the handler above; left unconfigured, structlog
    # printed every debug line into the chat.
    configure_structlog(level)
    log_file = os.environ.get("SHELL_LOG", "stderr")
    print(f"Staff shell: loading the model (log lines go to {log_file})...", flush=True)
    loop = asyncio.new_event_loop()
    try:
        agent = loop.run_until_complete(_load_agent(arguments.model, arguments.endpoints))
        shell = StaffShell(agent, debug_enabled())
        print("Ready. Type a message; for numbered choices type the number. "
              "/stop or Ctrl-D ends.", flush=True)
        import readline  # noqa: F401 (line editing and history for input())

        while True:
            line = input(PROMPT)
            if line.strip() in STOP_COMMANDS:
                break
            if line.strip():
                loop.run_until_complete(shell.send(line))
    except (EOFError, KeyboardInterrupt):
        print()
    except Exception as error:  # noqa: BLE001 (one line here, the traceback in the log)
        logger.exception("staff shell stopped")
        print(f"The staff shell stopped ({type(error).__name__}); details in {log_file}.")
        return 1
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
