"""The action server never sends the staff shell's debug line (channels/staff_shell.py does)."""

import pytest

from actions.answers import ActionAnswerTopic, ActionClarify
from tests.conftest import texts


@pytest.mark.parametrize("channel", ["cmdline", "rest", "socketio"])
async def test_no_channel_gets_a_debug_line_from_actions(tracker_factory, dispatcher, monkeypatch,
                                                         channel):
    # As a REST client claiming the shell's channel, with the switch on by mistake.
    monkeypatch.setenv("STAFF_SHELL_DEBUG", "1")
    tracker = tracker_factory("ask_pain", "does it hurt?", confidence=0.6,
                              ranking=[{"name": "ask_pain", "confidence": 0.6}])
    tracker.events[-1]["input_channel"] = channel
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher)
    assert not any(text.startswith("[debug]") for text in texts(dispatcher))
