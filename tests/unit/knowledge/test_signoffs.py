import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from knowledge.signoffs import (
    CHANGED,
    CHANGES,
    CHANGES_REQUESTED,
    SIGNED,
    SIGNED_OFF,
    UNSIGNED,
    ServingPolicy,
    SignoffStore,
    content_policy,
    entry_hash,
    open_signoffs,
    read_signoff_file,
    review_state,
    serving_policy,
    unsigned_emergency_warning,
    word_diff,
    write_signoff_file,
)


@pytest.fixture
def store(tmp_path):
    opened = SignoffStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield opened
    opened.dispose()


def edited(entry, text=None, source=None):
    return dataclasses.replace(entry, text=text or entry.text, source=source or entry.source)


def test_a_signoff_binds_to_the_exact_text_and_source(store, resources):
    pain = resources.content.answers["pain"]
    assert review_state(pain, store.history("pain")) == UNSIGNED
    store.record(pain, SIGNED_OFF, "dr.lee", "checked against the article")
    assert store.is_signed(pain)
    assert review_state(pain, store.history("pain")) == SIGNED
    for changed in (edited(pain, text=pain.text + " More."), edited(pain, source="Elsewhere")):
        assert entry_hash(changed) != entry_hash(pain)
        assert not store.is_signed(changed)
        assert review_state(changed, store.history("pain")) == CHANGED


def test_requesting_changes_ends_the_signoff_and_is_kept_in_the_history(store, resources):
    pain = resources.content.answers["pain"]
    start = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    store.record(pain, SIGNED_OFF, "dr.lee", now=start)
    store.record(pain, CHANGES_REQUESTED, "dr.ash", "say when to call",
                 now=start + dt.timedelta(hours=1))
    assert not store.is_signed(pain)
    history = store.history("pain")
    assert review_state(pain, history) == CHANGES
    assert [(r.actor, r.action, r.note) for r in history] == [
        ("dr.ash", CHANGES_REQUESTED, "say when to call"), ("dr.lee", SIGNED_OFF, "")]
    with pytest.raises(ValueError):
        store.record(pain, "approve", "dr.lee")


def test_signoffs_travel_through_the_file_into_a_fresh_database(store, resources, tmp_path):
    pain, emergency = resources.content.answers["pain"], resources.content.messages["emergency"]
    store.record(pain, SIGNED_OFF, "dr.lee", "fine")
    store.record(emergency, SIGNED_OFF, "dr.lee")
    path = tmp_path / "signoffs.yml"
    write_signoff_file(store.history(), path)
    assert read_signoff_file(path) == store.history()[::-1]

    fresh = open_signoffs(f"sqlite:///{tmp_path / 'fresh.sqlite'}", path)
    try:
        assert fresh.is_signed(pain) and fresh.is_signed(emergency)
        # Importing again (a restart, a second process) adds nothing.
        assert fresh.import_reviews(read_signoff_file(path)) == 0
        assert len(fresh.history()) == 2
        assert unsigned_emergency_warning(resources.content, fresh) is None
    finally:
        fresh.dispose()
    assert "EMERGENCY" in unsigned_emergency_warning(
        resources.content, SignoffStore(f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    assert read_signoff_file(tmp_path / "missing.yml") == []


def test_word_diff_shows_removed_and_added_words():
    assert word_diff("call the clinic on weekdays", "call the team on weekdays now") == [
        ("same", "call the"), ("removed", "clinic"), ("added", "team"), ("same", "on weekdays"),
        ("added", "now")]


def test_content_policy_setting():
    assert content_policy({}) == "all"
    assert content_policy({"CONTENT_POLICY": " Signed "}) == "signed"
    with pytest.raises(ValueError, match="CONTENT_POLICY"):
        content_policy({"CONTENT_POLICY": "some"})


def test_signed_policy_sends_signed_texts_and_always_the_emergency_message(store, resources):
    pain, onset = resources.content.answers["pain"], resources.content.answers["onset"]
    emergency = resources.content.messages["emergency"]
    store.record(pain, SIGNED_OFF, "dr.lee")
    signed = ServingPolicy("signed", store)
    assert signed.allows(pain) and signed.allows(emergency)
    assert not signed.allows(onset)
    assert ServingPolicy("all", None).allows(onset)
    signed.count_withheld("onset")
    signed.count_withheld("onset")
    assert store.withheld_counts() == {"onset": 2}


def test_signed_policy_withholds_when_the_store_is_down(resources, tmp_path):
    broken = SignoffStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    broken.engine = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite'}")
    policy = ServingPolicy("signed", broken)
    assert not policy.allows(resources.content.answers["pain"])
    assert policy.allows(resources.content.messages["emergency"])
    policy.count_withheld("pain")  # logged, not raised


def test_a_misspelt_policy_serves_signed_texts_only(tmp_path, monkeypatch, resources):
    monkeypatch.setenv("CONTENT_POLICY", "sigend")
    monkeypatch.setenv("ESCALATION_DB_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setattr("knowledge.signoffs.SIGNOFFS_FILE", tmp_path / "none.yml")
    serving_policy.cache_clear()
    try:
        policy = serving_policy()
        assert policy.policy == "signed"
        assert not policy.allows(resources.content.answers["pain"])
        policy.store.dispose()
    finally:
        serving_policy.cache_clear()
