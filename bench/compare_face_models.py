"""Face models side by side on FER2013 PublicTest, with the noise of the comparison.

    .venv/bin/python bench/compare_face_models.py REFERENCE.tflite [CANDIDATE.tflite ...]

Every model reads the same 3,589 faces through the daemon's ``prepare_face`` and
``ExpressionModel`` (as ``moodshuffle eval faces``). For each: accuracy with a bootstrap 95%
interval (faces resampled, 2,000 draws), per-class recall, and against the first model the
paired difference (the same resampled faces for both, so the spread is that of the
difference itself), the share of faces given the same class, and the largest difference of
any probability. Last line: one JSON object with all of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))

import numpy as np  # noqa: E402

from moodshuffle.domain.emotions import EMOTIONS  # noqa: E402
from moodshuffle.perceive.expression import ExpressionModel, prepare_face  # noqa: E402

DRAWS = 2000
PUBLICTEST = REPO.parent / "shared" / "data" / "fer2013" / "fer2013_publictest.npz"


def probabilities(model: Path, images: np.ndarray) -> np.ndarray:
    net = ExpressionModel(model, num_threads=1)
    return np.concatenate([net.predict(prepare_face(img)[None]) for img in images])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=PUBLICTEST)
    args = parser.parse_args()
    data = np.load(args.data, allow_pickle=False)
    images, labels = data["images"], data["labels"].astype(int)
    draws = np.random.default_rng(0).integers(0, len(labels), (DRAWS, len(labels)))
    probs = [probabilities(m, images) for m in args.models]
    correct = [(p.argmax(1) == labels).astype(float) for p in probs]
    rows = []
    for model, p, ok in zip(args.models, probs, correct, strict=True):
        boot = ok[draws].mean(1)
        diff = (ok - correct[0])[draws].mean(1)
        row = {
            "model": str(model), "accuracy": round(float(ok.mean()), 4),
            "accuracy_ci95": [round(float(v), 4) for v in np.percentile(boot, [2.5, 97.5])],
            "per_class_recall": {e: round(float(ok[labels == i].sum() / max(1, (labels == i).sum())), 4)
                                 for i, e in enumerate(EMOTIONS)},
            "diff_to_reference": round(float(ok.mean() - correct[0].mean()), 4),
            "diff_ci95": [round(float(v), 4) for v in np.percentile(diff, [2.5, 97.5])],
            "same_class_as_reference": round(float((p.argmax(1) == probs[0].argmax(1)).mean()), 4),
            "max_abs_prob_diff": round(float(np.abs(p - probs[0]).max()), 6),
        }
        rows.append(row)
        recall = " ".join(f"{e} {100 * v:.1f}" for e, v in row["per_class_recall"].items())
        print(f"{model.name}: {100 * row['accuracy']:.2f}% (95% {100 * row['accuracy_ci95'][0]:.2f}.."
              f"{100 * row['accuracy_ci95'][1]:.2f}); vs {args.models[0].name} {100 * row['diff_to_reference']:+.2f} "
              f"points (paired 95% {100 * row['diff_ci95'][0]:+.2f}..{100 * row['diff_ci95'][1]:+.2f}), "
              f"same class {100 * row['same_class_as_reference']:.1f}%, max |p diff| {row['max_abs_prob_diff']:.4f}; "
              f"{recall}")
    print(json.dumps({"data": str(args.data), "n": int(len(labels)), "draws": DRAWS, "models": rows}))


if __name__ == "__main__":
    main()
