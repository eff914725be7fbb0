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


EYELID = [{"entity": "body_area", "value": "eyelid", "start": 20, "end": 27}]
NECK = [{"entity": "body_area", "value": "neck", "start": 12, "end": 16}]


async def test_condition_variant_is_sent_for_an_aspect_question(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory("ask_onset", "how soon for the eyelids", entities=EYELID)
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    variant = resources.content.variants[("onset", "blepharospasm")]
    assert texts(dispatcher)[:2] == [variant.text, f"Source: {variant.source}"]
    assert dispatcher.messages[0]["answer_id"] == "onset"


async def test_aspect_without_variant_gets_general_answer_and_note(
    tracker_factory, dispatcher, resources
):
    assert ("repeat_injections", "cervical_dystonia") not in resources.content.variants
    tracker = tracker_factory("ask_repeat_injections", "how often for the neck", entities=NECK)
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    answer = resources.content.answers["repeat_injections"]
    assert texts(dispatcher)[:3] == [
        answer.text, f"Source: {answer.source}", resources.message("condition_note"),
    ]


async def test_non_aspect_answer_gets_no_condition_note(tracker_factory, dispatcher, resources):
    tracker = tracker_factory("ask_what_is_botox", "what is botox for the neck", entities=NECK)
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert resources.message("condition_note") not in texts(dispatcher)


async def test_two_part_message_gets_both_answers_and_one_disclaimer(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory("ask_safety", "is it safe? and how long does it last?")
    tracker.latest_message["parts"] = ["safety", "duration_of_effect"]
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})
    safety, duration = (resources.content.answers[a] for a in ("safety", "duration_of_effect"))
    assert texts(dispatcher) == [
        safety.text, f"Source: {safety.source}",
        duration.text, f"Source: {duration.source}",
        resources.message("disclaimer"),
    ]
    assert events[0] == {"event": "slot", "name": "last_answer_id",
                         "value": "duration_of_effect", "timestamp": None}


async def test_third_part_is_offered_not_answered(tracker_factory, dispatcher, resources):
    tracker = tracker_factory("ask_pain", "does it hurt? how long? how often?",
                              slots={"disclaimer_shown": True})
    tracker.latest_message["parts"] = ["pain", "duration_of_effect", "repeat_injections"]
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert texts(dispatcher)[-1] == resources.message("more_parts")
    assert [b["payload"] for b in dispatcher.messages[-1]["buttons"]] == [
        "/ask_repeat_injections"
    ]


