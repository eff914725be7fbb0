import datetime as dt

import sqlalchemy as sa

from feedback.store import FeedbackStore, answer_feedback


def test_counts_per_answer_most_unhelpful_first(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'f.db'}")
    for number, (answer_id, helpful) in enumerate([
            ("pain", True), ("pain", True), ("pain", False), ("side_effects", False),
            ("side_effects", False), ("aftercare_activities", True)]):
        store.record(answer_id, helpful, f"conversation-{number}")
    rows = [(r.answer_id, r.helpful, r.unhelpful, r.total) for r in store.counts()]
    assert rows == [("side_effects", 0, 2, 2), ("pain", 2, 1, 3),
                    ("aftercare_activities", 1, 0, 1)]
    store.dispose()


def test_one_vote_per_answer_per_conversation_the_last_one_counts(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'f.db'}")
    for _ in range(5):
        store.record("pain", True, "conversation-a")
    store.record("pain", False, "conversation-a")  # changed their mind
    store.record("side_effects", True, "conversation-a")
    store.record("pain", True, "conversation-b")
    assert [(r.answer_id, r.helpful, r.unhelpful) for r in store.counts()] == [
        ("pain", 1, 1), ("side_effects", 1, 0)]
    store.dispose()


def test_rows_hold_no_text_or_session(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'f.db'}")
    store.record("pain", True, "the-widgets-vote-key")
    assert set(answer_feedback.c.keys()) == {"id", "answer_id", "helpful", "created_at", "voter"}
    with store.engine.connect() as connection:
        [row] = connection.execute(sa.select(answer_feedback)).all()
    # The key itself is not stored, only its hash.
    assert "the-widgets-vote-key" not in str(tuple(row)) and len(row.voter) == 64
    store.dispose()


def test_a_table_from_before_vote_keys_gets_the_column(tmp_path):
    url = f"sqlite:///{tmp_path / 'f.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "CREATE TABLE answer_feedback (id INTEGER PRIMARY KEY, answer_id VARCHAR(64) NOT NULL,"
            " helpful BOOLEAN NOT NULL, created_at DATETIME NOT NULL)"))
        connection.execute(sa.text(
            "INSERT INTO answer_feedback (answer_id, helpful, created_at) VALUES "
            "('pain', 1, :at), ('pain', 1, :at)"), {"at": dt.datetime(2026, 1, 1)})
    engine.dispose()
    store = FeedbackStore(url)
    store.record("pain", False, "conversation-a")
    store.record("pain", True, "conversation-a")
    assert [(r.answer_id, r.helpful, r.unhelpful) for r in store.counts()] == [("pain", 3, 0)]
    store.dispose()
    FeedbackStore(url).dispose()  # opening it again changes nothing


def test_empty_store_has_no_counts(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'f.db'}")
    assert store.counts() == []
    store.dispose()
