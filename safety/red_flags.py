"""Deterministic red-flag detection: emergency symptoms after an injection, found by rules.

The patterns live in content/red_flags.yml (reviewed like every other content file). They are
matched with spaCy's `Matcher` on lemmas of the same doc Rasa's NLU pipeline made, so they do
not depend on the ML classifier. A match is an alarm unless it is negated ("no trouble
breathing"), asked about in general or as a what-if ("can botox cause breathing problems?",
"what if he gets an allergic reaction?"), or is the condition being treated or background
("is botox used for double vision?", "he has seizures, can he still have botox?"), and
nothing in the message says it is happening now or began after the injection ("..., is that
normal?", "since the botox", "today"). The order is documented in content/red_flags.yml.
When in doubt, it is an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from clinic.paths import CONTENT_DIR
from knowledge.yaml_files import read_mapping

RED_FLAGS_FILE = CONTENT_DIR / "red_flags.yml"
#: A negation this many words before a symptom (same clause) cancels it.
NEGATION_WINDOW = 3
_CLAUSE_BREAKS = {".", ",", ";", ":", "!", "?", "but", "and", "though", "however"}
#: A what-if cue reaches the mentions after it up to the end of its sentence or a "but".
_HYPOTHETICAL_BREAKS = {".", ",", ";", "!", "?", "but", "\n"}
#: "he is wheezing", "she's been fitting": a present statement about the child is a report.
_BE_FORMS = {"is", "are", "'s", "s", "'re", "am", "'m", "been", "was", "were", "im"}
#: ... but "she's had swallowing problems since birth" is a perfect tense, not "is".
_PERFECT = {"had", "got"}
#: How many words may stand between such a form and the symptom ("is really wheezing").
ONGOING_WINDOW = 2


@dataclass(frozen=True)
class Assessment:
    """What the detector found in one message."""

    alarm: bool
    categories: Tuple[str, ...] = ()
    negated: Tuple[str, ...] = ()
    general_question: bool = False
    #: Mentioned only as the condition being treated, background or something long past.
    background: bool = False

    @property
    def only_harmless_mentions(self) -> bool:
        """Symptoms were mentioned, but only negated, as a general question or as background."""
        return not self.alarm and bool(self.negated or self.general_question or self.background)

    def as_dict(self) -> Dict[str, Any]:
        """Serialisable form (categories only, never the user's words)."""
        return {
            "alarm": self.alarm,
            "categories": list(self.categories),
            "negated": list(self.negated),
            "general_question": self.general_question,
            "background": self.background,
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
    _cues: Dict[str, Matcher] = field(init=False)
    _not_symptoms: Matcher = field(init=False)
    _report_required: Set[str] = field(init=False)

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
        self._report_required = {str(c) for c in raw.get("report_required") or []}
        unknown = self._report_required - set(categories)
        if unknown:
            raise ValueError(f"{self.path}: report_required names unknown {sorted(unknown)}")
        self._not_symptoms = self._cue_matcher(raw.get("not_symptoms"), spellings)
        self._cues = {
            key: self._cue_matcher(raw.get(key), spellings)
            for key in (
                "report_cues",
                "report_cue_exceptions",
                "injection_cues",
                "hypothetical_cues",
                "hypothetical_cue_exceptions",
                "background_cues",
            )
        }

    def _cue_matcher(self, phrases: Any, spellings: Dict[str, Set[str]]) -> Matcher:
        matcher = Matcher(self.nlp.vocab, validate=True)
        for index, phrase in enumerate(phrases or []):
            matcher.add(str(index), [self._pattern(str(phrase), spellings)[0]])
        return matcher

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
            if part.startswith("=") and len(part) > 1:
                # An exact word form ("=had"): "had botox" is a report, "have botox" is not.
                pattern.append({"LOWER": part[1:]})
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
        mentions, negated = self._mentions(doc)
        if not mentions:
            return Assessment(alarm=False, negated=tuple(sorted(set(negated))))
        alarm, found_general, found_background = self._weigh(doc, mentions)
        return Assessment(
            alarm=alarm,
            categories=tuple(sorted({category for category, _s, _e in mentions})),
            negated=tuple(sorted(set(negated))),
            general_question=not alarm and found_general,
            background=not alarm and found_background,
        )

    def _mentions(self, doc: Doc) -> Tuple[List[Tuple[str, int, int]], List[str]]:
        """The symptom mentions (category, start, end) and the categories only negated."""
        masked = {i for _id, start, end in self._not_symptoms(doc) for i in range(start, end)}
        mentions: List[Tuple[str, int, int]] = []
        negated: List[str] = []
        for match_id, start, end in self._matcher(doc):
            rule = self.nlp.vocab.strings[match_id]
            category = rule.split(":")[0]
            if masked.intersection(range(start, end)):
                continue  # "seizure medication" names a medicine, not a seizure
            if not self._negative_phrase[rule] and self._is_negated(doc, start):
                negated.append(category)
            else:
                mentions.append((category, start, end))
        return mentions, negated

    def _weigh(self, doc: Doc, mentions: List[Tuple[str, int, int]]) -> Tuple[bool, bool, bool]:
        """(alarm, asked in general, background) for the mentions, from the message's cues."""
        in_mentions = {i for _c, start, end in mentions for i in range(start, end)}
        # "keep" in "can't keep his eyes open" is the symptom's own word, not a report cue.
        report = any(
            not in_mentions.intersection(range(start, end))
            for start, end in self._cue_spans(doc, "report_cues", "report_cue_exceptions")
        )
        hypotheticals = [
            start
            for start, _end in self._cue_spans(
                doc, "hypothetical_cues", "hypothetical_cue_exceptions"
            )
        ]
        injection = bool(self._cue_spans(doc, "injection_cues"))
        general = bool(self._general(doc)) and not self._personal(doc)
        background = bool(self._cue_spans(doc, "background_cues")) and not injection

        alarm = report
        found_general = found_background = False
        for category, start, _end in mentions:
            if alarm:
                break
            if self._after_hypothetical(doc, start, hypotheticals):
                found_general = True
            elif self._is_ongoing(doc, start):
                alarm = True
            elif category in self._report_required and not injection:
                found_background = found_background or background
            elif general:
                found_general = True
            elif background:
                found_background = True
            else:
                alarm = True
        return alarm, found_general, found_background

    def _cue_spans(
        self, doc: Doc, key: str, exceptions_key: str = ""
    ) -> List[Tuple[int, int]]:
        """Spans of the `key` cues, without those lying inside one of their exceptions."""
        spans = [(start, end) for _id, start, end in self._cues[key](doc)]
        if not exceptions_key or not spans:
            return spans
        excepted = [(start, end) for _id, start, end in self._cues[exceptions_key](doc)]
        return [
            (start, end)
            for start, end in spans
            if not any(e_start <= start and end <= e_end for e_start, e_end in excepted)
        ]

    @staticmethod
    def _after_hypothetical(doc: Doc, start: int, cue_starts: List[int]) -> bool:
        """A what-if cue earlier in the same sentence (no break in between)."""
        for cue in cue_starts:
            if cue < start and not any(
                doc[i].lower_ in _HYPOTHETICAL_BREAKS or "\n" in doc[i].text
                for i in range(cue, start)
            ):
                return True
        return False

    @staticmethod
    def _is_ongoing(doc: Doc, start: int) -> bool:
        """'he is wheezing', 'she's been fitting': a form of "be" just before the symptom.

        Not at the start of a sentence ("is double vision a side effect?" is a question).
        """
        for index in range(start - 1, max(start - 1 - ONGOING_WINDOW, -1), -1):
            token = doc[index]
            if token.lower_ in _CLAUSE_BREAKS:
                return False
            if token.lower_ not in _BE_FORMS:
                continue
            if index + 1 < len(doc) and doc[index + 1].lower_ in _PERFECT:
                return False
            before = doc[index - 1] if index > 0 else None
            return before is not None and before.lower_ not in {".", "?", "!", ";"}
        return False

    def _is_negated(self, doc: Doc, start: int) -> bool:
        for index in range(start - 1, max(start - 1 - NEGATION_WINDOW, -1), -1):
            token = doc[index]
            if token.lower_ in _CLAUSE_BREAKS:
                return False
            if token.lower_ in self._negations or token.lemma_ in self._negations:
                return True
        return False
