"""Expression from face-mesh geometry (fused with the CNN's reading in ``perceive/tuning.py``).

``geometry_features`` turns a FaceMesh into a few distances (mouth opening, brow height, ...),
normalised by the inter-ocular distance and measured in the eye-levelled frame, so they do not
depend on face size or head roll. ``GeometryHead`` is a multinomial logistic regression over
them, fitted on FER2013 by ``bench/sweep_face_path.py``, stored in ``models/face_tuning.json``
(``perceive/tuning.py``) and applied in numpy: the daemon needs neither sklearn nor TensorFlow
for it. On ``faces/posed`` it reads disgust (43/51) and happy well and sad and fear hardly at all
(models/face_landmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from moodshuffle.domain.emotions import N_EMOTIONS

# MediaPipe face mesh indices (subject's right = image left on a frontal face)
_R_EYE = (33, 133)  # outer, inner corner
_L_EYE = (362, 263)  # inner, outer corner
_R_LID, _L_LID = (159, 145), (386, 374)  # upper, lower lid
_MOUTH_R, _MOUTH_L = 61, 291
_LIP_TOP, _LIP_IN_TOP, _LIP_IN_BOTTOM, _LIP_BOTTOM = 0, 13, 14, 17
_NOSE_TIP, _SUBNASALE, _NOSE_BRIDGE = 1, 2, 168
_CHIN = 152
_BROW_INNER, _BROW_MID, _BROW_OUTER = (55, 285), (105, 334), (70, 300)

#: names and order of the features; a head file must list exactly these
FEATURES: tuple[str, ...] = (
    "mouth_width", "mouth_open_inner", "mouth_open_outer", "mouth_corner_drop", "mouth_corner_y",
    "upper_lip_y", "lower_lip_y", "nose_to_lip", "upper_lip_thickness", "lower_lip_thickness",
    "chin_y", "brow_inner_height", "brow_mid_height", "brow_outer_height", "brow_inner_distance",
    "eye_open", "nose_length",
)
N_FEATURES = len(FEATURES)


def geometry_features(points: np.ndarray) -> np.ndarray:
    """(468, 2+) mesh points in pixels -> (N_FEATURES,) float32, in units of the inter-ocular
    distance, y downwards from the eye line (so a larger brow height is a higher brow)."""
    p = np.asarray(points, np.float64)[:, :2]
    right, left = p[list(_R_EYE)].mean(0), p[list(_L_EYE)].mean(0)
    axis = left - right
    iod = float(np.hypot(*axis))
    if iod <= 1e-6:
        raise ValueError("degenerate face mesh: the eyes coincide")
    ux = axis / iod
    rot = np.array([ux, [-ux[1], ux[0]]])  # rows: along the eyes, and downwards across them
    q = (p - (left + right) / 2) @ rot.T / iod
    y = q[:, 1]

    def dist(a: int, b: int) -> float:
        return float(np.hypot(*(q[a] - q[b])))

    corner_y = (y[_MOUTH_R] + y[_MOUTH_L]) / 2
    feats = (
        dist(_MOUTH_R, _MOUTH_L),
        y[_LIP_IN_BOTTOM] - y[_LIP_IN_TOP],
        y[_LIP_BOTTOM] - y[_LIP_TOP],
        corner_y - (y[_LIP_IN_TOP] + y[_LIP_IN_BOTTOM]) / 2,
        corner_y,
        y[_LIP_TOP],
        y[_LIP_BOTTOM],
        y[_LIP_TOP] - y[_SUBNASALE],
        y[_LIP_IN_TOP] - y[_LIP_TOP],
        y[_LIP_BOTTOM] - y[_LIP_IN_BOTTOM],
        y[_CHIN],
        -y[list(_BROW_INNER)].mean(),
        -y[list(_BROW_MID)].mean(),
        -y[list(_BROW_OUTER)].mean(),
        dist(*_BROW_INNER),
        ((y[_R_LID[1]] - y[_R_LID[0]]) + (y[_L_LID[1]] - y[_L_LID[0]])) / 2,
        y[_NOSE_TIP] - y[_NOSE_BRIDGE],
    )
    return np.asarray(feats, np.float32)


@dataclass(frozen=True)
class GeometryHead:
    """Multinomial logistic regression over FEATURES (standardised) -> EMOTIONS."""

    mean: np.ndarray  # (N_FEATURES,)
    scale: np.ndarray  # (N_FEATURES,), > 0
    weights: np.ndarray  # (N_FEATURES, N_EMOTIONS)
    bias: np.ndarray  # (N_EMOTIONS,)

    def log_proba(self, features: np.ndarray) -> np.ndarray:
        """(N, N_FEATURES) or (N_FEATURES,) -> (N, N_EMOTIONS) log-probabilities over EMOTIONS."""
        z = ((np.atleast_2d(features) - self.mean) / self.scale) @ self.weights + self.bias
        z = z - z.max(axis=1, keepdims=True)
        log_p: np.ndarray = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return log_p

    def to_dict(self) -> dict[str, object]:
        return {"features": list(FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "weights": self.weights.tolist(), "bias": self.bias.tolist()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> GeometryHead:
        """Check and build; ValueError naming ``where`` and the key when the data is not a head."""
        if raw.get("features") != list(FEATURES):
            raise ValueError(f"{where}.features: {raw.get('features')} differ from geometry.FEATURES")
        shapes = {"mean": (N_FEATURES,), "scale": (N_FEATURES,), "weights": (N_FEATURES, N_EMOTIONS),
                  "bias": (N_EMOTIONS,)}
        values = {}
        for key, shape in shapes.items():
            try:
                values[key] = np.asarray(raw[key], np.float64)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{where}.{key}: missing or not numbers ({exc})") from exc
            if values[key].shape != shape or not np.isfinite(values[key]).all():
                raise ValueError(f"{where}.{key}: expected finite numbers of shape {shape}, "
                                 f"got shape {values[key].shape}")
        if (values["scale"] <= 0).any():
            raise ValueError(f"{where}.scale: must be > 0")
        return cls(**values)
