"""Prints the staff answer report: votes per answer and escalations by reason (`make report`).

python scripts/answer_report.py

Reads the feedback and escalation stores (ESCALATION_DB_URL, or var/escalations.db) through
feedback/report.py, the same code as the staff page /staff/answers. It prints counts only,
never the questions parents typed: terminal output ends up in logs and CI output, and a question
can carry a name (rule 4); the questions are on the staff page, behind the staff login.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic.resources import get_resources
from escalation.store import EscalationStore
from feedback.report import AnswerReport, build_report
from feedback.store import FeedbackStore
from knowledge.signoffs import SignoffStore


def format_report(report: AnswerReport) -> str:
    """The report as aligned plain-text tables."""
    lines: List[str] = ['Answer feedback ("Was this helpful?"), most unhelpful first',
                        f"  {'helpful':>7}  {'not':>5}  answer [sign-off, withheld unsigned]"]
    for row in report.votes:
        title = row.title or "(removed answer)"
        state = f" [{row.state}, withheld {row.withheld}]" if row.state else ""
        lines.append(f"  {row.helpful:>7}  {row.unhelpful:>5}  {row.answer_id} ({title}){state}")
    lines += ["", f"Escalations by reason ({report.escalations} cases, all statuses)"]
    if not report.reasons:
        lines.append("  none")
    for reason in report.reasons:
        answer = f" (answer: {reason.answer_id})" if reason.answer_id else ""
        lines.append(f"  {reason.count:>7}  {reason.reason}{answer}")
    lines.append(f"  {len(report.questions)} of them with a question: see /staff/answers")
    return "\n".join(lines)


def main() -> int:
    """Prints the report of the configured stores."""
    store = EscalationStore()
    feedback = FeedbackStore(store.url)
    signoffs = SignoffStore(store.url)
    try:
        print(format_report(build_report(feedback, store, get_resources().content.answers,
                                         signoffs)))
    finally:
        signoffs.dispose()
        feedback.dispose()
        store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
