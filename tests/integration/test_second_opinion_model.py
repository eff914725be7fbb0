"""The second opinion's fast prediction gives scikit-learn's own answers on the held-out set.

Loads the trained model (models/clinic.tar.gz), parses every held-out sentence and, for the
featurised messages the second opinion receives, compares `probabilities` with Rasa's path
(`clf.predict_proba(_create_X(...))`): same probabilities to 1e-9, same top intent.
"""

from __future__ import annotations

import asyncio
from typing import List

import numpy as np
import pytest
from rasa.shared.nlu.training_data.message import Message

from clinic.paths import PROJECT_ROOT
from components.second_opinion import SecondOpinionClassifier
from knowledge.content import read_nlu_examples

pytestmark = pytest.mark.integration

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"


def _load_heldout():
    """The held-out sentences, as scripts/evaluate.py reads them."""
    return read_nlu_examples(sorted((PROJECT_ROOT / "tests" / "nlu").glob("heldout_*.yml")))


@pytest.fixture(scope="module")
def featurised(request):
    """(the model's second-opinion component, the messages it was given for each sentence)."""
    if not MODEL.exists():
        pytest.skip("no trained model (make train)")
    from rasa.core.agent import Agent

    seen: List[Message] = []
    process = SecondOpinionClassifier.process

    def spy(self, messages):
        seen.extend(messages)
        return process(self, messages)

    # Graph nodes keep the class function they call; patch before the model is loaded.
    SecondOpinionClassifier.process = spy
    try:
        agent = Agent.load(str(MODEL))

        async def parse_all() -> None:
            for text, _ in _load_heldout():
                await agent.parse_message(text)

        asyncio.run(parse_all())
    finally:
        SecondOpinionClassifier.process = process
    component = next(
        node._component for node in agent.processor.graph_runner._instantiated_nodes.values()
        if isinstance(node._component, SecondOpinionClassifier)
    )
    return component, seen


def test_fast_prediction_equals_sklearn_on_every_heldout_sentence(featurised):
    component, messages = featurised
    assert len(messages) > 100
    for message in messages:
        expected = component.clf.predict_proba(component._create_X([message]))
        got = component.probabilities([message])
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
        assert int(got.argmax()) == int(expected.argmax())


def test_fast_prediction_of_a_batch_equals_one_at_a_time(featurised):
    component, messages = featurised
    batch = messages[:50]
    together = component.probabilities(batch)
    one_by_one = np.vstack([component.probabilities([m]) for m in batch])
    np.testing.assert_allclose(together, one_by_one, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        together, component.clf.predict_proba(component._create_X(batch)), rtol=0, atol=1e-9)
