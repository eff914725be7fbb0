"""Answer feedback from the web widget: "Was this helpful?" yes/no per answer id.

SQLAlchemy Core like the escalation store, in the same database (ESCALATION_DB_URL or
var/escalations.db). Rows hold an answer id, yes/no and the time only: no text, no session id,
nothing that could identify a family.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic.escalation_store import database_url, open_database

metadata = sa.MetaData()

answer_feedback = sa.Table(
    "answer_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("answer_id", sa.String(64), nullable=False, index=True),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class AnswerFeedback:
    """Helpful / unhelpful counts of one answer."""

    answer_id: str
    helpful: int
    unhelpful: int

    @property
    def total(self) -> int:
        """All votes."""
        return self.helpful + self.unhelpful


class FeedbackStore:
    """Records and counts answer feedback."""

    def __init__(self, url: Optional[str] = None) -> None:
        """Connects (lazily) to `url` and creates the table if needed."""
        self.url = url or database_url()
        self.engine: Engine = open_database(self.url, metadata)

    def dispose(self) -> None:
        """Closes the connection pool."""
        self.engine.dispose()

    def record(self, answer_id: str, helpful: bool, now: Optional[dt.datetime] = None) -> None:
        """Stores one vote."""
        with self.engine.begin() as connection:
            connection.execute(answer_feedback.insert().values(
                answer_id=answer_id, helpful=bool(helpful),
                created_at=now or dt.datetime.now(dt.timezone.utc),
            ))

    def counts(self) -> List[AnswerFeedback]:
        """Counts per answer id, most unhelpful first (the answers to look at first)."""
        helpful = sa.func.sum(sa.case((answer_feedback.c.helpful, 1), else_=0))
        unhelpful = sa.func.sum(sa.case((answer_feedback.c.helpful, 0), else_=1))
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(answer_feedback.c.answer_id, helpful.label("yes"),
                          unhelpful.label("no"))
                .group_by(answer_feedback.c.answer_id)
                .order_by(sa.desc("no"), "yes", answer_feedback.c.answer_id)
            ).all()
        return [AnswerFeedback(row.answer_id, int(row.yes), int(row.no)) for row in rows]
