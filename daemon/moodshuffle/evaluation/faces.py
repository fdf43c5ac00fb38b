"""``moodshuffle eval faces FILE.npz``: the expression model on FER2013-format faces, through
the daemon's own ``prepare_face`` and ``ExpressionModel``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from moodshuffle.domain.emotions import EMOTIONS
from moodshuffle.perceive.expression import ExpressionModel, prepare_face


def main(npz: Path, model: Path | None) -> dict[str, Any]:
    """FILE.npz holds ``images`` (N, 48, 48) uint8 and ``labels`` (N,) in EMOTIONS order (the
    FER2013 ids). Prints the confusion matrix, then as the last line one JSON object with n,
    accuracy, per_class_recall, confusion and ms_per_face (one thread, one face per call)."""
    data = np.load(npz, allow_pickle=False)
    if "classes" in data and tuple(str(c) for c in data["classes"]) != EMOTIONS:
        raise ValueError(f"{npz}: class order {list(data['classes'])} differs from {list(EMOTIONS)}")
    images, labels = data["images"], data["labels"].astype(int)
    net = ExpressionModel(model, num_threads=1)
    pred = np.zeros(len(images), int)
    t0 = time.perf_counter()
    for i, img in enumerate(images):
        pred[i] = int(np.argmax(net.predict(prepare_face(img)[None])[0]))
    ms = 1000 * (time.perf_counter() - t0) / max(1, len(images))
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), int)
    np.add.at(confusion, (labels, pred), 1)
    result = {
        "n": int(len(images)),
        "accuracy": round(float((pred == labels).mean()), 4),
        "per_class_recall": {name: round(float(confusion[i, i] / max(1, confusion[i].sum())), 4)
                             for i, name in enumerate(EMOTIONS)},
        "confusion": confusion.tolist(),
        "ms_per_face": round(ms, 3),
    }
    print("confusion (rows: true, columns: predicted, order " + " ".join(EMOTIONS) + "):")
    for name, row in zip(EMOTIONS, confusion, strict=True):
        print(f"  {name:<9}" + "".join(f"{v:6d}" for v in row))
    print(json.dumps(result))
    return result
