"""The shipped expression model's contract, and that it reads clear faces of FER2013 PublicTest."""

from __future__ import annotations

import numpy as np
import pytest

from moodshuffle.emotions import EMOTIONS, INDEX
from moodshuffle.paths import MODELS_DIR
from moodshuffle.perceive.expression import ExpressionModel, prepare_face
from moodshuffle.runtime import load_interpreter


@pytest.fixture(scope="module")
def publictest(shared_data):
    data = np.load(shared_data / "fer2013" / "fer2013_publictest.npz")
    return data["images"], data["labels"], tuple(str(c) for c in data["classes"])


def test_model_contract_is_int8_48x48_seven_classes_under_1_mb():
    path = MODELS_DIR / "face_emotion.tflite"
    assert path.stat().st_size <= 1_000_000
    interp = load_interpreter(path)
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    assert tuple(inp["shape"]) == (1, 48, 48, 1) and inp["dtype"] == np.int8
    assert tuple(out["shape"]) == (1, 7) and out["dtype"] == np.int8
    # full-integer: int8 weights and activations, int32 biases, no float tensor anywhere
    assert {d["dtype"] for d in interp.get_tensor_details()} <= {np.int8, np.int32}


def test_class_order_is_the_daemons(publictest):
    _, _, classes = publictest
    assert classes == EMOTIONS


def test_probabilities_sum_to_one(publictest):
    images, _, _ = publictest
    probs = ExpressionModel().predict(np.stack([prepare_face(i) for i in images[:32]]))
    assert probs.shape == (32, 7) and probs.dtype == np.float32
    assert np.allclose(probs.sum(1), 1, atol=1e-5) and (probs >= 0).all()


@pytest.mark.parametrize("emotion,min_recall", [("happy", 0.8), ("surprise", 0.7)])
def test_clearly_happy_and_surprised_faces_are_recognised(publictest, emotion, min_recall):
    """The first 100 PublicTest faces of the class (a fixed selection, not picked by the model)."""
    images, labels, _ = publictest
    chosen = images[labels == INDEX[emotion]][:100]
    pred = ExpressionModel().predict(np.stack([prepare_face(i) for i in chosen])).argmax(1)
    assert (pred == INDEX[emotion]).mean() >= min_recall
