import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from components.second_opinion import sentence_features
from components.svm_opinion import SVM_OPINION_KEY, SvmOpinionClassifier
from tests.unit.components.one_hot import INTENTS, featurised

# Here rather than in tests/unit: training persists the model, and Rasa's persisting imports
# skops (about 13 s of a unit run), as for tests/integration/test_second_opinion.py.
pytestmark = pytest.mark.integration


@pytest.fixture
def trained(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    resource = Resource("svm_opinion")
    config = SvmOpinionClassifier.get_default_config()
    component = SvmOpinionClassifier.create(config, storage, resource, context)
    examples = [featurised(i % 3, INTENTS[i % 3]) for i in range(30)]
    component.train(TrainingData(training_examples=examples))
    return component, (config, storage, resource, context)


def test_opinion_goes_to_its_own_key_and_leaves_intent_and_ranking(trained):
    classifier, _ = trained
    diet = {"name": "ask_onset", "confidence": 0.9}
    message = featurised(0)
    message.set(INTENT, diet)
    message.set(INTENT_RANKING_KEY, [diet])
    classifier.process([message])
    assert message.get(INTENT) == diet
    assert message.get(INTENT_RANKING_KEY) == [diet]
    assert message.get(SVM_OPINION_KEY)["name"] == "ask_pain"
    assert message.get(SVM_OPINION_KEY)["margin"] > 0


def test_training_examples_keep_their_labels(trained):
    classifier, _ = trained
    examples = [featurised(1, "ask_pain")]
    classifier.process_training_data(TrainingData(training_examples=examples))
    assert examples[0].get(INTENT) == "ask_pain"
    assert examples[0].get(SVM_OPINION_KEY) is None


def test_a_loaded_model_gives_the_same_opinion(trained):
    classifier, (config, storage, resource, context) = trained
    loaded = SvmOpinionClassifier.load(config, storage, resource, context)
    for word in range(3):
        before, after = featurised(word), featurised(word)
        classifier.process([before])
        loaded.process([after])
        assert after.get(SVM_OPINION_KEY) == before.get(SVM_OPINION_KEY)
        assert after.get(SVM_OPINION_KEY)["name"] == INTENTS[word]


def test_direct_scores_are_the_pipelines_decision_function(trained):
    # process() computes the TF-IDF + SVM scores itself, for speed; they must not drift.
    classifier, _ = trained
    counts = csr_matrix(np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0], [1.0, 1.0, 1.0]]))
    assert np.allclose(classifier._scores(counts), classifier.clf.decision_function(counts))


def test_process_reads_the_same_rows_as_rasas_create_x(trained):
    classifier, _ = trained
    messages = [featurised(word) for word in (0, 1, 2)]
    expected = classifier.clf.decision_function(classifier._create_X(messages))
    assert np.allclose(classifier._scores(sentence_features(messages)), expected)
