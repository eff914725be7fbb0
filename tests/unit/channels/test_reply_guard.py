from typing import Any, Dict, List

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from channels.reply_guard import guard_replies
from clinic.resources import get_resources

EMERGENCY_TEXT = "my daughter can't breathe properly since the injection"


def message(text: str) -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), "parent")


def texts(msg: UserMessage) -> List[str]:
    return [m["text"] for m in msg.output_channel.messages]


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
