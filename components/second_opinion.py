"""Rasa graph components: a second classifier's opinion, and a gate that answers only on agreement.

DIET is the assistant's classifier. A logistic regression on the same features makes
different mistakes, so when the two disagree on the topic the question is ambiguous for the
assistant, however confident DIET is; and when they agree, a lower DIET confidence is enough
to answer. Measured on the held-out sentences this halves the wrong answers at the same
share of right ones (config.yml has the numbers).

`SecondOpinionClassifier` is Rasa's LogisticRegressionClassifier writing its prediction to
its own key, so it leaves DIET's intent, DIET's training data and the ranking the
clarifying question is built from alone. `AgreementFallbackClassifier` is Rasa's
FallbackClassifier that also falls back when the two tops differ.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from threadpoolctl import threadpool_limits

#: Where the second opinion is put on the parse result: {"name": ..., "confidence": ...}.
SECOND_OPINION_KEY = "second_opinion"
#: DIET's emergency intent backs up the red-flag rules and is never withheld on disagreement.
EMERGENCY_INTENT = "emergency"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class SecondOpinionClassifier(LogisticRegressionClassifier):
    """Logistic regression whose top intent goes to `second_opinion`, not to `intent`."""

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the regression on one BLAS thread.

        lbfgs on this data spent a third of its CPU time in system calls of BLAS threads
        contending for two cores; one thread fits the same model.
        """
        with threadpool_limits(limits=1):
            return super().train(training_data)

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the most likely intent and its probability under `second_opinion`."""
        if not messages:
            return messages
        probabilities = self.clf.predict_proba(self._create_X(messages))
        for message, row in zip(messages, probabilities, strict=True):
            best = int(row.argmax())
            opinion = {"name": str(self.clf.classes_[best]), "confidence": float(row[best])}
            message.set(SECOND_OPINION_KEY, opinion, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leaves the training data alone.

        Rasa's classifier writes its predictions over the training examples' intents here,
        which would hand them, as labels, to every trainable component after it.
        """
        return training_data


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class AgreementFallbackClassifier(FallbackClassifier):
    """The confidence gate, which also asks when the second opinion names another intent."""

    def _should_fallback(self, message: Message) -> bool:
        intent_name = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        opinion = message.get(SECOND_OPINION_KEY) or {}
        if intent_name != EMERGENCY_INTENT and opinion and opinion.get("name") != intent_name:
            return True
        return super()._should_fallback(message)
