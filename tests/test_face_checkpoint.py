"""The committed warm start of the face training chain is the shipped model's network.

``models/checkpoints/face_emotion.weights.h5`` holds every weight of ``train_face.build_model``
as float16, in layer order: per convolution its kernel and its batch normalisation (scale,
offset, moving mean, moving variance), then the logits layer. The shipped int8 file has each
normalisation folded into its convolution. Folding the checkpoint the same way must give the
shipped file's kernels to within one quantisation step, or the next training run would not
continue the model users have (and the model card's export command would not reproduce it).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from moodshuffle.paths import MODELS_DIR
from moodshuffle.runtime import load_interpreter

pytestmark = pytest.mark.real

CHECKPOINT = MODELS_DIR / "checkpoints" / "face_emotion.weights.h5"
SHIPPED = MODELS_DIR / "face_emotion.tflite"
BN_EPSILON = 1e-3  # Keras' default, which build_model keeps


def checkpoint_folded() -> list[np.ndarray]:
    """The checkpoint's kernels with their normalisation folded in (HWIO), then the logits kernel."""
    with h5py.File(CHECKPOINT, "r") as f:
        weights = [f[f"w{i:03d}"][()].astype(np.float64) for i in range(len(f))]
    folded = []
    i = 0
    while weights[i].ndim == 4:
        kernel, gamma, _, _, var = weights[i : i + 5]
        folded.append(kernel * gamma / np.sqrt(var + BN_EPSILON))
        i += 5
    folded.append(weights[i])  # logits kernel (192, 7); weights[i + 1] is its bias
    assert i + 2 == len(weights), "unexpected layout after the logits layer"
    return folded


def shipped_kernels() -> dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]]:
    """Shape -> (int8 kernel values, per-output-channel scales) of the shipped file's weight tensors."""
    interp = load_interpreter(SHIPPED)
    out = {}
    for d in interp.get_tensor_details():
        scales = np.asarray(d["quantization_parameters"]["scales"])
        if d["dtype"] == np.int8 and len(d["shape"]) in (2, 4) and len(scales) > 1:
            out[tuple(int(s) for s in d["shape"])] = (interp.get_tensor(d["index"]).astype(np.float64), scales)
    return out


def test_checkpoint_is_float16_and_small():
    assert CHECKPOINT.stat().st_size <= 4_000_000
    with h5py.File(CHECKPOINT, "r") as f:
        assert {f[k].dtype for k in f} == {np.dtype(np.float16)}


def test_checkpoint_folds_into_the_shipped_models_kernels():
    shipped = shipped_kernels()
    folded = checkpoint_folded()
    assert len(folded) == len(shipped) == 8  # seven convolutions and the logits layer
    for kernel in folded:
        # the int8 file stores output channels first: OHWI for convolutions, (out, in) for the logits
        ohwi = kernel.transpose(3, 0, 1, 2) if kernel.ndim == 4 else kernel.T
        values, scales = shipped[ohwi.shape]
        step = scales.reshape((-1,) + (1,) * (ohwi.ndim - 1))
        error = np.abs(ohwi / step - values)  # in quantisation steps of each output channel
        assert error.max() <= 1.0, f"{ohwi.shape}: {error.max():.2f} steps off the shipped kernel"
        assert error.mean() <= 0.3, f"{ohwi.shape}: mean {error.mean():.2f} steps off"
