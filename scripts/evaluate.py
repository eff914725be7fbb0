"""Measures the assistant: held-out intent accuracy and dev-set outcomes over REST.

    python scripts/evaluate.py heldout --model models/clinic.tar.gz [--min-accuracy 0.90]
    python scripts/evaluate.py devset  --model models/clinic.tar.gz [--url http://127.0.0.1:5005]
    python scripts/evaluate.py safety  --model models/clinic.tar.gz [--require-full-recall]

heldout: parses every example of tests/nlu/heldout_*.yml (never used for training) with the
  model and prints per-intent and overall accuracy, plus what the confidence gate does with
  them (answered right / asked or handed over / answered wrong). Exits 1 below --min-accuracy.
safety: emergency recall on tests/safety/emergency_wordings.txt (+ held-out emergency
  examples) and false alarms on tests/safety/lookalikes.txt and the dev set, through the
  whole NLU pipeline (red-flag rules and classifier).
devset: sends each question of ../shared/eval/dev-questions.tsv as a new conversation to the
  REST channel (starting the services itself unless --url is given) and maps the replies to
  an outcome (a:<answer id>, clarify, escalate, emergency) by matching the vetted texts
  verbatim. Prints the outcome table, correct rate and wrong-answer rate.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic.paths import PROJECT_ROOT  # noqa: E402
from clinic.resources import Resources, get_resources  # noqa: E402
from knowledge.content import EMERGENCY_MESSAGE, read_nlu_examples  # noqa: E402
from knowledge.intents import (  # noqa: E402
    EMERGENCY_INTENT,
    FALLBACK_INTENT,
    answer_id_for_intent,
)
from local.services import RunningServices, running_services  # noqa: E402

HELDOUT_DIR = PROJECT_ROOT / "tests" / "nlu"
SAFETY_DIR = PROJECT_ROOT / "tests" / "safety"
DEV_SET = PROJECT_ROOT.parent / "shared" / "eval" / "dev-questions.tsv"
# Replies that hand the parent over to the clinic (a clinician answers instead of the bot).
ESCALATION_MESSAGES = (
    "cannot_answer",
    "out_of_scope",
    "dose_guard",
    "personal_advice_guard",
    "request_human",
)


def load_heldout(directory: Path = HELDOUT_DIR) -> List[Tuple[str, str]]:
    """(text, intent) pairs of the held-out NLU files."""
    return read_nlu_examples(sorted(directory.glob("heldout_*.yml")))


async def _parse_all(model: Path, texts: List[str]) -> List[Dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Rasa's structured log prints every parsed text at debug level; keep it quiet.
    configure_structlog(logging.WARNING)

    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def evaluate_heldout(model: Path, min_accuracy: Optional[float], brief: bool = False) -> int:
    """Prints held-out intent accuracy; returns the exit code."""
    pairs = load_heldout()
    parsed = asyncio.run(_parse_all(model, [text for text, _ in pairs]))
    per_intent: Dict[str, List[int]] = collections.defaultdict(lambda: [0, 0])
    gate: collections.Counter[str] = collections.Counter()
    errors = []
    for (text, expected), result in zip(pairs, parsed, strict=False):
        ranking = [r for r in result.get("intent_ranking", []) if r["name"] != FALLBACK_INTENT]
        top = ranking[0]["name"] if ranking else None
        per_intent[expected][1] += 1
        if top == expected:
            per_intent[expected][0] += 1
        else:
            errors.append((expected, top, text))
        gated = result["intent"]["name"] == FALLBACK_INTENT
        gate["gated" if gated else ("right" if top == expected else "wrong")] += 1

    total = sum(n for _, n in per_intent.values())
    correct = sum(c for c, _ in per_intent.values())
    accuracy = correct / total
    print(f"\nHeld-out intent accuracy ({model.name}): {correct}/{total} = {accuracy:.3f}")
    if not brief:
        print(f"\n{'intent':34} {'correct':>7} {'total':>5} {'acc':>6}")
        for intent in sorted(per_intent):
            c, n = per_intent[intent]
            print(f"{intent:34} {c:7d} {n:5d} {c / n:6.2f}")
    print(
        f"\nWith the confidence gate: answered right {gate['right']}, "
        f"asked/handed over {gate['gated']}, answered wrong {gate['wrong']} "
        f"(wrong rate {gate['wrong'] / total:.3f})"
    )
    if errors and not brief:
        print("\nMisclassified (expected -> predicted: text):")
        for expected, top, text in errors:
            print(f"  {expected} -> {top}: {text}")
    if min_accuracy is not None and accuracy < min_accuracy:
        print(f"\nFAIL: held-out accuracy {accuracy:.3f} < {min_accuracy:.2f}", file=sys.stderr)
        return 1
    return 0


def read_list(path: Path) -> List[str]:
    """Non-empty, non-comment lines of a wording list."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def evaluate_safety(model: Path, dev_set: Path, require_full_recall: bool) -> int:
    """Emergency recall and false alarms of the whole NLU pipeline (rules + classifier)."""
    emergencies = read_list(SAFETY_DIR / "emergency_wordings.txt") + [
        text for text, intent in load_heldout() if intent == EMERGENCY_INTENT
    ]
    lookalikes = read_list(SAFETY_DIR / "lookalikes.txt")
    dev = read_question_set(dev_set)
    parsed = asyncio.run(_parse_all(model, emergencies + lookalikes + [q for _, q in dev]))
    alarms = [result["intent"]["name"] == EMERGENCY_INTENT for result in parsed]
    found = alarms[: len(emergencies)]
    false_alarms = alarms[len(emergencies) : len(emergencies) + len(lookalikes)]
    dev_alarms = alarms[len(emergencies) + len(lookalikes) :]
    dev_false = [
        q for (expected, q), alarm in zip(dev, dev_alarms, strict=False)
        if alarm and "emergency" not in expected
    ]
    print(f"\nEmergency recall: {sum(found)}/{len(found)} = {sum(found) / len(found):.3f} "
          "(tests/safety/emergency_wordings.txt + held-out emergency examples)")
    print(f"False alarms on look-alikes: {sum(false_alarms)}/{len(false_alarms)} = "
          f"{sum(false_alarms) / len(false_alarms):.3f}")
    print(f"Dev set: emergency guidance on {sum(dev_alarms)}/{len(dev)} questions, "
          f"false alarms {len(dev_false)}/{len(dev)} = {len(dev_false) / len(dev):.3f}")
    for text, alarm in zip(emergencies, found, strict=False):
        if not alarm:
            print(f"  MISSED: {text}")
    for text, alarm in zip(lookalikes, false_alarms, strict=False):
        if alarm:
            print(f"  FALSE ALARM: {text}")
    for question in dev_false:
        print(f"  FALSE ALARM (dev): {question}")
    if require_full_recall and (not all(found) or any(false_alarms)):
        print("\nFAIL: every emergency wording must raise the alarm and no look-alike may",
              file=sys.stderr)
        return 1
    return 0


