import datetime as dt

import pytest

from escalation.store import EscalationStore
from feedback.report import AnswerVotes, ReasonCount, build_report, mask_contact_details
from feedback.store import FeedbackStore


@pytest.fixture
def stores(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    feedback, store = FeedbackStore(url), EscalationStore(url)
    yield feedback, store
    feedback.dispose()
    store.dispose()


def escalate(store, reason, question, minutes_ago=0, urgency="routine"):
    return store.create(channel="rest", conversation_id="c", urgency=urgency, reason=reason,
                        transcript=[], parent_name="Robin Example", contact="+44 7700 900456",
                        child_age="4 years", question=question, consent=True,
                        now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_ago))


def test_votes_most_unhelpful_first_then_unvoted_answers(stores, resources):
    feedback, store = stores
    answers = resources.content.answers
    for number, (answer_id, helpful) in enumerate([
            ("pain", True), ("onset", False), ("removed_answer", False),
            ("removed_answer", False)]):
        feedback.record(answer_id, helpful, f"conversation-{number:06d}")
    votes = build_report(feedback, store, answers).votes
    assert votes[:3] == [AnswerVotes("removed_answer", "", 0, 2),
                         AnswerVotes("onset", answers["onset"].title, 0, 1),
                         AnswerVotes("pain", answers["pain"].title, 1, 0)]
    assert [row.answer_id for row in votes[3:]] == [
        answer_id for answer_id in answers if answer_id not in {"pain", "onset"}]


def test_reasons_and_questions_without_parent_details(stores, resources):
    feedback, store = stores
    escalate(store, "out_of_scope", "can we fly? mail robin@example.com", minutes_ago=9)
    escalate(store, "ask_pain", "does the second one hurt more?", minutes_ago=5)
    escalate(store, "emergency: breathing", None, urgency="urgent", minutes_ago=3)
    newest = escalate(store, "out_of_scope", "call me on 020 7946 0958", minutes_ago=1)
    report = build_report(feedback, store, resources.content.answers)
    assert report.reasons == [ReasonCount("out_of_scope", None, 2),
                              ReasonCount("ask_pain", "pain", 1),
                              ReasonCount("emergency: breathing", None, 1)]
    assert report.escalations == 4
    assert [q.question for q in report.questions] == [
        "call me on [phone removed]", "does the second one hurt more?",
        "can we fly? mail [e-mail removed]"]
    assert report.questions[0].reference == newest.reference
    assert not {"parent_name", "contact", "child_age"} & set(vars(report.questions[0]))


@pytest.mark.parametrize(("text", "expected"), [
    ("ring 07700 900123 please", "ring [phone removed] please"),
    ("+44 (0)20 7946-0958", "[phone removed]"),
    ("a.b-c@mail.example.co.uk wrote", "[e-mail removed] wrote"),
    ("is 2-3 months normal after 10 - 12 weeks?", "is 2-3 months normal after 10 - 12 weeks?"),
    ("<script>x</script>", "<script>x</script>"),
])
def test_contact_details_are_masked(text, expected):
    assert mask_contact_details(text) == expected
