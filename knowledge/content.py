"""Vetted content: the reviewed answers, their condition variants and conversation messages.

Every text a parent can read comes from `content/answers.yml`, `content/variants.yml` or
`content/messages.yml`.
Loading checks every entry (required fields, ids, status, placeholders) and raises
`ContentError` naming the file and the entry, so a broken content file stops `make train`,
`make test` and the servers instead of reaching a parent.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import yaml

from clinic.paths import ANSWERS_FILE, MESSAGES_FILE, VARIANTS_FILE
from clinic.settings import TEMPLATE_FIELDS
from knowledge.intents import answer_intent
from knowledge.yaml_files import read_mapping

STATUSES = ("approved", "needs_review")
REQUIRED_FIELDS = ("id", "text", "source", "status", "reviewed_by", "reviewed_on")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
#: Placeholders filled by the actions themselves (besides the clinic settings).
ACTION_PLACEHOLDERS = frozenset({"source", "question", "reference", "next_opening"})
#: The message sent for an emergency: always sent, whatever the serving policy.
EMERGENCY_MESSAGE = "emergency"
#: Tier 1 texts restate the clinic's article; their source names its section.
ARTICLE_SOURCE_PREFIX = "Clinic article"


class ContentError(ValueError):
    """A content file is missing, malformed or fails validation."""


@dataclass(frozen=True)
class Entry:
    """One vetted text with its review record."""

    id: str
    text: str
    source: str
    status: str
    reviewed_by: str
    reviewed_on: dt.date
    title: str = ""
    intents: Tuple[str, ...] = ()
    buttons: Tuple[str, ...] = ()

    @property
    def intent(self) -> str:
        """The NLU intent that asks for this answer."""
        return answer_intent(self.id)

    def render(self, values: Mapping[str, str]) -> str:
        """The text with its {placeholders} filled from `values` (clinic settings)."""
        return self.text.format_map(values)

    @property
    def tier(self) -> str:
        """`1` (restates the clinic's article), `2` (public sources) or `policy` (messages)."""
        if self.source.startswith(ARTICLE_SOURCE_PREFIX):
            return "1"
        return "policy" if self.source.lower().startswith("clinic policy") else "2"


@dataclass(frozen=True)
class Content:
    """All vetted texts, by id."""

    answers: Dict[str, Entry]
    messages: Dict[str, Entry]
    #: Condition variants of answers, by (answer id, condition id).
    variants: Dict[Tuple[str, str], Entry] = field(default_factory=dict)

    def answer_for(self, answer_id: str, condition: Optional[str]) -> Tuple[Entry, bool]:
        """The answer to send for a condition: its variant when one exists, else the answer.

        Returns:
            The entry, and whether it is a variant (False: the general answer).
        """
        variant = self.variants.get((answer_id, condition or ""))
        return (variant, True) if variant else (self.answers[answer_id], False)

    def parent_facing(self) -> Dict[str, Tuple[str, Entry]]:
        """Every text a parent can read, by id: (kind, entry), kind answer/variant/message."""
        texts: Dict[str, Tuple[str, Entry]] = {}
        for answer in self.answers.values():
            texts[answer.id] = ("answer", answer)
        for variant in self.variants.values():
            texts[variant.id] = ("variant", variant)
        for message in self.messages.values():
            texts[message.id] = ("message", message)
        return texts

    def message_for_intent(self, intent: str) -> Optional[Entry]:
        """The conversation message that replies to `intent`, if any."""
        for message in self.messages.values():
            if intent in message.intents:
                return message
        return None


def load_content(
    answers_file: Path = ANSWERS_FILE,
    messages_file: Path = MESSAGES_FILE,
    variants_file: Optional[Path] = VARIANTS_FILE,
) -> Content:
    """Loads and validates the content files.

    Raises:
        ContentError: naming the file and entry at fault.
    """
    answers = _load_entries(Path(answers_file), "answers", with_title=True)
    messages = _load_entries(Path(messages_file), "messages", with_title=False)
    for message in messages.values():
        unknown = [answer_id for answer_id in message.buttons if answer_id not in answers]
        if unknown:
            raise ContentError(
                f"{messages_file}: entry '{message.id}': buttons name unknown answer id(s): "
                f"{', '.join(unknown)}"
            )
    variants = _load_variants(Path(variants_file), answers) if variants_file else {}
    return Content(answers=answers, messages=messages, variants=variants)


def _load_variants(path: Path, answers: Mapping[str, Entry]) -> Dict[Tuple[str, str], Entry]:
    """Condition variants: review fields like an answer, keyed by answer and condition.

    Each variant's id is `<answer>_for_<condition>` (feedback and the answer report use it);
    its title is the answer's, so buttons read the same.
    """
    if not path.exists():
        return {}
    raw = read_mapping(path, ContentError, "content file")
    items = raw.get("variants")
    if not isinstance(items, list):
        raise ContentError(f"{path}: expected a list under 'variants:'")
    variants: Dict[Tuple[str, str], Entry] = {}
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ContentError(f"{path}: entry #{position}: expected a mapping")
        answer_id, condition = item.get("answer"), item.get("condition")
        label = f"{path}: entry #{position} ({answer_id} for {condition})"
        if not isinstance(answer_id, str) or answer_id not in answers:
            raise ContentError(f"{label}: 'answer' must be an answer id of {ANSWERS_FILE.name}")
        if not isinstance(condition, str) or not _ID.match(condition):
            raise ContentError(f"{label}: 'condition' must be a lower_snake_case condition id")
        fields = {k: v for k, v in item.items() if k not in ("answer", "condition")}
        entry = _parse_entry(
            path,
            position,
            {"id": f"{answer_id}_for_{condition}", "title": answers[answer_id].title, **fields},
            with_title=True,
        )
        if (answer_id, condition) in variants:
            raise ContentError(f"{label}: duplicate variant")
        variants[(answer_id, condition)] = entry
    return variants


def _load_entries(path: Path, key: str, with_title: bool) -> Dict[str, Entry]:
    raw = read_mapping(path, ContentError, "content file")
    if not isinstance(raw.get(key), list) or not raw[key]:
        raise ContentError(f"{path}: expected a non-empty list under '{key}:'")

    entries: Dict[str, Entry] = {}
    for position, item in enumerate(raw[key], start=1):
        entry = _parse_entry(path, position, item, with_title)
        if entry.id in entries:
            raise ContentError(f"{path}: entry '{entry.id}' (#{position}): duplicate id")
        entries[entry.id] = entry
    return entries


def _parse_entry(path: Path, position: int, item: Any, with_title: bool) -> Entry:
    label = f"{path}: entry #{position}"
    if not isinstance(item, dict):
        raise ContentError(f"{label}: expected a mapping with {', '.join(REQUIRED_FIELDS)}")
    if isinstance(item.get("id"), str):
        label = f"{path}: entry '{item['id']}' (#{position})"

    required = REQUIRED_FIELDS + (("title",) if with_title else ())
    missing = [name for name in required if name not in item]
    if missing:
        raise ContentError(f"{label}: missing field(s): {', '.join(missing)}")
    allowed = set(required) | ({"intents", "buttons"} if not with_title else set())
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ContentError(f"{label}: unknown field(s): {', '.join(unknown)}")

    for name in required:
        if name == "reviewed_on":
            continue
        value = item[name]
        if not isinstance(value, str) or not value.strip():
            raise ContentError(f"{label}: field '{name}' is empty or not text")
    if not _ID.match(item["id"]):
        raise ContentError(f"{label}: id must be lower_snake_case")
    if item["status"] not in STATUSES:
        raise ContentError(f"{label}: status must be one of {', '.join(STATUSES)}")
    reviewed_on = item["reviewed_on"]
    if not isinstance(reviewed_on, dt.date):
        raise ContentError(f"{label}: reviewed_on must be a date (YYYY-MM-DD)")

    text = " ".join(item["text"].split())
    _check_placeholders(label, "text", text)
    intents = _names(label, item, "intents")
    buttons = _names(label, item, "buttons")
    return Entry(
        id=item["id"],
        text=text,
        source=" ".join(item["source"].split()),
        status=item["status"],
        reviewed_by=item["reviewed_by"].strip(),
        reviewed_on=reviewed_on,
        title=item.get("title", "").strip(),
        intents=intents,
        buttons=buttons,
    )


def _names(label: str, item: Dict[str, Any], field: str) -> Tuple[str, ...]:
    names = item.get(field) or []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ContentError(f"{label}: {field} must be a list of names")
    return tuple(names)


def _check_placeholders(label: str, field: str, text: str) -> None:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ContentError(
            f"{label}: field '{field}' has a broken {{placeholder}}: {exc}"
        ) from None
    unknown = sorted(set(names) - TEMPLATE_FIELDS - ACTION_PLACEHOLDERS)
    if unknown:
        raise ContentError(
            f"{label}: field '{field}' uses unknown placeholder(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(TEMPLATE_FIELDS))}"
        )


def check_nlu_coverage(
    content: Content,
    examples_per_intent: Mapping[str, int],
    minimum: int,
    answers_file: Path = ANSWERS_FILE,
) -> List[str]:
    """Problems with the NLU data for the answers: every answer needs `minimum` examples.

    Returns:
        One message per answer id whose intent has too few (or no) examples.
    """
    problems = []
    for answer in content.answers.values():
        count = examples_per_intent.get(answer.intent, 0)
        if count < minimum:
            problems.append(
                f"{answers_file}: entry '{answer.id}': intent '{answer.intent}' has {count} "
                f"NLU example(s) in data/nlu/, at least {minimum} are required"
            )
    return problems


def read_nlu_examples(nlu_files: Iterable[Path]) -> List[Tuple[str, str]]:
    """(text, intent) for every example of every intent block in Rasa YAML NLU files."""
    pairs: List[Tuple[str, str]] = []
    for path in nlu_files:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []) or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                if line.strip().startswith("- "):
                    pairs.append((line.strip()[2:].strip(), block["intent"]))
    return pairs


def count_nlu_examples(nlu_files: Iterable[Path]) -> Dict[str, int]:
    """Counts the training examples per intent in Rasa YAML NLU files."""
    counts: Dict[str, int] = {}
    for _, intent in read_nlu_examples(nlu_files):
        counts[intent] = counts.get(intent, 0) + 1
    return counts
