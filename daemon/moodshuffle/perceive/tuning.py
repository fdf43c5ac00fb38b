"""How the camera path reads expressions with a given expression model: the crop framing, the
geometry head and how its opinion is fused with the CNN's, and the neutral correction.

All of it is chosen for one expression model by ``bench/sweep_face_path.py`` (leave one
performer out on ``faces/posed``; see models/face_emotion.md, "Full frames") and stored in
``models/face_tuning.json``, checked at load. The fusion is a product of experts:

    log p = log p_cnn + fusion_weight * log p_geometry - neutral_bias * [class == neutral]

renormalised. A fusion weight of 0 switches the geometry (and its face mesh) off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodshuffle.domain.emotions import INDEX
from moodshuffle.model_json import model_json_text, read_model_json, recorded_for
from moodshuffle.perceive.geometry import GeometryHead
from moodshuffle.runtime import ModelError

TUNING_FORMAT = "moodshuffle.face_tuning/1"
#: used when no tuning file is configured (``models.face_tuning: null``)
DEFAULT_CROP_SCALE = 1.15
DEFAULT_CROP_SHIFT_Y = 0.0


@dataclass(frozen=True)
class FaceTuning:
    """crop_scale: crop side / detector box side; crop_shift_y: downward shift of the crop
    centre in crop sides; fusion_weight >= 0; neutral_bias: subtracted from log p(neutral)."""

    crop_scale: float = DEFAULT_CROP_SCALE
    crop_shift_y: float = DEFAULT_CROP_SHIFT_Y
    fusion_weight: float = 0.0
    neutral_bias: float = 0.0
    head: GeometryHead | None = None
    #: SHA-256 of the expression model file the settings were chosen for (None: not recorded)
    expression_model_sha256: str | None = None

    def chosen_for(self, model_path: Path) -> bool:
        """Whether these settings were chosen for this expression model file (True if unrecorded)."""
        return recorded_for(self.expression_model_sha256, Path(model_path))

    @property
    def uses_geometry(self) -> bool:
        return self.head is not None and self.fusion_weight > 0

    def apply(self, cnn_probs: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """The CNN's (N, 7) probabilities, with the (N, F) geometry features of the same faces
        when ``uses_geometry`` -> (N, 7) float32 probabilities over EMOTIONS, rows sum to 1."""
        log_cnn = np.log(np.maximum(np.atleast_2d(cnn_probs), 1e-6))
        if self.uses_geometry:
            if features is None:
                raise ValueError("this tuning fuses geometry: pass the faces' geometry features")
            assert self.head is not None
            return fuse(log_cnn, self.head.log_proba(features), self.fusion_weight, self.neutral_bias)
        return fuse(log_cnn, np.zeros_like(log_cnn), 0.0, self.neutral_bias)

    def to_json(self, **provenance: object) -> str:
        return model_json_text(TUNING_FORMAT, {
            "crop": {"scale": self.crop_scale, "shift_y": self.crop_shift_y},
            "fusion": {"weight": self.fusion_weight, "neutral_bias": self.neutral_bias},
            "geometry_head": self.head.to_dict() if self.head is not None else None,
            "expression_model_sha256": self.expression_model_sha256,
        }, provenance)

    @classmethod
    def load(cls, path: Path) -> FaceTuning:
        """Read and check a tuning file; ModelError naming the file and the key when it is not one."""
        raw = read_model_json(path, TUNING_FORMAT, "face tuning")
        try:
            numbers = {"crop_scale": float(raw["crop"]["scale"]), "crop_shift_y": float(raw["crop"]["shift_y"]),
                       "fusion_weight": float(raw["fusion"]["weight"]),
                       "neutral_bias": float(raw["fusion"]["neutral_bias"])}
            head = raw["geometry_head"]
            if head is not None:
                head = GeometryHead.from_dict(head, "geometry_head")
        except (KeyError, TypeError) as exc:
            raise ModelError(f"{path}: missing or malformed key: {exc}") from exc
        except ValueError as exc:
            raise ModelError(f"{path}: {exc}") from exc
        if not all(np.isfinite(v) for v in numbers.values()):
            raise ModelError(f"{path}: crop and fusion values must be finite numbers")
        if not 0.5 <= numbers["crop_scale"] <= 2.0 or not -0.5 <= numbers["crop_shift_y"] <= 0.5:
            raise ModelError(f"{path}: crop: scale must be 0.5..2, shift_y -0.5..0.5, got {raw['crop']}")
        if numbers["fusion_weight"] < 0 or (numbers["fusion_weight"] > 0 and head is None):
            raise ModelError(f"{path}: fusion.weight: must be >= 0, and 0 without a geometry_head")
        sha = raw.get("expression_model_sha256")
        if sha is not None and not isinstance(sha, str):
            raise ModelError(f"{path}: expression_model_sha256: expected a hex string")
        return cls(**numbers, head=head, expression_model_sha256=sha)


def fuse(cnn_log_probs: np.ndarray, geometry_log_probs: np.ndarray, weight: float,
         neutral_bias: float) -> np.ndarray:
    """Product of experts: (N, 7) log-probabilities -> (N, 7) float32 probabilities, rows sum to 1."""
    z = cnn_log_probs + weight * geometry_log_probs
    z[:, INDEX["neutral"]] -= neutral_bias
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return np.asarray(p / p.sum(axis=1, keepdims=True), np.float32)
