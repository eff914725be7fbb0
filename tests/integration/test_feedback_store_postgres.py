"""Answer feedback on a real PostgreSQL server: one vote per answer per conversation."""

import datetime as dt

import pytest
import sqlalchemy as sa

from feedback.store import FeedbackStore
from tests.integration.postgres import temporary_postgres

pytestmark = pytest.mark.integration


def test_one_vote_per_answer_per_conversation_on_postgresql_old_and_new_tables():
    with temporary_postgres() as url:
        engine = sa.create_engine(url)
        with engine.begin() as connection:  # the table as it was before vote keys
            connection.execute(sa.text(
                "CREATE TABLE answer_feedback (id SERIAL PRIMARY KEY, answer_id VARCHAR(64) "
                "NOT NULL, helpful BOOLEAN NOT NULL, created_at TIMESTAMPTZ NOT NULL)"))
            connection.execute(sa.text(
                "INSERT INTO answer_feedback (answer_id, helpful, created_at) VALUES "
                "('pain', true, :at), ('pain', true, :at)"),
                {"at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)})
        engine.dispose()
        store = FeedbackStore(url)
        assert store.engine.dialect.name == "postgresql"
        for helpful in (True, True, False):
            store.record("pain", helpful, "conversation-a")
        store.record("side_effects", True, "conversation-a")
        store.record("side_effects", True, "conversation-b")
        assert [(r.answer_id, r.helpful, r.unhelpful) for r in store.counts()] == [
            ("pain", 2, 1), ("side_effects", 2, 0)]
        store.dispose()
        FeedbackStore(url).dispose()  # opening it again changes nothing

        with store.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE answer_feedback"))
        fresh = FeedbackStore(url)  # a new database: the table made with its constraint
        fresh.record("pain", True, "conversation-a")
        fresh.record("pain", False, "conversation-a")
        assert [(r.helpful, r.unhelpful) for r in fresh.counts()] == [(0, 1)]
        fresh.dispose()
