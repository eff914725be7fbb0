"""One-hot "sentence features" for classifier component tests: word 0, 1, 2 -> an intent each."""

import numpy as np
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix

# Three "words" as one-hot sentence features: 0 -> ask_pain, 1 -> ask_onset, 2 -> emergency.
INTENTS = ["ask_pain", "ask_onset", "emergency"]


def featurised(word: int, intent=None) -> Message:
    message = Message(data={TEXT: f"word{word}", **({INTENT: intent} if intent else {})})
    vector = np.zeros((1, 3))
    vector[0, word] = 1.0
    message.add_features(Features(csr_matrix(vector), "sentence", TEXT, "test"))
    return message
