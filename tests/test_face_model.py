"""The shipped expression model's contract, and that it reads clear faces of FER2013 PublicTest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moodshuffle.domain.emotions import EMOTIONS, INDEX
from moodshuffle.paths import MODELS_DIR
from moodshuffle.perceive.expression import CONTRACT_KEY, ExpressionModel, prepare_face
from moodshuffle.runtime import ModelError, load_interpreter
from moodshuffle.tflite_metadata import read_metadata

pytestmark = pytest.mark.real

SHIPPED = MODELS_DIR / "face_emotion.tflite"


@pytest.fixture(scope="module")
def publictest(shared_data):
    data = np.load(shared_data / "fer2013" / "fer2013_publictest.npz")
    return data["images"], data["labels"], tuple(str(c) for c in data["classes"])


def test_model_contract_is_int8_48x48_seven_classes_under_1_mb():
    assert SHIPPED.stat().st_size <= 1_000_000
    interp = load_interpreter(SHIPPED)
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    assert tuple(inp["shape"]) == (1, 48, 48, 1) and inp["dtype"] == np.int8
    assert tuple(out["shape"]) == (1, 7) and out["dtype"] == np.int8
    # full-integer: int8 weights and activations, int32 biases, no float tensor anywhere
    assert {d["dtype"] for d in interp.get_tensor_details()} <= {np.int8, np.int32}


def test_class_order_is_the_daemons_in_data_and_model_metadata(publictest):
    _, _, classes = publictest
    assert classes == EMOTIONS
    assert json.loads(read_metadata(SHIPPED)[CONTRACT_KEY])["classes"] == list(EMOTIONS)


def test_a_model_with_another_class_order_is_refused_at_load(tmp_path):
    blob = SHIPPED.read_bytes()
    swapped = blob.replace(b'"angry", "disgust"', b'"disgust", "angry"')  # same length: still a valid file
    assert swapped != blob
    (tmp_path / "swapped.tflite").write_bytes(swapped)
    with pytest.raises(ModelError, match="class order"):
        ExpressionModel(tmp_path / "swapped.tflite")


def test_a_model_without_contract_metadata_is_refused_at_load(tmp_path):
    blob = SHIPPED.read_bytes()
    (tmp_path / "anonymous.tflite").write_bytes(blob.replace(CONTRACT_KEY.encode(), b"x" * len(CONTRACT_KEY)))
    with pytest.raises(ModelError, match="no 'moodshuffle.contract' metadata"):
        ExpressionModel(tmp_path / "anonymous.tflite")


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


def test_prepare_face_resizes_any_crop_to_the_model_input():
    crop = np.random.default_rng(0).integers(0, 256, (97, 83), dtype=np.uint8)
    face = prepare_face(crop)
    assert face.shape == (48, 48) and face.dtype == np.uint8
    with pytest.raises(ValueError, match="grayscale"):
        prepare_face(np.zeros((60, 60, 3), np.uint8))
