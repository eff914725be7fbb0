"""Rasa graph component: questions about subjects the content does not cover are out of scope.

Runs after the RedFlagOverride, and leaves alone every message in which the red-flag rules
found a symptom (an alarm, a negated mention or a general question about symptoms), and every
side-effects question, so the emergency path and the urgent signs are never taken away. It
only turns a topic intent, or the confidence gate's question, into `out_of_scope` when the
message names a subject listed in content/scope.yml: the reply is then "I can only help with
..." and the offer of a clinician, never an answer that does not fit.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language
from spacy.tokens import Doc

from components.red_flag_override import RED_FLAGS_KEY
from components.rule_component import RuleComponent, set_top_intent
from knowledge.intents import ANSWER_INTENT_PREFIX, FALLBACK_INTENT, OUT_OF_SCOPE_INTENT
from knowledge.scope import ScopeDetector

#: Where the subjects found are put on the parse result (categories only, never the words).
SCOPE_KEY = "outside_scope"
#: Kept as they are: dose and personal-advice questions have their own guarded reply and
#: clinician offer; the side-effects answer lists the signs that need urgent help, which a
#: parent describing an unlisted symptom after an injection ("sweating since the shot") must
#: still get; the cosmetic-vs-therapeutic answer is the one that explains wrinkle treatment.
KEPT_INTENTS = frozenset(
    {"ask_dose", "ask_personal_advice", "ask_side_effects", "ask_cosmetic_vs_therapeutic"}
)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
    is_trainable=False,
    model_from="SpacyNLP",
)
class ScopeGuard(RuleComponent[ScopeDetector]):
    """Sets the intent to `out_of_scope` when a topic question names an uncovered subject."""

    def compile_detector(self, nlp: Language) -> ScopeDetector:
        """Compiles content/scope.yml with the pipeline's spaCy model."""
        return ScopeDetector(nlp)

    def apply(self, message: Message, doc: Doc, detector: ScopeDetector) -> None:
        """Marks the message's uncovered subjects and re-routes a topic question naming one."""
        subjects = detector.subjects(doc)
        message.set(SCOPE_KEY, list(subjects), add_to_output=True)
        if subjects and self._may_reroute(message):
            set_top_intent(message, OUT_OF_SCOPE_INTENT, confidence=1.0)

    @staticmethod
    def _may_reroute(message: Message) -> bool:
        red_flags = message.get(RED_FLAGS_KEY) or {}
        if red_flags.get("alarm") or red_flags.get("categories") or red_flags.get("negated"):
            return False
        name = (message.get(INTENT) or {}).get("name", "")
        if name in KEPT_INTENTS:
            return False
        return name == FALLBACK_INTENT or name.startswith(ANSWER_INTENT_PREFIX)
