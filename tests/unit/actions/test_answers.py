import pytest

from actions.answers import ActionAnswerTopic, ActionClarify
from tests.conftest import texts


async def test_answer_is_sent_verbatim_with_source_and_disclaimer(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory("ask_pain", "does it hurt?")
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})

    answer = resources.content.answers["pain"]
    assert texts(dispatcher) == [
        answer.text,
        f"Source: {answer.source}",
        resources.message("disclaimer"),
    ]
    assert {"event": "slot", "name": "last_answer_id", "value": "pain",
            "timestamp": None} in events
    assert {"event": "slot", "name": "disclaimer_shown", "value": True,
            "timestamp": None} in events


async def test_disclaimer_is_sent_only_once(tracker_factory, dispatcher, resources):
    tracker = tracker_factory("ask_onset", slots={"disclaimer_shown": True})
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})

    assert texts(dispatcher) == [
        resources.content.answers["onset"].text,
        f"Source: {resources.content.answers['onset'].source}",
    ]
    assert [e["name"] for e in events] == ["last_answer_id"]


async def test_clinic_logistics_is_filled_from_settings(tracker_factory, dispatcher, resources):
    await ActionAnswerTopic().run(dispatcher, tracker_factory("ask_clinic_logistics"), {})
    first = texts(dispatcher)[0]
    assert resources.settings.phone in first
    assert resources.settings.opening_hours.text in first
    assert "{" not in first


async def test_unknown_topic_never_improvises(tracker_factory, dispatcher, resources):
    await ActionAnswerTopic().run(dispatcher, tracker_factory("ask_weather"), {})
    assert texts(dispatcher) == [resources.message("cannot_answer")]


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "12345", "¿¿??", "доза ботокса"])
async def test_unreadable_input_gets_a_polite_reply(tracker_factory, dispatcher, resources, text):
    tracker = tracker_factory("nlu_fallback", text, ranking=ranking(("ask_pain", 0.3)))
    assert await ActionClarify().run(dispatcher, tracker, {}) == []
    assert texts(dispatcher) == [resources.message("bad_input")]


def ranking(*pairs):
    return [{"name": "nlu_fallback", "confidence": 0.55}] + [
        {"name": name, "confidence": confidence} for name, confidence in pairs
    ]


async def test_close_topics_are_offered_as_buttons(tracker_factory, dispatcher, resources):
    tracker = tracker_factory(
        "nlu_fallback", "when does it work",
        ranking=ranking(("ask_onset", 0.41), ("ask_duration_of_effect", 0.38)),
    )
    await ActionClarify().run(dispatcher, tracker, {})

    [message] = dispatcher.messages
    assert message["text"] == resources.message("clarify")
    assert [b["payload"] for b in message["buttons"]] == [
        "/ask_onset", "/ask_duration_of_effect", "/request_human",
    ]
    assert message["buttons"][0]["title"] == resources.content.answers["onset"].title


async def test_disagreeing_classifiers_offer_each_ones_topic(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory(
        "nlu_fallback", "how long can he keep having it",
        ranking=ranking(("ask_procedure_duration", 0.9), ("ask_pain", 0.05)),
    )
    tracker.latest_message["second_opinion"] = {"name": "ask_repeat_injections", "confidence": 0.6}
    await ActionClarify().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert [b["payload"] for b in message["buttons"]] == [
        "/ask_procedure_duration", "/ask_repeat_injections", "/request_human",
    ]


async def test_second_opinion_of_an_emergency_gets_emergency_guidance(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory(
        "nlu_fallback", "he is not himself after the shots",
        ranking=ranking(("ask_side_effects", 0.8), ("ask_pain", 0.1)),
    )
    tracker.latest_message["second_opinion"] = {"name": "emergency", "confidence": 0.5}
    await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [resources.message("emergency")]


async def test_low_confidence_hands_over_instead_of_guessing(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory(
        "nlu_fallback", "hmm what", ranking=ranking(("ask_pain", 0.2), ("out_of_scope", 0.19))
    )
    events = await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [resources.message("cannot_answer")]
    assert events == [{"event": "followup", "name": "action_offer_escalation",
                       "timestamp": None}]


async def test_second_failed_attempt_hands_over(tracker_factory, dispatcher, resources):
    earlier = [
        {"event": "user", "text": "hmm"},
        {"event": "action", "name": "action_clarify"},
        {"event": "bot", "text": resources.message("clarify")},
        {"event": "action", "name": "action_listen"},
    ]
    tracker = tracker_factory(
        "nlu_fallback", "whatever", events=earlier,
        ranking=ranking(("ask_onset", 0.41), ("ask_duration_of_effect", 0.38)),
    )
    events = await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [resources.message("cannot_answer")]
    assert events[0]["name"] == "action_offer_escalation"


async def test_one_likely_topic_is_offered_alone(tracker_factory, dispatcher, resources):
    tracker = tracker_factory(
        "nlu_fallback", "ouchy", ranking=ranking(("ask_pain", 0.45), ("ask_onset", 0.05))
    )
    await ActionClarify().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["text"] == resources.message("clarify")
    assert [b["payload"] for b in message["buttons"]] == ["/ask_pain", "/request_human"]


async def test_weak_single_topic_hands_over(tracker_factory, dispatcher, resources):
    tracker = tracker_factory(
        "nlu_fallback", "ouchy", ranking=ranking(("ask_pain", 0.3), ("ask_onset", 0.05))
    )
    await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [resources.message("cannot_answer")]


async def test_possible_emergency_gets_emergency_guidance(tracker_factory, dispatcher, resources):
    tracker = tracker_factory(
        "nlu_fallback", "he looks odd",
        ranking=ranking(("ask_side_effects", 0.4), ("emergency", 0.35)),
    )
    await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [resources.message("emergency")]


async def test_body_area_picks_its_topic_among_the_likely_two(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory(
        "nlu_fallback",
        "what about for the neck?",
        ranking=ranking(("ask_duration_of_effect", 0.4), ("ask_neck_dystonia", 0.38)),
        entities=[{"entity": "body_area", "value": "neck", "start": 19, "end": 23}],
    )
    await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher)[0] == resources.content.answers["neck_dystonia"].text


async def test_body_area_without_topic_still_asks(tracker_factory, dispatcher, resources):
    tracker = tracker_factory(
        "nlu_fallback", "leg?",
        ranking=ranking(("ask_onset", 0.4), ("ask_duration_of_effect", 0.38)),
        entities=[{"entity": "body_area", "value": "leg", "start": 0, "end": 3}],
    )
    await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [resources.message("clarify")]


async def test_answer_and_source_carry_the_answer_id_for_the_widget(
    tracker_factory, dispatcher
):
    await ActionAnswerTopic().run(dispatcher, tracker_factory("ask_pain"), {})
    markers = [(m.get("kind"), m.get("answer_id")) for m in dispatcher.messages]
    assert markers == [("answer", "pain"), ("source", "pain"), (None, None)]
