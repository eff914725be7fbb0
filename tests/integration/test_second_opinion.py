"""The second-opinion classifier, trained on a few one-hot examples.

Here rather than in tests/unit: training persists the model, and Rasa's persisting imports skops,
which scans every loaded module's attributes (5-7 s of CPU, the unit suite's largest share).
"""

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.second_opinion import (
    AGREE_WITH_KEY,
    DIET_KEY,
    SECOND_OPINION_KEY,
    AgreementFallbackClassifier,
    SecondOpinionClassifier,
)
from components.svm_opinion import SVM_OPINION_KEY
from tests.unit.components.one_hot import INTENTS, featurised

pytestmark = pytest.mark.integration



@pytest.fixture
def classifier(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    component = SecondOpinionClassifier.create(
        {**SecondOpinionClassifier.get_default_config(), "random_state": 42},
        storage, Resource("second_opinion"), context,
    )
    examples = [featurised(i % 3, INTENTS[i % 3]) for i in range(30)]
    component.train(TrainingData(training_examples=examples))
    return component


def test_second_opinion_goes_to_its_own_key_and_leaves_the_intent(classifier):
    diet = {"name": "ask_onset", "confidence": 0.9}
    message = featurised(0)
    message.set(INTENT, diet)
    classifier.process([message])
    assert message.get(INTENT) == diet
    assert message.get(SECOND_OPINION_KEY)["name"] == "ask_pain"
    assert 0.5 < message.get(SECOND_OPINION_KEY)["confidence"] <= 1.0


def test_training_examples_keep_their_labels(classifier):
    # Rasa's own classifier writes its predictions over them; DIET trains on these labels.
    examples = [featurised(1, "ask_pain")]
    classifier.process_training_data(TrainingData(training_examples=examples))
    assert examples[0].get(INTENT) == "ask_pain"
    assert examples[0].get(SECOND_OPINION_KEY) is None


def gated(top, confidence, opinion, second=0.0):
    message = Message(data={
        TEXT: "question",
        INTENT: {"name": top, "confidence": confidence},
        INTENT_RANKING_KEY: [
            {"name": top, "confidence": confidence},
            {"name": "ask_other", "confidence": second},
        ],
        SECOND_OPINION_KEY: {"name": opinion, "confidence": 0.7},
    })
    gate = AgreementFallbackClassifier({"threshold": 0.4, "ambiguity_threshold": 0.1})
    gate.process([message])
    return message.get(INTENT)["name"]


def test_agreement_above_the_threshold_is_answered():
    assert gated("ask_pain", 0.45, "ask_pain") == "ask_pain"


def test_disagreement_falls_back_however_confident_diet_is():
    assert gated("ask_pain", 0.99, "ask_onset") == "nlu_fallback"


def test_agreement_below_the_threshold_or_ambiguous_still_falls_back():
    assert gated("ask_pain", 0.35, "ask_pain") == "nlu_fallback"
    assert gated("ask_pain", 0.5, "ask_pain", second=0.45) == "nlu_fallback"


def test_emergency_is_never_withheld_for_disagreement():
    assert gated("emergency", 0.8, "ask_side_effects") == "emergency"


def test_ranking_is_the_mean_of_both_and_dietss_own_top_is_kept(classifier):
    # The regression is sure of ask_pain for word 0; DIET hesitates towards ask_onset.
    diet = [{"name": "ask_onset", "confidence": 0.55}, {"name": "ask_pain", "confidence": 0.45}]
    message = featurised(0)
    message.set(INTENT, diet[0])
    message.set(INTENT_RANKING_KEY, diet)
    classifier.process([message])
    assert message.get(INTENT)["name"] == "ask_pain"
    assert [i["name"] for i in message.get(INTENT_RANKING_KEY)][:2] == ["ask_pain", "ask_onset"]
    assert message.get(DIET_KEY) == diet
    # The gate still reads DIET's own top: the two disagree, so it asks.
    gate = AgreementFallbackClassifier({"threshold": 0.4, "ambiguity_threshold": 0.1})
    gate.process([message])
    assert message.get(INTENT)["name"] == "nlu_fallback"


def test_dietss_emergency_is_never_re_ranked(classifier):
    diet = [{"name": "emergency", "confidence": 0.6}, {"name": "ask_pain", "confidence": 0.4}]
    message = featurised(0)
    message.set(INTENT, diet[0])
    message.set(INTENT_RANKING_KEY, diet)
    classifier.process([message])
    assert message.get(INTENT) == diet[0]
    assert message.get(INTENT_RANKING_KEY) == diet


@pytest.mark.parametrize("make", [
    lambda tmp_path: SecondOpinionClassifier.create(
        SecondOpinionClassifier.get_default_config(), LocalModelStorage(tmp_path),
        Resource("second_opinion"), ExecutionContext(GraphSchema({}), "test")),
    lambda tmp_path: AgreementFallbackClassifier({"threshold": 0.4}),
])
def test_another_rasa_version_is_refused_when_the_model_loads(monkeypatch, tmp_path, make):
    import rasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(SystemExit, match="Rasa 3.7.0 is installed"):
        make(tmp_path)


def gated_by_svm(diet, svm, regression="ask_other", answered=None, confidence=0.45):
    """The gate as config.yml sets it: DIET must agree with the SVM, from confidence 0.4."""
    message = Message(data={
        TEXT: "question",
        INTENT: {"name": answered or diet, "confidence": confidence},
        DIET_KEY: [
            {"name": diet, "confidence": confidence},
            {"name": "ask_other", "confidence": 0.1},
        ],
        SECOND_OPINION_KEY: {"name": regression, "confidence": 0.7},
        SVM_OPINION_KEY: {"name": svm, "margin": 0.5},
    })
    gate = AgreementFallbackClassifier(
        {"threshold": 0.4, "ambiguity_threshold": 0.1, AGREE_WITH_KEY: [SVM_OPINION_KEY]}
    )
    gate.process([message])
    return message.get(INTENT)["name"]


def test_the_configured_partner_decides_not_the_regression():
    assert gated_by_svm("ask_pain", "ask_pain", regression="ask_onset") == "ask_pain"
    assert gated_by_svm("ask_pain", "ask_onset", regression="ask_pain") == "nlu_fallback"


def test_the_answer_must_be_the_intent_they_agree_on():
    # The ensemble's first (DIET and regression mean) is another intent: asking is safer.
    assert gated_by_svm(
        "ask_pain", "ask_pain", regression="ask_pain", answered="ask_onset"
    ) == "nlu_fallback"


def test_emergency_is_never_withheld_whatever_the_partner_says():
    assert gated_by_svm("emergency", "ask_pain", confidence=0.8) == "emergency"
