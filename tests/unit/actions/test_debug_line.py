import pytest

from actions.answers import ActionAnswerTopic, ActionClarify
from actions.debug_line import DEBUG_ENV, debug_line
from tests.conftest import texts


def on_channel(tracker, channel):
    """The tracker, with its latest user message received on `channel`."""
    tracker.events[-1]["input_channel"] = channel
    return tracker


@pytest.fixture
def debug_on(monkeypatch):
    monkeypatch.setenv(DEBUG_ENV, "1")


async def test_off_by_default_even_in_the_shell(tracker_factory, dispatcher, monkeypatch):
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    tracker = on_channel(tracker_factory("ask_pain", "does it hurt?"), "cmdline")
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert not any(text.startswith("[debug]") for text in texts(dispatcher))


@pytest.mark.parametrize("channel", ["rest", "whatsapp", "socketio", None])
async def test_off_on_other_channels(tracker_factory, dispatcher, debug_on, channel):
    tracker = on_channel(tracker_factory("ask_pain", "does it hurt?"), channel)
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert not any(text.startswith("[debug]") for text in texts(dispatcher))


async def test_answer_shows_intent_answer_and_status_last(
    tracker_factory, dispatcher, resources, debug_on
):
    tracker = on_channel(tracker_factory("ask_pain", "does it hurt?", confidence=0.968),
                         "cmdline")
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    sent = texts(dispatcher)
    assert sent[0] == resources.content.answers["pain"].text
    assert sent[-1] == "[debug] intent ask_pain (0.97) · answer pain · status approved"
    assert sum(text.startswith("[debug]") for text in sent) == 1


async def test_status_comes_from_the_content_file(tracker_factory, dispatcher, resources,
                                                  debug_on):
    tracker = on_channel(tracker_factory("ask_onset", confidence=0.9), "cmdline")
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert resources.content.answers["onset"].status == "needs_review"
    assert texts(dispatcher)[-1] == \
        "[debug] intent ask_onset (0.90) · answer onset · status needs_review"


async def test_clarify_shows_intent_and_no_answer(tracker_factory, dispatcher, debug_on):
    ranking = [{"name": "ask_pain", "confidence": 0.41},
               {"name": "ask_procedure_duration", "confidence": 0.38}]
    tracker = on_channel(
        tracker_factory("ask_pain", "how long does it hurt", confidence=0.41, ranking=ranking),
        "cmdline",
    )
    await ActionClarify().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["buttons"]  # the clarifying question is unchanged
    assert texts(dispatcher)[-1] == "[debug] intent ask_pain (0.41) · answer none"


async def test_emergency_stays_first(tracker_factory, dispatcher, resources, debug_on):
    ranking = [{"name": "emergency", "confidence": 0.5}, {"name": "ask_pain", "confidence": 0.3}]
    tracker = on_channel(
        tracker_factory("emergency", "cant breathe", confidence=0.5, ranking=ranking), "cmdline"
    )
    await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher)[0] == resources.message("emergency")
    assert texts(dispatcher)[-1].startswith("[debug] intent emergency (0.50)")


def test_unknown_answer_id_reads_none(tracker_factory, resources):
    assert debug_line(tracker_factory("ask_nothing", confidence=0.2), resources, "nothing") == \
        "[debug] intent ask_nothing (0.20) · answer none"
