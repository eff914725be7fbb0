"""Aspects of the treatment named in a message, found by rules (content/aspects.yml).

"How soon will we see a difference for his neck?" names a condition (the neck: cervical
dystonia) and an aspect (onset). The classifiers, trained on one intent per answer, hesitate
between the condition's answer and the aspect's. The reviewed phrase lists here say which
aspect the words ask about; components/aspect_resolver.py uses them only to choose among the
intents the classifiers themselves found likely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple

from clinic.paths import CONTENT_DIR
from knowledge.intents import ANSWER_INTENT_PREFIX, FALLBACK_INTENT, answer_id_for_intent
from knowledge.yaml_files import read_mapping, read_phrase_lists

if TYPE_CHECKING:  # spaCy is imported by the NLU pipeline only, not by the action server.
    from spacy.language import Language
    from spacy.tokens import Doc

    from knowledge.lemma_phrases import LemmaPhrases

ASPECTS_FILE = CONTENT_DIR / "aspects.yml"


@dataclass(frozen=True)
class AspectFile:
    """content/aspects.yml, checked for shape."""

    aspects: Dict[str, List[str]]
    condition_answers: Dict[str, str]
    general_questions: Tuple[str, ...]


def read_aspect_file(path: Path = ASPECTS_FILE) -> AspectFile:
    """The aspects' phrase lists, the condition answers and the general questions."""
    raw = read_mapping(Path(path), ValueError, "aspect file")
    aspects = read_phrase_lists(raw, "aspects", path, "aspect")
    conditions = raw.get("condition_answers") or {}
    if not isinstance(conditions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in conditions.items()
    ):
        raise ValueError(f"{path}: condition_answers must map answer ids to condition ids")
    general = raw.get("general_questions") or []
    if not isinstance(general, list) or not all(isinstance(g, str) for g in general):
        raise ValueError(f"{path}: general_questions must be a list of answer ids")
    return AspectFile(aspects, conditions, tuple(general))


@dataclass
class AspectDetector:
    """Finds the aspects a spaCy doc made by `nlp` asks about."""

    nlp: Language
    path: Path = ASPECTS_FILE
    rules: AspectFile = field(init=False)
    _phrases: LemmaPhrases = field(init=False)

    def __post_init__(self) -> None:
        """Reads the aspect file and compiles its phrases."""
        from knowledge.lemma_phrases import LemmaPhrases

        self.rules = read_aspect_file(self.path)
        self._phrases = LemmaPhrases(self.nlp, self.rules.aspects)

    def aspects(self, doc: Doc) -> Tuple[str, ...]:
        """The aspects (answer ids) `doc` asks about (sorted, no duplicates)."""
        return self._phrases.found(doc)

    def resolve(
        self,
        intent: Optional[str],
        candidates: Sequence[str],
        aspects: Iterable[str],
        condition: Optional[str],
    ) -> Optional[str]:
        """The intent the message asks for, when the words settle it, else None.

        Args:
            intent: the intent after the confidence gate (`nlu_fallback` when it hesitated).
            candidates: the intents the classifiers found likely, best first.
            aspects: what `aspects()` found in the message.
            condition: the condition named in the message (entity `variant`), if any.

        The rules choose between the classifiers' own guesses, never against both: the intent
        chosen must be among `candidates`.

        * Exactly one aspect is named: its intent, when the gate hesitated, or when the
          classifiers settled on a condition's answer but the message names a condition and
          asks about an aspect of its treatment.
        * No aspect, a condition named, and the intent is a general question ("would botox
          help me?"): that condition's own answer.
        """
        named = sorted(set(aspects))
        if len(named) == 1:
            aspect_intent = ANSWER_INTENT_PREFIX + named[0]
            if aspect_intent == intent or aspect_intent not in candidates:
                return None
            if intent == FALLBACK_INTENT:
                return aspect_intent
            if condition and answer_id_for_intent(intent) in self.rules.condition_answers:
                return aspect_intent
            return None
        general = answer_id_for_intent(intent) in self.rules.general_questions
        if named or not condition or not general:
            return None
        for answer_id, answer_condition in self.rules.condition_answers.items():
            if answer_condition == condition and ANSWER_INTENT_PREFIX + answer_id in candidates:
                return ANSWER_INTENT_PREFIX + answer_id
        return None
