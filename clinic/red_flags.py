"""Deterministic red-flag detection: emergency symptoms after an injection, found by rules.

The patterns live in content/red_flags.yml (reviewed like every other content file). They are
matched with spaCy's `Matcher` on lemmas of the same doc Rasa's NLU pipeline made, so they do
not depend on the ML classifier. A match is an alarm unless it is negated ("no trouble
breathing") or the message asks about symptoms in general ("can botox cause breathing
problems?") without anything personal or current in it. When in doubt, it is an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from clinic.paths import CONTENT_DIR
from clinic.yaml_files import read_mapping

RED_FLAGS_FILE = CONTENT_DIR / "red_flags.yml"
#: A negation this many words before a symptom (same clause) cancels it.
NEGATION_WINDOW = 3
_CLAUSE_BREAKS = {".", ",", ";", ":", "!", "?", "but", "and", "though", "however"}


@dataclass(frozen=True)
class Assessment:
    """What the detector found in one message."""

    alarm: bool
    categories: Tuple[str, ...] = ()
    negated: Tuple[str, ...] = ()
    general_question: bool = False

    @property
    def only_harmless_mentions(self) -> bool:
        """Symptoms were mentioned, but only negated or as a general question."""
        return not self.alarm and bool(self.negated or self.general_question)

    def as_dict(self) -> Dict[str, Any]:
        """Serialisable form (categories only, never the user's words)."""
        return {
            "alarm": self.alarm,
            "categories": list(self.categories),
            "negated": list(self.negated),
            "general_question": self.general_question,
        }


@dataclass
class RedFlagDetector:
    """Finds red-flag symptoms in spaCy docs made by `nlp`."""

    nlp: Language
    path: Path = RED_FLAGS_FILE
    _matcher: Matcher = field(init=False)
    _general: PhraseMatcher = field(init=False)
    _personal: PhraseMatcher = field(init=False)
    _negations: Set[str] = field(init=False)
    _negative_phrase: Dict[str, bool] = field(init=False)

    def __post_init__(self) -> None:
        """Reads the pattern file and compiles the matchers."""
        raw = read_mapping(self.path, ValueError, "red-flag pattern file")
        categories = raw.get("categories") or {}
        if not categories:
            raise ValueError(f"{self.path}: no red-flag categories")
        misspellings: Dict[str, str] = raw.get("misspellings") or {}
        spellings: Dict[str, Set[str]] = {}
        for wrong, right in misspellings.items():
            spellings.setdefault(self._lemma(str(right)), set()).add(str(wrong).lower())

        self._negations = {self._lemma(str(cue)) for cue in raw.get("negation_cues", [])}
        self._negations |= {str(cue).lower() for cue in raw.get("negation_cues", [])}
        self._matcher = Matcher(self.nlp.vocab, validate=True)
        self._negative_phrase = {}
        for category, phrases in categories.items():
            if not phrases:
                raise ValueError(f"{self.path}: category '{category}' has no phrases")
            for index, phrase in enumerate(phrases):
                rule = f"{category}:{index}"
                pattern, self._negative_phrase[rule] = self._pattern(str(phrase), spellings)
                self._matcher.add(rule, [pattern])

        self._general = self._phrase_matcher("general_cues", raw)
        self._personal = self._phrase_matcher("personal_cues", raw)

    def _lemma(self, word: str) -> str:
        tokens = self.nlp(word.lower())
        return tokens[0].lemma_ if len(tokens) == 1 else word.lower()

    def _pattern(
        self, phrase: str, spellings: Dict[str, Set[str]]
    ) -> Tuple[List[Dict[str, Any]], bool]:
        pattern: List[Dict[str, Any]] = []
        negative = False
        for part in phrase.lower().split():
            if part == "*":
                pattern.append({"OP": "?"})
                continue
            for token in self.nlp(part):
                lemma = token.lemma_
                negative = negative or lemma in self._negations or token.text in self._negations
                # Misspellings are not in the lemma tables: their lemma is the word itself.
                allowed = sorted({lemma, token.text} | spellings.get(lemma, set()))
                pattern.append({"LEMMA": {"IN": allowed}})
        return pattern, negative

    def _phrase_matcher(self, key: str, raw: Dict[str, Any]) -> PhraseMatcher:
        matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        phrases = [self.nlp.make_doc(str(p).lower()) for p in raw.get(key) or []]
        matcher.add(key, phrases)
        return matcher

    def assess(self, doc: Doc) -> Assessment:
        """Assesses one message (a doc of its lowercased text made by the same `nlp`)."""
        positive: List[str] = []
        negated: List[str] = []
        for match_id, start, _end in self._matcher(doc):
            rule = self.nlp.vocab.strings[match_id]
            category = rule.split(":")[0]
            if not self._negative_phrase[rule] and self._is_negated(doc, start):
                negated.append(category)
            else:
                positive.append(category)
        if not positive:
            return Assessment(alarm=False, negated=tuple(sorted(set(negated))))
        general = bool(self._general(doc)) and not self._personal(doc)
        return Assessment(
            alarm=not general,
            categories=tuple(sorted(set(positive))),
            negated=tuple(sorted(set(negated))),
            general_question=general,
        )

    def _is_negated(self, doc: Doc, start: int) -> bool:
        for index in range(start - 1, max(start - 1 - NEGATION_WINDOW, -1), -1):
            token = doc[index]
            if token.lower_ in _CLAUSE_BREAKS:
                return False
            if token.lower_ in self._negations or token.lemma_ in self._negations:
                return True
        return False
