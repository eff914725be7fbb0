import asyncio
from typing import Any, Dict, List

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from channels import reply_guard
from channels.reply_guard import guard_replies
from clinic.resources import get_resources
from safety.rate_limit import WindowLimit

EMERGENCY_TEXT = "my daughter can't breathe properly since the injection"


def message(text: str) -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), "parent")


def texts(msg: UserMessage) -> List[str]:
    return [m["text"] for m in msg.output_channel.messages]


async def wait_for_background(guard) -> None:
    """Waits for the turns and case records the guard left running."""
    if guard.background:
        await asyncio.wait_for(asyncio.wait(set(guard.background)), timeout=10)


async def test_a_normal_turn_is_passed_through_untouched():
    async def handler(msg: UserMessage) -> None:
        await msg.output_channel.send_response(msg.sender_id, {"text": "an answer"})

    msg = message("does it hurt?")
    await guard_replies(handler)(msg)
    assert texts(msg) == ["an answer"]


async def test_every_channel_s_text_is_cleaned_before_the_handler_sees_it():
    seen: List[str] = []

    async def handler(msg: UserMessage) -> None:
        seen.append(msg.text)
        await msg.output_channel.send_response(msg.sender_id, {"text": "an answer"})

    await guard_replies(handler)(message("does it\x00 hurt\ud800"))
    assert seen == ["does it  hurt\ufffd"]


@pytest.mark.parametrize("failure", ["silent", "raises"])
async def test_no_reply_becomes_the_apology_with_the_clinic_phone(failure):
    async def handler(msg: UserMessage) -> None:
        if failure == "raises":
            raise ConnectionError("lock store down")

    msg = message("does it hurt?")
    await guard_replies(handler)(msg)
    assert texts(msg) == [get_resources().message("service_unavailable")]
    assert get_resources().settings.phone in texts(msg)[0]


async def test_emergency_signs_get_emergency_guidance_even_when_the_bot_fails():
    async def handler(msg: UserMessage) -> None:
        return None

    msg = message(EMERGENCY_TEXT)
    await guard_replies(handler)(msg)
    assert texts(msg) == [get_resources().message("emergency")]


async def test_oversized_message_is_not_processed(monkeypatch):
    calls: List[Dict[str, Any]] = []

    async def handler(msg: UserMessage) -> None:
        calls.append({})

    monkeypatch.setenv("MAX_MESSAGE_CHARS", "50")
    msg = message("please tell me everything about botox " * 5)
    await guard_replies(handler)(msg)
    assert calls == []
    assert texts(msg) == [get_resources().message("message_too_long")]

    emergency = message(EMERGENCY_TEXT + " and " + "more words " * 20)
    await guard_replies(handler)(emergency)
    assert texts(emergency) == [get_resources().message("emergency")]


# --------------------------------------------------- emergencies first, once, and always recorded
def emergency_cases(store) -> list:
    return [case for case in store.list() if case.urgency == "urgent"]


async def test_the_emergency_message_does_not_wait_for_a_hung_turn(escalation_store, monkeypatch):
    monkeypatch.setattr(reply_guard, "EMERGENCY_RECORD_AFTER_SECONDS", 0.2)
    hung = asyncio.Event()

    async def handler(msg: UserMessage) -> None:
        await hung.wait()  # an action server stopped with SIGSTOP

    guard = guard_replies(handler)
    msg = message(EMERGENCY_TEXT)
    # Before the fix the guard waited for the turn: this timed out.
    await asyncio.wait_for(guard(msg), timeout=3)
    assert texts(msg) == [get_resources().message("emergency")]
    # The turn never sent the emergency message, so the guard records the urgent case itself.
    for _ in range(50):
        if emergency_cases(escalation_store):
            break
        await asyncio.sleep(0.1)
    hung.set()
    await wait_for_background(guard)
    [case] = emergency_cases(escalation_store)
    assert case.conversation_id == "parent" and case.reason.startswith("emergency: ")
    assert case.transcript == [{"speaker": "user", "text": EMERGENCY_TEXT},
                               {"speaker": "bot", "text": get_resources().message("emergency")}]


async def test_the_parent_gets_the_emergency_message_once(escalation_store):
    async def handler(msg: UserMessage) -> None:
        # What Rasa sends when the emergency action ran (and recorded the case itself).
        await msg.output_channel.send_response(msg.sender_id, {
            "text": get_resources().message("emergency"), "kind": "emergency"})
        await msg.output_channel.send_response(msg.sender_id, {"text": "after"})

    guard = guard_replies(handler)
    msg = message(EMERGENCY_TEXT)
    await guard(msg)
    await wait_for_background(guard)
    assert texts(msg) == [get_resources().message("emergency"), "after"]
    assert emergency_cases(escalation_store) == []


