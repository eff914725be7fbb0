import sqlalchemy as sa

from clinic.feedback_store import FeedbackStore, answer_feedback


def test_counts_per_answer_most_unhelpful_first(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'f.db'}")
    for answer_id, helpful in [("pain", True), ("pain", True), ("pain", False),
                               ("side_effects", False), ("side_effects", False),
                               ("aftercare_activities", True)]:
        store.record(answer_id, helpful)
    rows = [(r.answer_id, r.helpful, r.unhelpful, r.total) for r in store.counts()]
    assert rows == [("side_effects", 0, 2, 2), ("pain", 2, 1, 3),
                    ("aftercare_activities", 1, 0, 1)]
    store.dispose()


def test_rows_hold_no_text_or_session(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'f.db'}")
    store.record("pain", True)
    assert set(answer_feedback.c.keys()) == {"id", "answer_id", "helpful", "created_at"}
    with store.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(answer_feedback)
                                  ).scalar() == 1
    store.dispose()


def test_empty_store_has_no_counts(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'f.db'}")
    assert store.counts() == []
    store.dispose()
