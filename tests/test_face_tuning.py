"""The face tuning file, the geometry head and the face mesh: contracts checked at load, the
geometry measured on real faces, and the camera path with geometry fused in."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from moodshuffle.config import CameraConfig, ModelsConfig
from moodshuffle.domain.emotions import EMOTIONS, INDEX
from moodshuffle.paths import MODELS_DIR
from moodshuffle.perceive.faces import FaceAnalyzer, FaceDetector
from moodshuffle.perceive.geometry import FEATURES, geometry_features
from moodshuffle.perceive.landmarks import FaceLandmarker, mesh_crop_matrix
from moodshuffle.perceive.tuning import FaceTuning, fuse
from moodshuffle.runtime import ModelError

pytestmark = pytest.mark.real

SHIPPED = MODELS_DIR / "face_tuning.json"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(Path(ModelsConfig().face_detector))


@pytest.fixture(scope="module")
def landmarker() -> FaceLandmarker:
    return FaceLandmarker(Path(ModelsConfig().face_landmarks))


def write_variant(tmp_path: Path, change) -> Path:
    raw = json.loads(SHIPPED.read_text())
    change(raw)
    path = tmp_path / "tuning.json"
    path.write_text(json.dumps(raw))
    return path


def test_shipped_tuning_loads_with_a_geometry_head_and_a_sane_crop():
    tuning = FaceTuning.load(SHIPPED)
    assert tuning.head is not None and tuning.head.weights.shape == (len(FEATURES), len(EMOTIONS))
    assert 0.5 <= tuning.crop_scale <= 2.0 and tuning.fusion_weight >= 0


def test_a_tuning_with_another_class_order_is_refused(tmp_path):
    def swap(raw):
        raw["classes"][0], raw["classes"][1] = raw["classes"][1], raw["classes"][0]

    with pytest.raises(ModelError, match="classes: order"):
        FaceTuning.load(write_variant(tmp_path, swap))


def test_a_corrupt_tuning_file_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(SHIPPED.read_text()[:200])
    with pytest.raises(ModelError, match="cut.json: not a JSON"):
        FaceTuning.load(path)


def test_a_geometry_head_for_other_features_is_refused(tmp_path):
    def rename(raw):
        raw["geometry_head"]["features"][0] = "something_else"

    with pytest.raises(ModelError, match="geometry_head.features"):
        FaceTuning.load(write_variant(tmp_path, rename))


def test_a_geometry_head_of_the_wrong_shape_is_refused(tmp_path):
    with pytest.raises(ModelError, match="geometry_head.weights"):
        FaceTuning.load(write_variant(tmp_path, lambda raw: raw["geometry_head"]["weights"].pop()))


def test_a_fusion_weight_without_a_head_is_refused(tmp_path):
    def drop(raw):
        raw["geometry_head"], raw["fusion"]["weight"] = None, 0.5

    with pytest.raises(ModelError, match="fusion.weight"):
        FaceTuning.load(write_variant(tmp_path, drop))


def test_neutral_bias_moves_probability_only_away_from_neutral():
    rng = np.random.default_rng(0)
    log_p = np.log(rng.dirichlet(np.ones(7), size=50))
    plain, biased = fuse(log_p, np.zeros_like(log_p), 0.0, 0.0), fuse(log_p, np.zeros_like(log_p), 0.0, 1.0)
    assert np.allclose(plain.sum(1), 1, atol=1e-5) and np.allclose(biased.sum(1), 1, atol=1e-5)
    assert (biased[:, INDEX["neutral"]] < plain[:, INDEX["neutral"]]).all()
    others = [i for i in range(7) if i != INDEX["neutral"]]
    # the other classes keep their ratios: only neutral was scaled down
    ratio = biased[:, others] / plain[:, others]
    assert np.allclose(ratio, ratio[:, :1], rtol=1e-4)


def test_geometry_features_ignore_face_size_position_and_roll(faces_dir, detector, landmarker):
    img = cv2.imread(str(faces_dir / "media" / "single_face.jpg"))
    det = max(detector.detect(img), key=lambda d: d.size)
    points = landmarker.mesh(img, det.box, det.keypoints[0], det.keypoints[1]).points[:, :2]
    angle = np.radians(20)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = 2.5 * points @ rot.T + np.array([300.0, -40.0])
    assert np.allclose(geometry_features(points), geometry_features(moved), atol=1e-4)


def test_a_model_that_is_not_a_face_mesh_is_refused():
    with pytest.raises(ModelError, match="landmarks"):
        FaceLandmarker(Path(ModelsConfig().face_detector))


def test_face_mesh_lands_on_the_eyes_the_detector_found(faces_dir, detector, landmarker):
    for name in ("single_face.jpg", "astronaut.png"):
        img = cv2.imread(str(faces_dir / "media" / name))
        det = max(detector.detect(img), key=lambda d: d.size)
        mesh = landmarker.mesh(img, det.box, det.keypoints[0], det.keypoints[1])
        m = mesh_crop_matrix(det.box, det.keypoints[0], det.keypoints[1])
        eyes = det.keypoints[:2] @ m[:, :2].T + m[:, 2]  # the detector's eye centres in mesh-crop pixels
        mesh_eyes = np.stack([mesh.points[[33, 133], :2].mean(0), mesh.points[[362, 263], :2].mean(0)])
        assert mesh.presence > 0.9, name
        # within a tenth of the crop (19 px of 192): the mesh is on the face, eyes on eyes, not mirrored
        assert np.abs(mesh_eyes - eyes).max() < 19, (name, mesh_eyes, eyes)


def test_mouth_opens_and_brows_rise_in_surprise_against_neutral(faces_dir, detector, landmarker):
    """Yale subjects photographed neutral and surprised: the geometry must say which is which."""
    with open(faces_dir / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["file"].startswith("yale/")]
    feats: dict[tuple[str, str], np.ndarray] = {}
    for r in rows:
        if r["emotion"] in ("neutral", "surprise"):
            img = cv2.imread(str(faces_dir / r["file"]))
            det = max(detector.detect(img), key=lambda d: d.size)
            mesh = landmarker.mesh(img, det.box, det.keypoints[0], det.keypoints[1])
            feats[(r["subject"], r["emotion"])] = geometry_features(mesh.points)
    subjects = [s for s, e in feats if e == "surprise" and (s, "neutral") in feats]
    assert len(subjects) >= 10
    mouth, brow = FEATURES.index("mouth_open_inner"), FEATURES.index("brow_mid_height")
    opened = np.mean([feats[(s, "surprise")][mouth] > feats[(s, "neutral")][mouth] for s in subjects])
    raised = np.mean([feats[(s, "surprise")][brow] > feats[(s, "neutral")][brow] for s in subjects])
    assert opened >= 0.8 and raised >= 0.7, (opened, raised)


def test_camera_path_with_geometry_fused_reads_clear_faces(faces_dir):
    shipped = FaceTuning.load(SHIPPED)
    fused = dataclasses.replace(shipped, fusion_weight=0.5)
    analyzer = FaceAnalyzer(CameraConfig(), ModelsConfig(), fused)
    assert analyzer.landmarker is not None
    with open(faces_dir / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["emotion"] in ("happy", "surprise")]
    hits = {"happy": [], "surprise": []}
    for r in rows:
        obs = analyzer.analyze(cv2.imread(str(faces_dir / r["file"])), 0.0)
        assert len(obs) == 1 and abs(float(obs[0].probs.sum()) - 1) < 1e-4
        hits[r["emotion"]].append(int(np.argmax(obs[0].probs)) == INDEX[r["emotion"]])
    assert np.mean(hits["happy"]) >= 0.85 and np.mean(hits["surprise"]) >= 0.7, hits


def test_without_a_tuning_file_the_cnn_alone_reads_and_no_mesh_is_loaded(faces_dir):
    analyzer = FaceAnalyzer(CameraConfig(), dataclasses.replace(ModelsConfig(), face_tuning=None))
    assert analyzer.landmarker is None and analyzer.tuning == FaceTuning()
    obs = analyzer.analyze(cv2.imread(str(faces_dir / "media" / "single_face.jpg")), 0.0)
    assert len(obs) == 1 and int(np.argmax(obs[0].probs)) == INDEX["happy"]


def test_a_tuning_chosen_for_another_expression_model_is_flagged_at_start(tmp_path, caplog):
    def other_model(raw):
        raw["expression_model_sha256"] = "0" * 64

    models = dataclasses.replace(ModelsConfig(), face_tuning=str(write_variant(tmp_path, other_model)))
    with caplog.at_level("WARNING", logger="moodshuffle.faces"):
        FaceAnalyzer(CameraConfig(), models)
    assert "re-run bench/sweep_face_path.py" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="moodshuffle.faces"):
        FaceAnalyzer(CameraConfig(), ModelsConfig())  # the shipped pair matches
    assert "sweep_face_path" not in caplog.text