@pytest.mark.parametrize("failure", [ConnectionError("lock store down"), RuntimeError("500")])
async def test_an_emergency_the_turn_failed_on_is_recorded_once(escalation_store, failure):
    async def handler(msg: UserMessage) -> None:
        raise failure

    guard = guard_replies(handler)
    for text in (EMERGENCY_TEXT, "he is turning blue and can't breathe"):
        msg = message(text)
        await guard(msg)
        assert texts(msg) == [get_resources().message("emergency")]
    await wait_for_background(guard)
    # One case for the conversation, holding both messages.
    [case] = emergency_cases(escalation_store)
    said = [line["text"] for line in case.transcript if line["speaker"] == "user"]
    assert said == [EMERGENCY_TEXT, "he is turning blue and can't breathe"]


# ------------------------------------------------------------------------ no silent turn
async def test_a_cancelled_turn_gets_the_apology():
    async def handler(msg: UserMessage) -> None:
        raise asyncio.CancelledError()

    msg = message("does it hurt?")
    await guard_replies(handler)(msg)
    assert texts(msg) == [get_resources().message("service_unavailable")]


@pytest.mark.parametrize("text, reply_id", [("does it hurt?", "service_unavailable"),
                                            (EMERGENCY_TEXT, "emergency")])
async def test_a_turn_cancelled_by_the_response_timeout_still_gets_a_reply(
    escalation_store, text, reply_id
):
    started = asyncio.Event()

    async def handler(msg: UserMessage) -> None:
        started.set()
        await asyncio.sleep(60)

    guard = guard_replies(handler)
    msg = message(text)
    # Sanic's response timeout cancels the task that runs the channel's handler.
    handling = asyncio.ensure_future(guard(msg))
    await asyncio.wait_for(started.wait(), 3)
    handling.cancel()
    await asyncio.wait_for(handling, 3)
    assert texts(msg) == [get_resources().message(reply_id)]
    for task in guard.background:
        task.cancel()


# ------------------------------------------------------------------------------- floods
async def test_a_flooding_conversation_is_asked_to_slow_down(escalation_store, monkeypatch):
    monkeypatch.setenv("MESSAGE_RATE_LIMIT", "3")
    handled: List[str] = []

    async def handler(msg: UserMessage) -> None:
        handled.append(msg.text)
        await msg.output_channel.send_response(msg.sender_id, {"text": "an answer"})

    guard = guard_replies(handler)
    replies = []
    for number in range(5):
        msg = message(f"question {number}")
        await guard(msg)
        replies.append(texts(msg))
    assert handled == ["question 0", "question 1", "question 2"]
    assert replies[3:] == [[get_resources().message("message_rate_limited")]] * 2
    # Red flags are still read on throttled text, and the case is kept.
    emergency = message(EMERGENCY_TEXT)
    await guard(emergency)
    assert texts(emergency) == [get_resources().message("emergency")]
    await wait_for_background(guard)
    assert len(emergency_cases(escalation_store)) == 1
    # Another conversation is not affected.
    other = UserMessage("does it hurt?", CollectingOutputChannel(), "another parent")
    await guard(other)
    assert texts(other) == ["an answer"]


def test_the_default_rate_lets_a_parent_type_and_stops_a_script():
    clock = [0.0]
    limit = WindowLimit(reply_guard.DEFAULT_MESSAGE_RATE_LIMIT,
                        reply_guard.DEFAULT_MESSAGE_RATE_WINDOW_SECONDS, clock=lambda: clock[0])
    # A parent typing fast: one message a second for a minute.
    for second in range(60):
        clock[0] = float(second)
        assert limit.take("parent")
    # A script: 20 messages a second, for two seconds.
    allowed = 0
    for tick in range(40):
        clock[0] = 100 + tick / 20
        allowed += limit.take("script")
    assert allowed == reply_guard.DEFAULT_MESSAGE_RATE_LIMIT


async def test_a_typed_emergency_command_gets_the_message_but_opens_no_case(
    escalation_store, monkeypatch
):
    handled: List[str] = []

    async def handler(msg: UserMessage) -> None:
        handled.append(msg.text)

    monkeypatch.setenv("MESSAGE_RATE_LIMIT", "2")
    guard = guard_replies(handler)
    for _ in range(4):  # also once throttled
        msg = message(" /emergency ")
        await guard(msg)
        assert texts(msg) == [get_resources().message("emergency")]
    await wait_for_background(guard)
    assert handled == [] and escalation_store.list() == []
