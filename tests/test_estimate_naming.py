"""The departure naming: it shares out the departed mass by the departure's shape, leaves rest
alone, and its file is checked at load (issue 27)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from moodshuffle.config import ModelsConfig, MoodConfig
from moodshuffle.domain.emotions import EMOTIONS, INDEX
from moodshuffle.domain.observations import FaceObservation
from moodshuffle.estimate.mood import MoodEstimator
from moodshuffle.estimate.naming import NAMED, DepartureNaming, departure_shape, load_naming
from moodshuffle.runtime import ModelError


def reads(**probs: float) -> np.ndarray:
    v = np.zeros(7, np.float64)
    for name, p in probs.items():
        v[INDEX[name]] = p
    return v


def naming_that_reads(shape_class: str, as_class: str) -> DepartureNaming:
    """A map that names a departure shaped like ``shape_class`` as ``as_class``, and otherwise
    each class as itself."""
    weights = np.zeros((len(NAMED), 7))
    for row, cls in enumerate(NAMED):
        weights[row, cls] = 4.0
    weights[:, INDEX[shape_class]] = 0.0
    weights[NAMED.index(INDEX[as_class]), INDEX[shape_class]] = 8.0
    return DepartureNaming(weights, np.zeros(len(NAMED)))


def test_departure_shape_is_the_positive_non_neutral_part_summing_to_one():
    shape = departure_shape(reads(sad=0.3, disgust=0.1, happy=-0.2, neutral=-0.2))
    assert shape[INDEX["sad"]] == pytest.approx(0.75) and shape[INDEX["disgust"]] == pytest.approx(0.25)
    assert shape.sum() == pytest.approx(1.0) and shape[INDEX["neutral"]] == 0
    assert not departure_shape(reads(neutral=0.2, happy=-0.2)).any()  # nothing departed: no shape


def test_naming_shares_out_only_the_departed_mass_and_keeps_neutral():
    naming = naming_that_reads("disgust", "sad")
    probs = reads(disgust=0.3, sad=0.2, neutral=0.5)
    named = naming.name(probs, reads(disgust=0.15, sad=0.1, neutral=-0.25))
    assert named[INDEX["neutral"]] == pytest.approx(0.5)
    assert named.sum() == pytest.approx(1.0)
    assert named[INDEX["sad"]] > 0.9 * 0.5  # the departed half, read as sad
    at_rest = reads(neutral=1.0)
    assert np.array_equal(naming.name(at_rest, reads()), at_rest)


def test_the_label_follows_the_naming_while_the_mood_point_does_not_move():
    """A face departing into disgust more than sad: without a naming the label is disgust; with
    a naming that reads that shape as sad, it is sad. Valence and arousal are the same."""
    rest, cry = reads(neutral=0.8, sad=0.1, angry=0.1), reads(neutral=0.2, disgust=0.45, sad=0.3, angry=0.05)
    ends = []
    for naming in (None, naming_that_reads("disgust", "sad")):
        est = MoodEstimator(MoodConfig(), naming)
        for i in range(40):
            est.observe(FaceObservation((rest if i < 10 else cry).astype(np.float32), 0.9, 120, 2.0 * i))
            state = est.update(2.0 * i)
        ends.append(state)
    assert ends[0].label == "disgust" and ends[1].label == "sad"
    assert ends[0].valence == ends[1].valence and ends[0].arousal == ends[1].arousal
    assert np.array_equal(ends[0].probs, ends[1].probs)


def test_a_sad_departure_split_into_sad_and_disgust_sits_in_the_low_arousal_quadrant():
    est = MoodEstimator(MoodConfig())
    rest, cry = reads(neutral=0.8, sad=0.1, angry=0.1), reads(neutral=0.2, disgust=0.35, sad=0.4, angry=0.05)
    for i in range(40):
        est.observe(FaceObservation((rest if i < 10 else cry).astype(np.float32), 0.9, 120, 2.0 * i))
        state = est.update(2.0 * i)
    assert state.valence < 0 and state.arousal < 0


def test_the_shipped_naming_loads_and_was_fitted_behind_the_shipped_models(caplog):
    naming = load_naming(ModelsConfig())
    assert naming is not None
    assert not [r for r in caplog.records if "fitted behind another" in r.getMessage()]
    assert load_naming(ModelsConfig(mood_naming=None)) is None


@pytest.mark.parametrize("change, key", [
    (lambda raw: raw.update(format="other/1"), "format"),
    (lambda raw: raw.update(classes=list(reversed(raw["classes"]))), "classes"),
    (lambda raw: raw.update(bias=[0.0] * 5), "weights must be 6x7"),
    (lambda raw: raw["weights"][0].__setitem__(0, float("nan")), "finite"),
    (lambda raw: raw.pop("weights"), "missing or malformed key"),
])
def test_a_broken_naming_file_is_refused_naming_the_file_and_the_key(tmp_path, change, key):
    shipped = ModelsConfig().mood_naming
    assert shipped is not None
    raw = json.loads(Path(shipped).read_text())
    change(raw)
    path = tmp_path / "naming.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ModelError, match=key) as err:
        DepartureNaming.load(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("cls", [e.value for i, e in enumerate(EMOTIONS) if i in NAMED])
def test_the_shipped_naming_names_a_departure_into_one_class_alone_as_that_class(cls):
    """What the map learnt is how the model splits expressions; a departure into one class only
    (as the voice channel's are, over angry, happy and sad) keeps its name."""
    naming = load_naming(ModelsConfig())
    assert naming is not None
    shares = naming.shares(reads(**{cls: 0.3, "neutral": -0.3}))
    assert EMOTIONS[NAMED[int(np.argmax(shares))]] == cls
