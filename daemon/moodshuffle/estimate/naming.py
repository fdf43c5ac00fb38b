"""Which expression a departure from rest shows (pure logic; the file is read at start).

The expression model splits one expression across the classes it confuses, and how it splits
it is systematic: a sad face departs from its rest into sad and disgust, a fearful one into
fear, surprise, sad and angry at once. So the class a departure names is not its largest part
but what a small map, fitted on departures of posed expressions of other people, reads in its
shape: ``DepartureNaming``, a multinomial logistic regression on the departure's positive part
normalised to sum 1 (its shape, not its size: how far the face departed is the estimator's
business, and stays so). The map only redistributes the departed mass among the non-neutral
classes; how much the room departed from rest, and so rest itself, is unchanged.

The fit: ``models/fit_mood_naming.py`` (a departure per posed photo: the photo's reading minus
its performer's mean neutral reading), stored in ``models/mood_naming.json`` with the checksums
of the expression model and the face tuning it was fitted behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodshuffle.config import ModelsConfig
from moodshuffle.domain.emotions import EMOTIONS, INDEX, N_EMOTIONS
from moodshuffle.model_json import model_json_text, read_model_json, recorded_for
from moodshuffle.runtime import ModelError

log = logging.getLogger("moodshuffle")

NAMING_FORMAT = "moodshuffle.mood_naming/1"
NEUTRAL = INDEX["neutral"]
#: the classes a departure can name: every class but neutral, in EMOTIONS order
NAMED: tuple[int, ...] = tuple(i for i in range(N_EMOTIONS) if i != NEUTRAL)


def departure_shape(departure: np.ndarray) -> np.ndarray:
    """(..., 7) departures over EMOTIONS -> (..., 7) their positive part on the non-neutral
    classes, normalised to sum 1 (all zeros where nothing departed)."""
    shape = np.clip(np.asarray(departure, np.float64), 0.0, None)
    shape[..., NEUTRAL] = 0.0
    total = shape.sum(axis=-1, keepdims=True)
    return np.asarray(np.where(total > 1e-9, shape / np.maximum(total, 1e-9), 0.0), np.float64)


@dataclass(frozen=True, eq=False)
class DepartureNaming:
    """weights (6, 7): one row per NAMED class over departure_shape's 7 values; bias (6,).
    Checksums name the expression model and face tuning file it was fitted behind (None:
    unrecorded)."""

    weights: np.ndarray
    bias: np.ndarray
    expression_model_sha256: str | None = None
    face_tuning_sha256: str | None = None

    def shares(self, departure: np.ndarray) -> np.ndarray:
        """(7,) departure -> (6,) probabilities over NAMED, summing to 1."""
        z = self.weights @ departure_shape(departure) + self.bias
        e = np.exp(z - z.max())
        return np.asarray(e / e.sum(), np.float64)

    def name(self, probs: np.ndarray, departure: np.ndarray) -> np.ndarray:
        """The mood's (7,) probabilities with their non-neutral mass shared out as the
        departure's shape names it; neutral (the rest) keeps its probability."""
        out = np.array(probs, np.float64)
        departed = 1.0 - float(out[NEUTRAL])
        if departed <= 1e-9:
            return out
        out[list(NAMED)] = departed * self.shares(departure)
        return out

    def fitted_behind(self, expression_model: Path, face_tuning: Path | None) -> bool:
        """Whether this map was fitted behind these files (True where a checksum is unrecorded)."""
        return (recorded_for(self.expression_model_sha256, expression_model)
                and recorded_for(self.face_tuning_sha256, face_tuning))

    def to_json(self, **provenance: object) -> str:
        return model_json_text(NAMING_FORMAT, {
            "named": [EMOTIONS[i].value for i in NAMED],
            "weights": self.weights.tolist(), "bias": self.bias.tolist(),
            "expression_model_sha256": self.expression_model_sha256,
            "face_tuning_sha256": self.face_tuning_sha256,
        }, provenance)

    @classmethod
    def load(cls, path: Path) -> DepartureNaming:
        """Read and check a naming file; ModelError naming the file and the key when it is not one."""
        raw = read_model_json(path, NAMING_FORMAT, "mood naming")
        try:
            weights = np.asarray(raw["weights"], np.float64)
            bias = np.asarray(raw["bias"], np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: missing or malformed key: {exc}") from exc
        if weights.shape != (len(NAMED), N_EMOTIONS) or bias.shape != (len(NAMED),):
            raise ModelError(f"{path}: weights must be {len(NAMED)}x{N_EMOTIONS} and bias {len(NAMED)}, "
                             f"got {weights.shape} and {bias.shape}")
        if not (np.isfinite(weights).all() and np.isfinite(bias).all()):
            raise ModelError(f"{path}: weights and bias must be finite numbers")
        return cls(weights, bias, raw.get("expression_model_sha256"), raw.get("face_tuning_sha256"))


def load_naming(models: ModelsConfig) -> DepartureNaming | None:
    """The naming ``models.mood_naming`` names (None when it is null); ModelError when the file
    is missing or broken. Warns when it was fitted behind another expression model or tuning."""
    if not models.mood_naming:
        return None
    naming = DepartureNaming.load(Path(models.mood_naming))
    tuning = Path(models.face_tuning) if models.face_tuning else None
    try:
        behind = naming.fitted_behind(Path(models.face_expression), tuning)
    except OSError:
        behind = True  # the expression model or tuning cannot be read: their own loaders say so
    if not behind:
        log.warning("%s was fitted behind another expression model or face tuning than %s and %s; re-run "
                    "models/fit_mood_naming.py --write", models.mood_naming, models.face_expression, tuning)
    return naming
