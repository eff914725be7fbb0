"""Rasa graph components: a second classifier's opinion, and a gate that answers only on agreement.

DIET is the assistant's classifier. A logistic regression on the same features makes
different mistakes, so when the two disagree on the topic the question is ambiguous for the
assistant, however confident DIET is; and when they agree, a lower DIET confidence is enough
to answer. Measured on the held-out sentences this halves the wrong answers at the same
share of right ones (config.yml has the numbers).

`SecondOpinionClassifier` is Rasa's LogisticRegressionClassifier writing its prediction to
its own key, so it leaves DIET's training data alone. It ranks the intents by the mean of
both classifiers' beliefs (an ensemble; DIET's own top two are kept under `diet`): when the
two agree, their intent is also the ensemble's first, so answers are unchanged, and when they
do not, the clarifying question offers the topics both find likely. DIET's emergency intent
is never re-ranked. `AgreementFallbackClassifier` is Rasa's FallbackClassifier applied to
DIET's own confidences, which also falls back when the two tops differ.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.fallback_classifier import (
    AMBIGUITY_THRESHOLD_KEY,
    THRESHOLD_KEY,
    FallbackClassifier,
)
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import coo_matrix, csr_matrix
from sklearn.utils.extmath import softmax
from threadpoolctl import threadpool_limits

from knowledge.intents import EMERGENCY_INTENT
from rasa_patches import check_rasa_version

#: Where the second opinion is put on the parse result: {"name": ..., "confidence": ...}.
SECOND_OPINION_KEY = "second_opinion"
#: DIET's own top two intents, before the ensemble ranking: [{"name": ..., "confidence": ...}].
DIET_KEY = "diet"
#: The gate's setting: which opinions (parse-result keys) must agree with DIET's top.
AGREE_WITH_KEY = "agree_with"
#: How many intents the ensemble ranking keeps (Rasa's own ranking length).
RANKING_LENGTH = 10


def sentence_features(messages: List[Message]) -> csr_matrix:
    """The rows Rasa's `_create_X` makes (sentence sparse features, then dense), as one CSR matrix.

    `_create_X` stacks each message's features with scipy's `hstack`/`vstack` (4 ms a
    message); this builds the same matrix at once. Used by the regression and the SVM opinion.
    """
    rows, cols, values = [], [], []
    width = 0
    for index, message in enumerate(messages):
        sparse = message.get_sparse_features(attribute=TEXT)[1]
        dense = message.get_dense_features(attribute=TEXT)[1]
        offset = 0
        if sparse is not None:
            part = sparse.features.tocoo()
            rows.append(np.full(part.nnz, index))
            cols.append(part.col)
            values.append(part.data)
            offset = part.shape[1]
        if dense is not None:
            vector = np.asarray(dense.features).ravel()
            nonzero = np.flatnonzero(vector)
            rows.append(np.full(nonzero.size, index))
            cols.append(nonzero + offset)
            values.append(vector[nonzero])
            offset += vector.size
        width = max(width, offset)
    if not values:
        return csr_matrix((len(messages), width))
    return coo_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(messages), width),
    ).tocsr()


def transposed_weights(classifier: Any) -> np.ndarray:
    """`classifier.clf.coef_.T` (or its last pipeline step's), C-contiguous, made once per model.

    A sparse matrix times the transposed view copies the whole weight matrix on every call
    (46 x 20,920 here: 6 ms a message).
    """
    estimator = classifier.clf[-1] if hasattr(classifier.clf, "steps") else classifier.clf
    cached: Optional[np.ndarray] = getattr(classifier, "_weights_t", None)
    if cached is None or cached.shape[::-1] != estimator.coef_.shape:
        cached = np.ascontiguousarray(estimator.coef_.T)
        classifier._weights_t = cached
    return cached


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class SecondOpinionClassifier(LogisticRegressionClassifier):
    """Logistic regression whose top intent goes to `second_opinion`, not to `intent`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # It calls Rasa's private `_create_X`; `rasa train` and `make eval` load it without
        # the server's rasa_patches.apply().
        check_rasa_version()
        super().__init__(*args, **kwargs)

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the regression on one BLAS thread.

        lbfgs on this data spent a third of its CPU time in system calls of BLAS threads
        contending for two cores; one thread fits the same model.
        """
        with threadpool_limits(limits=1):
            return super().train(training_data)

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the regression's top intent under `second_opinion` and ranks by both."""
        if not messages:
            return messages
        probabilities = self.probabilities(messages)
        classes = [str(name) for name in self.clf.classes_]
        for message, row in zip(messages, probabilities, strict=True):
            best = int(row.argmax())
            opinion = {"name": classes[best], "confidence": float(row[best])}
            message.set(SECOND_OPINION_KEY, opinion, add_to_output=True)
            self._rank_by_both(message, dict(zip(classes, (float(p) for p in row), strict=True)))
        return messages

    def probabilities(self, messages: List[Message]) -> np.ndarray:
        """What `self.clf.predict_proba(self._create_X(messages))` returns, ~100x cheaper.

        Rasa's `_create_X` stacks each message's features with scipy's `hstack`/`vstack`
        (4 ms a message, measured on this model), and scikit-learn's `X @ coef_.T` copies the
        whole transposed weight matrix (46 x 20,920) for every call (6 ms); together 30-40 %
        of the NLU CPU per message. Here the row is built once as a sparse matrix and the
        transposed weights are kept: 0.05 ms. Same features, same weights, same softmax.
        """
        if self._is_one_vs_rest():
            return self.clf.predict_proba(self._create_X(messages))
        scores = sentence_features(messages) @ transposed_weights(self) + self.clf.intercept_
        if scores.shape[1] == 1:  # two classes: sklearn's decision is one column
            scores = np.c_[-scores[:, 0], scores[:, 0]]
        return softmax(scores, copy=False)

    def _is_one_vs_rest(self) -> bool:
        """Whether scikit-learn predicts one-vs-rest (then its own path is used)."""
        multi_class = self.clf.multi_class
        return multi_class in ("ovr", "warn") or (
            multi_class == "auto"
            and (self.clf.classes_.size <= 2 or self.clf.solver == "liblinear")
        )

    @staticmethod
    def _rank_by_both(message: Message, opinion: Dict[str, float]) -> None:
        diet = list(message.get(INTENT_RANKING_KEY) or [])
        message.set(DIET_KEY, diet[:2], add_to_output=True)
        # DIET's emergency intent backs up the red-flag rules: never re-ranked or withheld.
        if not diet or diet[0].get("name") == EMERGENCY_INTENT:
            return
        beliefs = {str(i["name"]): float(i.get("confidence") or 0.0) for i in diet}
        mean = {
            name: (beliefs.get(name, 0.0) + opinion.get(name, 0.0)) / 2
            for name in set(beliefs) | set(opinion)
        }
        ranking = [
            {"name": name, "confidence": confidence}
            for name, confidence in sorted(mean.items(), key=lambda kv: -kv[1])[:RANKING_LENGTH]
        ]
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

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
    """The confidence gate, which also asks when another opinion names another intent."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Rasa's gate settings, plus `agree_with`: the opinions that must name DIET's top.

        Each is a parse-result key holding {"name": ...}: `second_opinion` (the regression)
        or `svm_opinion` (components/svm_opinion.py); config.yml says which was measured.
        """
        return {**FallbackClassifier.get_default_config(), AGREE_WITH_KEY: [SECOND_OPINION_KEY]}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check_rasa_version()  # it overrides Rasa's private `_should_fallback`
        super().__init__(*args, **kwargs)

    def _should_fallback(self, message: Message) -> bool:
        """DIET's own confidence and margin decide, as in Rasa's gate, and agreement.

        Read from DIET's own top two (`diet`), not from the ensemble ranking, so the gate's
        thresholds keep the meaning they were measured with. The intent that would be
        answered (the ensemble's first) must be the one they agree on: with the SVM as the
        partner, the regression can pull the mean elsewhere (3 of 585 held-out sentences).
        """
        diet = message.get(DIET_KEY) or message.get(INTENT_RANKING_KEY) or []
        top = diet[0] if diet else {}
        name, confidence = top.get(INTENT_NAME_KEY), float(top.get("confidence") or 0.0)
        if name != EMERGENCY_INTENT:
            for key in self.component_config.get(AGREE_WITH_KEY, [SECOND_OPINION_KEY]):
                opinion = message.get(key) or {}
                if opinion and opinion.get("name") != name:
                    return True
            answered = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if answered is not None and answered != name:
                return True
        if confidence < self.component_config[THRESHOLD_KEY]:
            return True
        runner_up = float(diet[1].get("confidence") or 0.0) if len(diet) > 1 else 0.0
        return confidence - runner_up < self.component_config[AMBIGUITY_THRESHOLD_KEY]
