import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.choices import (
    choice_number,
    latest_buttons,
    numbered_text,
    payload_for_reply,
    resolve_choice,
)

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def test_buttons_become_numbered_lines_after_the_text():
    assert numbered_text("Shall I pass this on?", YES_NO) == \
        "Shall I pass this on?\n\n1. Yes\n2. No"


@pytest.mark.parametrize("reply", ["2", "2.", " 2 ", "2)", "\t2.\n"])
def test_a_bare_number_names_a_choice(reply):
    assert choice_number(reply) == 2


@pytest.mark.parametrize("reply", ["", None, "2 please", "two", "1.5", "-1", "/affirm", "22222"])
def test_anything_else_is_ordinary_text(reply):
    assert choice_number(reply) is None


def test_resolve_picks_the_numbered_button():
    assert resolve_choice("2", YES_NO) == "/deny"
    assert resolve_choice("1.", YES_NO) == "/affirm"


@pytest.mark.parametrize("reply", ["0", "3", "hello"])
def test_out_of_range_or_text_is_not_a_choice(reply):
    assert resolve_choice(reply, YES_NO) is None


def test_only_the_latest_bot_turn_counts():
    events = [
        {"event": "bot", "text": "old", "data": {"buttons": YES_NO}},
        {"event": "user", "text": "1"},
        {"event": "bot", "text": "plain answer", "data": {}},
    ]
    assert latest_buttons(events) == []
    events.append({"event": "bot", "text": "again?", "data": {"buttons": YES_NO[:1]}})
    assert latest_buttons(events) == YES_NO[:1]


class FakeTrackerStore:
    """In memory, as a tracker store of another replica would return it."""

    def __init__(self, tracker):
        self.tracker = tracker

    async def retrieve(self, sender_id):
        return self.tracker if self.tracker and self.tracker.sender_id == sender_id else None


def tracker_with_offer():
    return DialogueStateTracker.from_events("parent", [
        ActionExecuted("action_listen"),
        UserUttered("what's the weather?"),
        BotUttered("I can only help with questions about Botox treatment."),
        BotUttered("Shall I pass this on?", data={"buttons": YES_NO}),
        ActionExecuted("action_listen"),
    ])


async def test_reply_is_mapped_from_the_stored_tracker():
    store = FakeTrackerStore(tracker_with_offer())
    assert await payload_for_reply(store, "parent", " 2 ") == "/deny"
    assert await payload_for_reply(store, "parent", "yes please") == "yes please"
    # Another conversation's buttons never apply.
    assert await payload_for_reply(store, "someone-else", "2") == "2"
    assert await payload_for_reply(None, "parent", "2") == "2"
