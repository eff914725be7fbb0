"""Clinician sign-offs of parent-facing texts, and the serving policy that relies on them.

A sign-off (or a request for changes) records the reviewer, the time and a SHA-256 of the exact
text and source: editing the text in content/ changes the hash, so the sign-off no longer
applies. The rows are the audit: nothing is updated or deleted. They live in the escalation
store's database (ESCALATION_DB_URL, or var/escalations.db) and travel with the content in
content/signoffs.yml (`make signoffs` exports the database to it and imports it into a fresh
database), so a deployment built from git knows which texts are signed.

CONTENT_POLICY decides what is served: `all` (every text, the default for `make run`) or
`signed` (production: an answer whose current text is not signed is withheld and counted;
the emergency message is always sent).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from clinic.paths import CONTENT_DIR
from clinic.resources import get_resources
from escalation.store import database_url
from knowledge.content import EMERGENCY_MESSAGE, Content, Entry
from stores.urls import open_database

logger = logging.getLogger(__name__)

SIGNOFFS_FILE = CONTENT_DIR / "signoffs.yml"
POLICY_ENV = "CONTENT_POLICY"
POLICIES = ("all", "signed")
SIGNED_OFF = "signed_off"
CHANGES_REQUESTED = "changes_requested"
ACTIONS = (SIGNED_OFF, CHANGES_REQUESTED)
#: States of a text on the review page and in the answer report.
SIGNED, CHANGED, CHANGES, UNSIGNED = "signed", "changed since sign-off", "changes requested", \
    "unsigned"

metadata = sa.MetaData()

content_reviews = sa.Table(
    "content_reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("text_id", sa.String(100), nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False),
    # The reviewed text and source themselves: the word diff after an edit is made from them.
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    # The same review imported twice (file and database, two processes) is stored once.
    sa.UniqueConstraint("text_id", "action", "actor", "at", name="content_reviews_once"),
)

withheld_answers = sa.Table(
    "content_withheld",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("answer_id", sa.String(100), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


def text_hash(text: str, source: str) -> str:
    """SHA-256 of the exact text and source a reviewer saw."""
    return hashlib.sha256(f"{text}\n\n{source}".encode()).hexdigest()


def entry_hash(entry: Entry) -> str:
    """The hash of an entry's current text and source."""
    return text_hash(entry.text, entry.source)


@dataclass(frozen=True)
class Review:
    """One sign-off or request for changes."""

    text_id: str
    action: str
    actor: str
    at: dt.datetime
    text_hash: str
    text: str
    source: str
    note: str = ""

    def as_record(self) -> Dict[str, str]:
        """The form kept in content/signoffs.yml."""
        return {"text_id": self.text_id, "action": self.action, "actor": self.actor,
                "at": self.at.isoformat(), "text_hash": self.text_hash, "note": self.note,
                "text": self.text, "source": self.source}


def review_state(entry: Entry, reviews: List[Review]) -> str:
    """signed, changed since sign-off, changes requested or unsigned (`reviews` newest first)."""
    current = entry_hash(entry)
    latest = reviews[0] if reviews else None
    if latest is not None and latest.text_hash == current:
        return SIGNED if latest.action == SIGNED_OFF else CHANGES
    if any(review.action == SIGNED_OFF for review in reviews):
        return CHANGED
    return UNSIGNED


