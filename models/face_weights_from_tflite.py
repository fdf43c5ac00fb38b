"""Recover float weights from an exported int8 face model, so the training chain can continue from it.

The int8 file (``train_face.py``'s export) keeps every trained weight: each convolution with its
batch normalisation folded in (per-channel int8 kernel and int32 bias) and the logits layer. This
script reads them back into ``train_face.build_model``'s network and writes the float16 warm start
that ``train_face.py --init`` loads:

    .venv/bin/python models/face_weights_from_tflite.py models/face_emotion.tflite \\
        --out models/checkpoints/face_emotion.weights.h5

Batch normalisation is unfolded so that training can go on: a folded layer computes ``W x + b``;
with ``m`` and ``v`` the per-channel mean and variance of ``W x`` over training faces, the layer
gets moving mean ``m``, variance ``v``, scale ``sqrt(v + eps)`` and offset ``m + b``, which computes
the same ``W x + b`` at inference and, in training mode, normalises by batch statistics close to
``m`` and ``v`` instead of rescaling every channel at the first step. The script prints the
PublicTest accuracy of the recovered float network (one view and the shipped four views) beside the
int8 file's, read through the daemon's inference code.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "models"))
sys.path.insert(0, str(REPO / "daemon"))

from train_face import SEED, build_model, load_split, report, save_f16, with_tta  # noqa: E402

from moodshuffle.perceive.expression import ExpressionModel  # noqa: E402
from moodshuffle.runtime import load_interpreter  # noqa: E402

#: training faces whose statistics unfold the batch normalisation
STAT_FACES = 8192


def int8_weights(path: Path) -> tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """([(kernel HWIO, bias) per convolution, in graph order], (dense kernel, dense bias)), dequantised.
    The four test-time views share the kernels; their biases differ only by quantisation, so the
    first view's are taken."""
    interp = load_interpreter(path)
    tensors = {d["index"]: d for d in interp.get_tensor_details()}

    def dequantised(index: int) -> np.ndarray:
        q = tensors[index]["quantization_parameters"]
        scales = np.asarray(q["scales"], np.float64)
        values = interp.get_tensor(index).astype(np.float64)
        shape = [-1] + [1] * (values.ndim - 1)
        return values * scales.reshape(shape) if len(scales) > 1 else values * scales[0]

    convs: list[tuple[np.ndarray, np.ndarray]] = []
    seen: set[int] = set()
    dense = None
    for op in interp._get_ops_details():
        if op["op_name"] == "CONV_2D" and op["inputs"][1] not in seen:
            seen.add(op["inputs"][1])
            kernel = dequantised(op["inputs"][1]).transpose(1, 2, 3, 0)  # OHWI -> HWIO
            convs.append((kernel, dequantised(op["inputs"][2])))
        elif op["op_name"] == "FULLY_CONNECTED" and dense is None:
            dense = (dequantised(op["inputs"][1]).T, dequantised(op["inputs"][2]))
    if dense is None:
        raise ValueError(f"{path}: no logits layer found")
    return convs, dense


def recover(tf, path: Path):
    """``build_model``'s network carrying the int8 file's weights (see the module docstring)."""
    layers = tf.keras.layers
    model = build_model(tf)
    conv_layers = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    norms = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
    convs, (dense_w, dense_b) = int8_weights(path)
    if len(convs) != len(conv_layers):
        raise ValueError(f"{path}: {len(convs)} convolutions, the network has {len(conv_layers)}")
    for layer, norm, (kernel, bias) in zip(conv_layers, norms, convs, strict=True):
        layer.set_weights([kernel.astype(np.float32)])
        eps = norm.epsilon
        norm.set_weights([np.ones_like(bias, np.float32), bias.astype(np.float32),
                          np.zeros_like(bias, np.float32), np.full_like(bias, 1 - eps, np.float32)])
    model.get_layer("logits").set_weights([dense_w.astype(np.float32), dense_b.astype(np.float32)])

    x, _ = load_split("train")
    faces = x[np.random.default_rng(SEED).choice(len(x), STAT_FACES, replace=False)]
    probe = tf.keras.Model(model.input, [layer.output for layer in conv_layers])
    sums = [np.zeros((2, k.shape[-1])) for k, _ in convs]  # per channel: sum, sum of squares
    count = np.zeros(len(convs))
    for start in range(0, len(faces), 256):
        for i, out in enumerate(probe(faces[start : start + 256], training=False)):
            flat = out.numpy().reshape(-1, out.shape[-1]).astype(np.float64)
            sums[i] += (flat.sum(0), (flat**2).sum(0))
            count[i] += len(flat)
    for norm, (s1, s2), n, (_, bias) in zip(norms, sums, count, convs, strict=True):
        m = s1 / n
        v = np.maximum(s2 / n - m**2, 0.0)
        norm.set_weights([np.sqrt(v + norm.epsilon).astype(np.float32), (m + bias).astype(np.float32),
                          m.astype(np.float32), v.astype(np.float32)])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="an int8 face model exported by train_face.py")
    parser.add_argument("--out", type=Path, required=True, help="the float16 weights to write (.weights.h5)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    model = recover(tf, args.model)
    save_f16(model, args.out)
    xv, yv = load_split("publictest")
    report("int8 file", ExpressionModel(args.model).predict(xv[..., 0].astype(np.uint8)), yv)
    report("recovered float", model.predict(xv, batch_size=256, verbose=0), yv)
    report("recovered float_tta", with_tta(tf, model).predict(xv, batch_size=256, verbose=0), yv)


if __name__ == "__main__":
    main()
