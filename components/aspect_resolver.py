"""Rasa graph component: a question about one aspect for a named condition gets the aspect.

"Does it hurt for the eyelids?" asks about pain, for blepharospasm. Classifiers trained on one
intent per answer split their belief between the condition's answer (eyelid_spasm) and the
aspect's (pain), so the gate asks, or answers the condition. When the reviewed aspect phrases
(content/aspects.yml) name exactly one aspect and the classifiers found that aspect likely
too, this component sets the aspect's intent; the answer action then sends the condition's
variant of it (content/variants.yml) or the general answer with the note that the child's team
confirms what applies. It runs after the confidence gate and before the red-flag override,
which can still turn any message into an emergency; the scope guard runs after it too.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language
from spacy.tokens import Doc

from components.rule_component import RuleComponent, set_top_intent
from components.second_opinion import SECOND_OPINION_KEY
from knowledge.aspects import AspectDetector
from knowledge.entity_patterns import EntityPatterns, load_entity_patterns
from knowledge.intents import FALLBACK_INTENT

#: Where the finding is put on the parse result (aspect ids and condition id only).
ASPECT_KEY = "aspect"
#: How many of DIET's ranked intents count as likely: with a condition named, the condition's
#: answer takes most of the belief, so the aspect may be third; without one, only the two
#: the clarifying question would offer.
CANDIDATES_WITH_CONDITION = 3
CANDIDATES_WITHOUT_CONDITION = 2


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
    is_trainable=False,
    model_from="SpacyNLP",
)
class AspectResolver(RuleComponent[Tuple[AspectDetector, EntityPatterns]]):
    """Sets the aspect's intent when the words and the classifiers point to it together."""

    def compile_detector(self, nlp: Language) -> Tuple[AspectDetector, EntityPatterns]:
        """Compiles content/aspects.yml and reads the entity patterns' conditions."""
        return AspectDetector(nlp), load_entity_patterns()

    def apply(
        self, message: Message, doc: Doc, detector: Tuple[AspectDetector, EntityPatterns]
    ) -> None:
        """Finds the message's aspects and condition, and settles the intent when it can."""
        aspects_of, patterns = detector
        aspects = aspects_of.aspects(doc)
        condition = patterns.variant_condition(message.get(ENTITIES) or [])
        intent = (message.get(INTENT) or {}).get("name")
        resolved = aspects_of.resolve(
            intent, self._candidates(message, condition), aspects, condition
        )
        if resolved:
            set_top_intent(message, resolved, confidence=self._confidence(message, resolved))
        message.set(
            ASPECT_KEY,
            {"aspects": list(aspects), "condition": condition, "resolved": bool(resolved)},
            add_to_output=True,
        )

    @staticmethod
    def _candidates(message: Message, condition: Optional[str]) -> List[str]:
        depth = CANDIDATES_WITH_CONDITION if condition else CANDIDATES_WITHOUT_CONDITION
        ranked = [
            str(item.get("name"))
            for item in message.get(INTENT_RANKING_KEY) or []
            if item.get("name") != FALLBACK_INTENT
        ][:depth]
        opinion = (message.get(SECOND_OPINION_KEY) or {}).get("name")
        return ranked + ([str(opinion)] if opinion else [])

    @staticmethod
    def _confidence(message: Message, intent: str) -> float:
        """DIET's own confidence in the chosen intent (the ranking keeps it)."""
        for item in message.get(INTENT_RANKING_KEY) or []:
            if item.get("name") == intent:
                return float(item.get("confidence") or 0.0)
        return 0.0