async def test_follow_up_naming_a_condition_reuses_the_aspect(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory("ask_neck_dystonia", "and for the neck?", entities=NECK,
                              slots={"last_answer_id": "duration_of_effect"})
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    variant = resources.content.variants[("duration_of_effect", "cervical_dystonia")]
    assert texts(dispatcher)[0] == variant.text


async def test_follow_up_after_a_condition_answer_stays_on_the_condition(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory("ask_neck_dystonia", "and for the neck?", entities=NECK,
                              slots={"last_answer_id": "what_is_botox"})
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert texts(dispatcher)[0] == resources.content.answers["neck_dystonia"].text


async def test_button_click_keeps_the_condition_of_the_question(
    tracker_factory, dispatcher, resources
):
    question = {"event": "user", "text": "does it hurt for the eyelids",
                "parse_data": {"entities": EYELID}}
    tracker = tracker_factory("ask_pain", "/ask_pain", events=[question])
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert texts(dispatcher)[0] == resources.content.variants[("pain", "blepharospasm")].text


async def test_clarify_offers_up_to_three_topics_and_something_else(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory(
        "nlu_fallback", "when does it work",
        ranking=ranking(("ask_onset", 0.4), ("ask_duration_of_effect", 0.3),
                        ("ask_procedure_duration", 0.2), ("ask_pain", 0.1)),
    )
    tracker.latest_message["second_opinion"] = {"name": "ask_repeat_injections",
                                                "confidence": 0.5}
    await ActionClarify().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert [b["payload"] for b in message["buttons"]] == [
        "/ask_onset", "/ask_repeat_injections", "/ask_duration_of_effect", "/request_human",
    ]
    assert message["buttons"][-1]["title"] == resources.message("clarify_none")


async def test_faint_emergency_guess_is_not_an_alarm(tracker_factory, dispatcher, resources):
    tracker = tracker_factory(
        "nlu_fallback", "is botox first choice or only after other treatments",
        ranking=ranking(("ask_when_recommended", 0.25), ("emergency", 0.13)),
    )
    tracker.latest_message["second_opinion"] = {"name": "ask_when_recommended",
                                                "confidence": 0.9}
    await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [resources.message("cannot_answer")]


async def test_follow_up_asking_its_own_aspect_gets_that_aspect(
    tracker_factory, dispatcher, resources
):
    tracker = tracker_factory("ask_side_effects", "and the side effects for the neck?",
                              entities=NECK, slots={"last_answer_id": "duration_of_effect"})
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    variant = resources.content.variants[("side_effects", "cervical_dystonia")]
    assert texts(dispatcher)[0] == variant.text


@pytest.fixture
def signed_policy(tmp_path, monkeypatch):
    """CONTENT_POLICY=signed on a fresh sign-off store; yields the store."""
    from knowledge.signoffs import SignoffStore, serving_policy

    url = f"sqlite:///{tmp_path / 'signoffs.db'}"
    monkeypatch.setenv("ESCALATION_DB_URL", url)
    monkeypatch.setenv("CONTENT_POLICY", "signed")
    monkeypatch.setattr("knowledge.signoffs.SIGNOFFS_FILE", tmp_path / "none.yml")
    serving_policy.cache_clear()
    store = SignoffStore(url)
    yield store
    store.dispose()
    serving_policy.cache_clear()


async def test_signed_policy_sends_a_signed_answer(
    tracker_factory, dispatcher, resources, signed_policy
):
    from knowledge.signoffs import SIGNED_OFF

    signed_policy.record(resources.content.answers["pain"], SIGNED_OFF, "dr.lee")
    await ActionAnswerTopic().run(dispatcher, tracker_factory("ask_pain", "does it hurt?"), {})
    assert texts(dispatcher)[0] == resources.content.answers["pain"].text
    assert signed_policy.withheld_counts() == {}


async def test_signed_policy_withholds_an_unsigned_answer_with_the_hand_over(
    tracker_factory, dispatcher, resources, signed_policy
):
    from knowledge.signoffs import SIGNED_OFF

    pain, onset = resources.content.answers["pain"], resources.content.answers["onset"]
    signed_policy.record(pain, SIGNED_OFF, "dr.lee")
    tracker = tracker_factory("ask_onset", "when does it work and does it hurt")
    tracker.latest_message["parts"] = ["onset", "pain"]
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})
    sent = texts(dispatcher)
    assert onset.text not in sent
    assert sent == [pain.text, f"Source: {pain.source}", resources.message("disclaimer"),
                    resources.message("answer_withheld")]
    assert resources.settings.phone in sent[-1]
    assert {"event": "followup", "name": "action_offer_escalation", "timestamp": None} in events
    assert signed_policy.withheld_counts() == {"onset": 1}


async def test_signed_policy_falls_back_from_an_unsigned_variant_to_the_signed_answer(
    tracker_factory, dispatcher, resources, signed_policy
):
    from knowledge.signoffs import SIGNED_OFF

    onset = resources.content.answers["onset"]
    signed_policy.record(onset, SIGNED_OFF, "dr.lee")
    tracker = tracker_factory("ask_onset", "how soon for the eyelids", entities=EYELID)
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert texts(dispatcher)[:3] == [onset.text, f"Source: {onset.source}",
                                     resources.message("condition_note")]


async def test_signed_policy_still_sends_emergency_guidance(
    tracker_factory, dispatcher, resources, signed_policy
):
    tracker = tracker_factory("nlu_fallback", "he can't breathe properly",
                              ranking=ranking(("emergency", 0.4), ("ask_pain", 0.3)))
    await ActionClarify().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [resources.message("emergency")]