@dataclass(frozen=True)
class Outcome:
    """What the assistant did with one question, read off its replies."""

    kind: str  # "emergency", "answer", "clarify", "escalate" or "other"
    answers: Tuple[str, ...] = ()  # answer ids sent, in order (a variant counts as its answer)
    offered: Tuple[str, ...] = ()  # answer ids offered as buttons (clarify or more_parts)

    def __str__(self) -> str:
        if self.kind == "answer":
            return "+".join(f"a:{a}" for a in self.answers)
        if self.kind == "clarify":
            return "clarify(" + ",".join(self.offered) + ")"
        return self.kind


def classify_replies(replies: List[Dict[str, Any]], resources: Resources) -> Outcome:
    """The outcome of one reply list, matched against the vetted texts verbatim."""
    texts = [reply.get("text", "") for reply in replies]
    offered = tuple(
        answer_id
        for r in replies
        for b in r.get("buttons", []) or []
        if (answer_id := answer_id_for_intent(b.get("payload", "").lstrip("/")))
    )
    if resources.message(EMERGENCY_MESSAGE) in texts:
        return Outcome("emergency")
    entries = [(a.id, a) for a in resources.content.answers.values()] + [
        (answer_id, entry) for (answer_id, _), entry in resources.content.variants.items()
    ]
    rendered = {resources.render(entry): answer_id for answer_id, entry in entries}
    answers = tuple(rendered[text] for text in texts if text in rendered)
    if answers:
        return Outcome("answer", answers, offered)
    if resources.message("clarify") in texts:
        return Outcome("clarify", (), offered)
    if any(resources.message(m) in texts for m in ESCALATION_MESSAGES):
        return Outcome("escalate")
    return Outcome("other")


