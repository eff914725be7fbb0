from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.staff_shell import debug_enabled, debug_line, render
from clinic.resources import get_resources


def tracker_with(*events):
    return DialogueStateTracker.from_events("staff-shell-test", list(events))


def user(intent, confidence=0.97, text="..."):
    return UserUttered(text, intent={"name": intent, "confidence": confidence})


def turn(intent, *events, confidence=0.97):
    return [user(intent, confidence), *events, ActionExecuted("action_listen")]


def test_buttons_are_numbered_choices_under_the_text():
    message = {"text": "Shall I pass this on?",
               "buttons": [{"title": "Yes, please", "payload": "/affirm"},
                           {"title": "No, thanks", "payload": "/deny"}]}
    assert render(message) == ["Bot: Shall I pass this on?", "     1. Yes, please",
                               "     2. No, thanks"]


def test_emergency_reply_gets_a_debug_line():
    tracker = tracker_with(*turn("emergency", ActionExecuted("action_emergency"),
                                 BotUttered("Call 911 now")))
    assert debug_line(tracker, get_resources().content.answers, 0) == \
        "[debug] intent emergency (0.97) · actions action_emergency · answer none"


def test_answer_shows_its_review_status_from_the_content_file():
    answers = get_resources().content.answers
    tracker = tracker_with(*turn("ask_onset", ActionExecuted("action_answer_topic"),
                                 SlotSet("last_answer_id", "onset"), confidence=0.9))
    assert answers["onset"].status == "needs_review"
    assert debug_line(tracker, answers, 0) == ("[debug] intent ask_onset (0.90) · actions "
                                               "action_answer_topic · answer onset · status "
                                               "needs_review")


def test_only_the_latest_turn_counts():
    answers = get_resources().content.answers
    first = turn("ask_pain", ActionExecuted("action_answer_topic"),
                 SlotSet("last_answer_id", "pain"))
    tracker = tracker_with(*first, *turn("greet", ActionExecuted("utter_greet")))
    assert debug_line(tracker, answers, len(first)) == \
        "[debug] intent greet (0.97) · actions utter_greet · answer none"


def test_form_turn_names_the_active_form():
    tracker = tracker_with(user("affirm", 1.0), ActionExecuted("escalation_form"),
                           ActiveLoop("escalation_form"), SlotSet("requested_slot", "name"),
                           ActionExecuted("action_listen"))
    assert debug_line(tracker, {}, 0) == \
        "[debug] intent affirm (1.00) · actions escalation_form · answer none · " \
        "form escalation_form"


def test_turn_the_model_never_saw_says_the_guard_replied():
    tracker = tracker_with(*turn("ask_pain"))
    assert debug_line(tracker, {}, len(tracker.events)).startswith(
        "[debug] not processed by the model")


def test_a_first_message_answered_before_its_turn_was_stored_gets_a_debug_line():
    # An emergency as the conversation's first message: the guard answers before the store has it.
    assert debug_line(None, {}, 0).startswith("[debug] not processed by the model")


def test_debug_switch():
    assert debug_enabled({"STAFF_SHELL_DEBUG": "1"})
    assert not debug_enabled({"STAFF_SHELL_DEBUG": ""})
    assert not debug_enabled({})
