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
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic.content import answer_id_for_intent, read_nlu_examples  # noqa: E402
from clinic.local_services import RunningServices, running_services  # noqa: E402
from clinic.paths import PROJECT_ROOT  # noqa: E402
from clinic.resources import Resources, get_resources  # noqa: E402

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
    gate = collections.Counter()
    errors = []
    for (text, expected), result in zip(pairs, parsed, strict=False):
        ranking = [r for r in result.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
        top = ranking[0]["name"] if ranking else None
        per_intent[expected][1] += 1
        if top == expected:
            per_intent[expected][0] += 1
        else:
            errors.append((expected, top, text))
        gated = result["intent"]["name"] == "nlu_fallback"
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
        text for text, intent in load_heldout() if intent == "emergency"
    ]
    lookalikes = read_list(SAFETY_DIR / "lookalikes.txt")
    dev = [line.split("\t", 1) for line in read_list(dev_set)]
    parsed = asyncio.run(_parse_all(model, emergencies + lookalikes + [q for _, q in dev]))
    alarms = [result["intent"]["name"] == "emergency" for result in parsed]
    found = alarms[: len(emergencies)]
    false_alarms = alarms[len(emergencies) : len(emergencies) + len(lookalikes)]
    dev_alarms = alarms[len(emergencies) + len(lookalikes) :]
    dev_false = [
        q for (expected, q), alarm in zip(dev, dev_alarms, strict=False)
        if alarm and "emergency" not in expected.split(",")
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


def classify_replies(replies: List[Dict[str, Any]], resources: Resources) -> str:
    """The outcome of one reply list: 'emergency', 'a:<id>', 'clarify', 'escalate' or 'other'."""
    texts = [reply.get("text", "") for reply in replies]
    if resources.message("emergency") in texts:
        return "emergency"
    for answer_id, answer in resources.content.answers.items():
        if resources.render(answer) in texts:
            return f"a:{answer_id}"
    if resources.message("clarify") in texts:
        return "clarify"
    if any(resources.message(m) in texts for m in ESCALATION_MESSAGES):
        return "escalate"
    return "other"


def evaluate_devset(services: RunningServices, dev_set: Path) -> int:
    """Prints dev-set outcomes; returns 0 (measurement only)."""
    resources = get_resources()
    rows = []
    for line in dev_set.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expected, question = line.split("\t", 1)
        replies = services.send(f"eval-{uuid.uuid4().hex}", question)
        outcome = classify_replies(replies, resources)
        offered = [
            answer_id_for_intent(b["payload"].lstrip("/")) or ""
            for r in replies
            for b in r.get("buttons", []) or []
        ]
        rows.append((expected.split(","), outcome, offered, question))

    counts = collections.Counter()
    print(f"\n{'result':8} {'outcome':28} expected | question")
    for expected, outcome, offered, question in rows:
        if outcome in expected:
            verdict = "correct"
        elif outcome == "clarify" and any(f"a:{o}" in expected for o in offered):
            verdict = "clarify+"  # one click away from a right answer; nothing wrong said
        elif outcome.startswith("a:") or (outcome == "emergency"):
            verdict = "WRONG"
        else:
            verdict = "miss"  # a safe hand-over or question where an answer was expected
        counts[verdict] += 1
        print(f"{verdict:8} {outcome:28} {','.join(expected)} | {question}")
    total = len(rows)
    print(
        f"\nDev set ({total} questions): correct {counts['correct'] / total:.3f}, "
        f"correct after one clarifying click {counts['clarify+'] / total:.3f}, "
        f"safe miss {counts['miss'] / total:.3f}, wrong answer {counts['WRONG'] / total:.3f}"
    )
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

    if args.what == "heldout":
        return evaluate_heldout(args.model, args.min_accuracy, args.brief)
    if args.what == "safety":
        return evaluate_safety(args.model, args.dev_set, args.require_full_recall)
    if args.url:
        return evaluate_devset(RunningServices(args.url, "", None, {}), args.dev_set)
    with tempfile.TemporaryDirectory() as work_dir, running_services(
        args.model, Path(work_dir)
    ) as services:
        return evaluate_devset(services, args.dev_set)


if __name__ == "__main__":
    sys.exit(main())