def word_diff(old: str, new: str) -> List[Tuple[str, str]]:
    """(kind, words) runs from `old` to `new`; kind is same, removed or added."""
    before, after = old.split(), new.split()
    runs: List[Tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            runs.append(("same", " ".join(before[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("removed", " ".join(before[i1:i2])))
        if j2 > j1:
            runs.append(("added", " ".join(after[j1:j2])))
    return runs


def _review(row: Mapping) -> Review:
    at = row["at"]
    if at.tzinfo is None:  # SQLite gives naive datetimes back; everything stored is UTC
        at = at.replace(tzinfo=dt.timezone.utc)
    return Review(row["text_id"], row["action"], row["actor"], at, row["text_hash"],
                  row["text"], row["source"], row["note"] or "")


class SignoffStore:
    """Reviews of texts and counts of withheld answers, in the escalation store's database."""

    def __init__(self, url: Optional[str] = None) -> None:
        """Connects to `url` (default ESCALATION_DB_URL) and creates the tables if needed."""
        self.url = url or database_url()
        self.engine: Engine = open_database(self.url, metadata)

    def dispose(self) -> None:
        """Closes the connection pool."""
        self.engine.dispose()

    def record(self, entry: Entry, action: str, actor: str, note: str = "",
               now: Optional[dt.datetime] = None) -> Review:
        """Stores a sign-off or a request for changes of the entry's current text."""
        if action not in ACTIONS:
            raise ValueError(f"unknown review action {action!r}")
        review = Review(entry.id, action, actor, now or dt.datetime.now(dt.timezone.utc),
                        entry_hash(entry), entry.text, entry.source, note.strip())
        with self.engine.begin() as connection:
            connection.execute(content_reviews.insert().values(**review.__dict__))
        return review

    def history(self, text_id: Optional[str] = None) -> List[Review]:
        """Reviews, newest first (of one text, or of all)."""
        query = content_reviews.select().order_by(content_reviews.c.at.desc(),
                                                  content_reviews.c.id.desc())
        if text_id is not None:
            query = query.where(content_reviews.c.text_id == text_id)
        with self.engine.connect() as connection:
            return [_review(row) for row in connection.execute(query).mappings()]

    def by_text(self) -> Dict[str, List[Review]]:
        """Every text's reviews, newest first."""
        reviews: Dict[str, List[Review]] = {}
        for review in self.history():
            reviews.setdefault(review.text_id, []).append(review)
        return reviews

    def is_signed(self, entry: Entry) -> bool:
        """Whether the entry's latest review signs off its current text."""
        query = (content_reviews.select().where(content_reviews.c.text_id == entry.id)
                 .order_by(content_reviews.c.at.desc(), content_reviews.c.id.desc()).limit(1))
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return row is not None and review_state(entry, [_review(row)]) == SIGNED

    def import_reviews(self, reviews: Iterable[Review]) -> int:
        """Adds the reviews not stored yet; returns how many were new."""
        added = 0
        for review in reviews:
            try:
                with self.engine.begin() as connection:
                    connection.execute(content_reviews.insert().values(**review.__dict__))
                added += 1
            except IntegrityError:
                continue  # stored already
        return added

    def count_withheld(self, answer_id: str, now: Optional[dt.datetime] = None) -> None:
        """Counts an answer that was not sent because its text is not signed."""
        with self.engine.begin() as connection:
            connection.execute(withheld_answers.insert().values(
                answer_id=answer_id, at=now or dt.datetime.now(dt.timezone.utc)))

    def withheld_counts(self) -> Dict[str, int]:
        """How often each answer was withheld, unsigned."""
        query = (sa.select(withheld_answers.c.answer_id, sa.func.count())
                 .group_by(withheld_answers.c.answer_id))
        with self.engine.connect() as connection:
            return dict(connection.execute(query).all())


def read_signoff_file(path: Path = SIGNOFFS_FILE) -> List[Review]:
    """The reviews kept in the repository (none if the file does not exist)."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    reviews = []
    for position, item in enumerate(data.get("reviews") or [], start=1):
        try:
            at = dt.datetime.fromisoformat(str(item["at"]))
            if item["action"] not in ACTIONS:
                raise ValueError(f"unknown action {item['action']!r}")
            reviews.append(Review(str(item["text_id"]), item["action"], str(item["actor"]),
                                  at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc),
                                  str(item["text_hash"]), str(item["text"]),
                                  str(item["source"]), str(item.get("note") or "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: review #{position}: {exc}") from None
    return reviews


def write_signoff_file(reviews: Iterable[Review], path: Path = SIGNOFFS_FILE) -> None:
    """Writes the reviews (oldest first, so a new review is a diff at the end)."""
    records = sorted((review.as_record() for review in reviews),
                     key=lambda record: (record["at"], record["text_id"], record["action"]))
    header = ("# Clinician reviews of parent-facing texts, exported by `make signoffs` from the\n"
              "# database (docs/content-signoff.md). Do not edit by hand: a review binds to the\n"
              "# hash of the exact text and source it was made on.\n")
    body = yaml.safe_dump({"reviews": records}, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(header + body, encoding="utf-8")


def content_policy(environ: Optional[Mapping[str, str]] = None) -> str:
    """CONTENT_POLICY: `all` (default) or `signed`; raises ValueError on anything else."""
    env = os.environ if environ is None else environ
    policy = (env.get(POLICY_ENV) or "all").strip().lower()
    if policy not in POLICIES:
        raise ValueError(f"{POLICY_ENV} must be one of {', '.join(POLICIES)}, not {policy!r}")
    return policy


def unsigned_emergency_warning(content: Content, store: SignoffStore) -> Optional[str]:
    """The loud start-up warning when the emergency message's current text is not signed."""
    if store.is_signed(content.messages[EMERGENCY_MESSAGE]):
        return None
    return ("!!! The EMERGENCY message is NOT signed off by a clinician: it is still sent "
            "(always), but a clinician must review it first at /staff/content !!!")


class ServingPolicy:
    """Decides whether a text may be sent, under CONTENT_POLICY."""

    def __init__(self, policy: str, store: Optional[SignoffStore]) -> None:
        """`store` is needed (and only read) under the `signed` policy."""
        self.policy = policy
        self.store = store

    def allows(self, entry: Entry) -> bool:
        """Whether `entry` may be sent; a database failure withholds (fails closed).

        One indexed query per answer sent, so a sign-off counts at once (3 ms on SQLite with
        660 reviews, measured while tests loaded both cores).
        """
        if self.policy == "all" or entry.id == EMERGENCY_MESSAGE:
            return True
        if self.store is None:
            return False
        try:
            return self.store.is_signed(entry)
        except sa.exc.SQLAlchemyError as exc:
            logger.error("sign-off store unavailable (%s): answer %s withheld",
                         type(exc).__name__, entry.id)
            return False

    def count_withheld(self, answer_id: str) -> None:
        """Counts a withheld answer for the answer report (a failure is only logged)."""
        if self.store is None:
            return
        try:
            self.store.count_withheld(answer_id)
        except sa.exc.SQLAlchemyError as exc:
            logger.error("could not count withheld answer %s (%s)", answer_id,
                         type(exc).__name__)


def open_signoffs(url: Optional[str] = None, signoff_file: Optional[Path] = None) -> SignoffStore:
    """The sign-off store with the repository's reviews (content/signoffs.yml) imported."""
    signoff_file = signoff_file or SIGNOFFS_FILE
    store = SignoffStore(url)
    added = store.import_reviews(read_signoff_file(signoff_file))
    if added:
        logger.info("imported %d review(s) from %s", added, signoff_file.name)
    return store


@lru_cache(maxsize=1)
def serving_policy() -> ServingPolicy:
    """The process-wide serving policy; opens the sign-off store on first use under `signed`.

    A misspelt CONTENT_POLICY serves signed texts only (fails closed) and says so in the log.
    """
    try:
        policy = content_policy()
    except ValueError as exc:
        logger.error("%s: serving signed texts only", exc)
        policy = "signed"
    if policy == "all":
        return ServingPolicy(policy, None)
    store = open_signoffs()
    warning = unsigned_emergency_warning(get_resources().content, store)
    if warning:
        logger.warning(warning)
    return ServingPolicy(policy, store)
