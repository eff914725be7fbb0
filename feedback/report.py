"""Answer analytics for staff: votes per answer and the questions that ended in an escalation.

One place for the staff page (/staff/answers, webapp/answer_report.py) and `make report`
(scripts/answer_report.py). It reads the feedback store (answer id and yes/no only) and, from
the escalation store, only each case's reference, time, urgency, reason and question: never the
parent's name, contact or child's age. A question is free text a parent typed and may still
hold a phone number or e-mail address, so those are masked here; names cannot be recognised
reliably, so the questions are shown only on the staff page (behind the staff login) and the
command-line report prints counts only. With the sign-off store, each answer also shows its
sign-off state and how often it was withheld, unsigned (CONTENT_POLICY=signed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Mapping, Optional

from escalation.store import EscalatedQuestion, EscalationStore
from feedback.store import FeedbackStore
from knowledge.content import Entry
from knowledge.intents import answer_id_for_intent
from knowledge.signoffs import SignoffStore, review_state

_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[a-z]{2,}", re.IGNORECASE)
# Seven or more digits, possibly split by spaces, dashes, dots or brackets.
_PHONE = re.compile(r"\+?\(?\d[\d ()\-./]{5,}\d")
_MIN_PHONE_DIGITS = 7


@dataclass(frozen=True)
class AnswerVotes:
    """Helpful / unhelpful votes of one answer."""

    answer_id: str
    #: The answer's title, or "" when the answer is no longer in the content file.
    title: str
    helpful: int
    unhelpful: int
    #: Sign-off state of the current text ("" without the sign-off store or content entry).
    state: str = ""
    #: Times the answer was not sent because its text was not signed.
    withheld: int = 0


@dataclass(frozen=True)
class ReasonCount:
    """How many cases an escalation reason has."""

    reason: str
    #: The answer the parent had asked for, when the reason is that answer's intent.
    answer_id: Optional[str]
    count: int


@dataclass(frozen=True)
class AnswerReport:
    """Everything the staff page and the command-line report show."""

    votes: List[AnswerVotes]
    reasons: List[ReasonCount]
    questions: List[EscalatedQuestion]

    @property
    def escalations(self) -> int:
        """All escalated cases."""
        return sum(reason.count for reason in self.reasons)


def mask_contact_details(text: str) -> str:
    """`text` with e-mail addresses and phone numbers replaced by placeholders."""
    text = _EMAIL.sub("[e-mail removed]", text)

    def phone(match: re.Match) -> str:
        digits = sum(char.isdigit() for char in match.group())
        return "[phone removed]" if digits >= _MIN_PHONE_DIGITS else match.group()

    return _PHONE.sub(phone, text)


def build_report(
    feedback: FeedbackStore, store: EscalationStore, answers: Mapping[str, Entry],
    signoffs: Optional[SignoffStore] = None,
) -> AnswerReport:
    """Votes (most unhelpful first, then answers without votes), reasons and questions."""
    counts = feedback.counts()
    voted = {row.answer_id for row in counts}
    reviews = signoffs.by_text() if signoffs else {}
    withheld = signoffs.withheld_counts() if signoffs else {}

    def row(answer_id: str, helpful: int, unhelpful: int) -> AnswerVotes:
        entry = answers.get(answer_id)
        state = review_state(entry, reviews.get(answer_id, [])) if entry and signoffs else ""
        return AnswerVotes(answer_id, entry.title if entry else "", helpful, unhelpful,
                           state, withheld.get(answer_id, 0))

    votes = [row(item.answer_id, item.helpful, item.unhelpful) for item in counts] + [
        row(answer_id, 0, 0) for answer_id in answers if answer_id not in voted
    ]
    reasons = []
    for reason, count in store.reason_counts():
        answer_id = answer_id_for_intent(reason)
        reasons.append(ReasonCount(reason, answer_id if answer_id in answers else None, count))
    questions = [
        EscalatedQuestion(case.reference, case.created_at, case.urgency, case.reason,
                          mask_contact_details(case.question))
        for case in store.questions()
    ]
    return AnswerReport(votes=votes, reasons=reasons, questions=questions)
