"""The music emotion model: its contract at load, where its outputs land in the emotion
space, and ``moodshuffle eval music`` on real 4Q clips."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moodshuffle.config import ModelsConfig
from moodshuffle.domain.emotions import QUADRANTS, from_quadrant_probs
from moodshuffle.evaluation.music import quadrant_metrics
from moodshuffle.library.music_model import MusicEmotionModel
from moodshuffle.runtime import ModelError
from moodshuffle.tflite_metadata import CONTRACT_KEY, read_metadata

pytestmark = pytest.mark.real

SHIPPED = Path(ModelsConfig().music)


def test_class_order_is_in_the_shipped_model_metadata():
    assert json.loads(read_metadata(SHIPPED)[CONTRACT_KEY])["classes"] == list(QUADRANTS)
    MusicEmotionModel(SHIPPED)


def test_a_model_with_another_class_order_is_refused_at_load(tmp_path):
    blob = SHIPPED.read_bytes()
    swapped = blob.replace(b'"Q1", "Q2"', b'"Q2", "Q1"')  # same length: still a valid file
    assert swapped != blob
    (tmp_path / "swapped.tflite").write_bytes(swapped)
    with pytest.raises(ModelError, match="class order"):
        MusicEmotionModel(tmp_path / "swapped.tflite")


def test_a_model_without_contract_metadata_is_refused_at_load(tmp_path):
    blob = SHIPPED.read_bytes()
    (tmp_path / "anonymous.tflite").write_bytes(blob.replace(CONTRACT_KEY.encode(), b"x" * len(CONTRACT_KEY)))
    with pytest.raises(ModelError, match="no 'moodshuffle.contract' metadata"):
        MusicEmotionModel(tmp_path / "anonymous.tflite")


def test_a_certain_quadrant_lands_in_that_quadrant_of_the_plane():
    va = from_quadrant_probs(np.eye(4, dtype=np.float32))[:, 7:]
    assert np.sign(va).tolist() == [[1, 1], [-1, 1], [-1, -1], [1, -1]]


def test_valence_and_arousal_signs_follow_the_quadrant_marginals():
    """Positive valence exactly when Q1+Q4 outweigh Q2+Q3, high arousal when Q1+Q2 outweigh
    Q3+Q4: the axis decisions valence_accuracy and arousal_accuracy measure."""
    q = np.random.default_rng(0).dirichlet(np.full(4, 0.5), size=2000).astype(np.float32)
    va = from_quadrant_probs(q)[:, 7:]
    clear_v = np.abs(q[:, [0, 3]].sum(1) - 0.5) > 1e-4
    clear_a = np.abs(q[:, [0, 1]].sum(1) - 0.5) > 1e-4
    assert ((va[:, 0] > 0) == (q[:, [0, 3]].sum(1) > 0.5))[clear_v].all()
    assert ((va[:, 1] > 0) == (q[:, [0, 1]].sum(1) > 0.5))[clear_a].all()


def test_quadrant_metrics_count_axis_hits_apart_from_quadrant_hits():
    y = np.array([0, 1, 2, 3])
    # Q1 right; Q2 read as Q1 (valence wrong, arousal right); Q3 read as Q4 (valence wrong);
    # Q4 read as Q3 with Q4 close behind (valence wrong, arousal right)
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.6, 0.3, 0.05, 0.05], [0.1, 0.1, 0.3, 0.5], [0.1, 0.1, 0.45, 0.35]])
    m = quadrant_metrics(y, probs)
    assert m["accuracy"] == 0.25 and m["per_class_recall"] == {"Q1": 1.0, "Q2": 0.0, "Q3": 0.0, "Q4": 0.0}
    assert m["arousal_accuracy"] == 1.0 and m["valence_accuracy"] == 0.25
    assert m["confusion"] == [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]


@pytest.fixture(scope="module")
def four_per_quadrant(shared_data, tmp_path_factory) -> Path:
    """The first 4 clips of each quadrant in labels.csv (a fixed selection, not picked by the model)."""
    with open(shared_data / "music-4q" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    folder = tmp_path_factory.mktemp("eval_music")
    with open(folder / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "quadrant"])
        for q in QUADRANTS:
            for r in [r for r in rows if r["quadrant"] == q][:4]:
                w.writerow([str(shared_data / "music-4q" / r["file"]), q])
    return folder


def test_eval_music_prints_the_figures_as_its_last_json_line(four_per_quadrant):
    out = subprocess.run([sys.executable, "-m", "moodshuffle", "eval", "music", str(four_per_quadrant)],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert {"accuracy", "macro_f1", "per_class_recall", "valence_accuracy", "arousal_accuracy",
            "s_per_track"} <= set(result)
    assert result["n"] == 16 and result["failed"] == 0
    confusion = np.array(result["confusion"])
    assert result["accuracy"] == pytest.approx(np.trace(confusion) / 16, abs=1e-4)
    # the model was fitted on these clips: a pipeline that no longer matches training reads near chance
    assert result["accuracy"] >= 0.75 and result["arousal_accuracy"] >= 0.875
    assert 0 < result["s_per_track"] < 5