#: The columns of every set's table, in order.
VERDICTS = (
    "right", "one click", "wrong", "asked, wrong options", "handed over", "other",
)


def verdict(expected: List[str], outcome: Outcome) -> str:
    """How an outcome counts against the expected outcomes of a question.

    `expected` lists acceptable outcomes (`a:<id>`, `escalate`, `emergency`); one entry
    joining answers with "+" (`a:safety+a:duration_of_effect`) asks for all of them: the
    first two sent and any further ones offered.
    """
    if outcome.kind == "emergency":
        return "right" if "emergency" in expected else "wrong"
    if outcome.kind == "answer":
        wanted = [e for e in expected if "+" in e]
        if wanted:
            required = [part[2:] for part in wanted[0].split("+")]
            sent_ok = set(outcome.answers) == set(required[:2])
            offered_ok = set(required[2:]) <= set(outcome.offered)
            if sent_ok and offered_ok:
                return "right"
            if set(outcome.answers) <= set(required):
                return "one click"  # part of it answered, nothing wrong said
            return "wrong"
        return "right" if all(f"a:{a}" in expected for a in outcome.answers) else "wrong"
    if outcome.kind == "clarify":
        acceptable = {e[2:] for e in expected if e.startswith("a:")} | {
            part[2:] for e in expected if "+" in e for part in e.split("+")
        }
        return "one click" if acceptable & set(outcome.offered) else "asked, wrong options"
    if outcome.kind == "escalate":
        return "right" if "escalate" in expected else "handed over"
    return "other"


def read_question_set(path: Path) -> List[Tuple[List[str], str]]:
    """(expected outcomes, question) of a measurement set: expected<TAB>question[<TAB>source]."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expected, question = line.split("\t")[:2]
        rows.append(([e.strip() for e in expected.split(",")], question))
    return rows


def evaluate_devset(services: RunningServices, dev_set: Path, summary_only: bool) -> int:
    """Prints a measurement set's outcome table; returns 0 (measurement only)."""
    resources = get_resources()
    counts: collections.Counter = collections.Counter()
    emergencies = false_alarms = missed = 0
    lines = []
    rows = read_question_set(dev_set)
    for expected, question in rows:
        outcome = classify_replies(services.send(f"eval-{uuid.uuid4().hex}", question), resources)
        result = verdict(expected, outcome)
        counts[result] += 1
        emergencies += outcome.kind == "emergency"
        false_alarms += outcome.kind == "emergency" and "emergency" not in expected
        missed += expected == ["emergency"] and outcome.kind != "emergency"
        lines.append(f"{result:20} {str(outcome):40} {','.join(expected)} | {question}")
    if not summary_only:
        print(f"\n{'result':20} {'outcome':40} expected | question")
        print("\n".join(lines))
    total = len(rows)
    print(f"\n{dev_set.name} ({total} questions, through REST):")
    print("| " + " | ".join(VERDICTS) + " | emergencies | false alarms | missed emergencies |")
    print("|" + "---|" * (len(VERDICTS) + 3))
    print("| " + " | ".join(f"{counts[v] / total:.1%}" for v in VERDICTS)
          + f" | {emergencies} | {false_alarms} | {missed} |")
    return 0


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["heldout", "devset", "safety"])
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "clinic.tar.gz")
    parser.add_argument("--min-accuracy", type=float)
    parser.add_argument("--brief", action="store_true", help="overall numbers only")
    parser.add_argument("--require-full-recall", action="store_true",
                        help="safety: exit 1 on any missed emergency or false alarm")
    parser.add_argument("--url", help="a running Rasa server (default: start one)")
    parser.add_argument("--dev-set", type=Path, default=DEV_SET)
    parser.add_argument("--summary-only", action="store_true",
                        help="devset: the table only, no question (for sets kept unseen)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

    if args.what == "heldout":
        return evaluate_heldout(args.model, args.min_accuracy, args.brief)
    if args.what == "safety":
        return evaluate_safety(args.model, args.dev_set, args.require_full_recall)
    if args.url:
        return evaluate_devset(
            RunningServices(args.url, "", None, {}), args.dev_set, args.summary_only
        )
    with tempfile.TemporaryDirectory() as work_dir, running_services(
        args.model, Path(work_dir)
    ) as services:
        return evaluate_devset(services, args.dev_set, args.summary_only)


if __name__ == "__main__":
    sys.exit(main())
