"""Answer feedback from the web widget: "Was this helpful?" yes/no per answer id.

SQLAlchemy Core like the escalation store, in the same database (ESCALATION_DB_URL or
var/escalations.db). Rows hold an answer id, yes/no, the time and a hash of the widget's vote key
(a random id the widget makes per conversation, not its session id): no text, nothing that could
identify a family. One vote per answer per conversation: a second vote replaces the first (the
parent changed their mind). Rows from before vote keys have none and each count once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from escalation.store import database_url
from stores.urls import open_database

metadata = sa.MetaData()

answer_feedback = sa.Table(
    "answer_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("answer_id", sa.String(64), nullable=False, index=True),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # SHA-256 of the vote key; NULL on rows stored before votes had one.
    sa.Column("voter", sa.String(64), nullable=True),
    sa.UniqueConstraint("answer_id", "voter", name="answer_feedback_one_vote"),
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
        self._add_voter_column()

    def _add_voter_column(self) -> None:
        # create_all does not change a table made before the voter column existed.
        columns = {c["name"] for c in sa.inspect(self.engine).get_columns("answer_feedback")}
        if "voter" in columns:
            return
        with self.engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE answer_feedback ADD COLUMN voter VARCHAR(64)"))
            connection.execute(sa.text("CREATE UNIQUE INDEX answer_feedback_one_vote "
                                       "ON answer_feedback (answer_id, voter)"))

    def dispose(self) -> None:
        """Closes the connection pool."""
        self.engine.dispose()

    def record(self, answer_id: str, helpful: bool, vote_key: str,
               now: Optional[dt.datetime] = None) -> None:
        """Stores a vote, replacing this conversation's earlier vote on the same answer."""
        voter = hashlib.sha256(vote_key.encode("utf-8", "surrogatepass")).hexdigest()
        values = {"helpful": bool(helpful), "created_at": now or dt.datetime.now(dt.timezone.utc)}
        same = (answer_feedback.c.answer_id == answer_id) & (answer_feedback.c.voter == voter)
        change = answer_feedback.update().where(same).values(**values)
        try:
            with self.engine.begin() as connection:
                if not connection.execute(change).rowcount:
                    connection.execute(answer_feedback.insert().values(
                        answer_id=answer_id, voter=voter, **values))
        except sa.exc.IntegrityError:
            # The same vote arrived twice at once and the other one was stored first.
            with self.engine.begin() as connection:
                connection.execute(change)

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
