"""The camera path on real images and real video: detection, crop, expression, sampling."""

from __future__ import annotations

import asyncio
import csv
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from moodshuffle.config import CameraConfig, ModelsConfig
from moodshuffle.domain.emotions import INDEX
from moodshuffle.domain.observations import FaceObservation, NobodySeen
from moodshuffle.perceive.faces import FaceDetector
from moodshuffle.sense.sampler import FaceSampler

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def labels(faces_dir):
    with open(faces_dir / "labels.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_one_face_is_found_in_every_labelled_photo(faces_dir, labels, analyzer):
    counts = [len(analyzer.crops(cv2.imread(str(faces_dir / r["file"])))) for r in labels]
    assert counts == [1] * len(labels)


def test_no_frame_of_the_no_face_video_yields_a_face(faces_dir, analyzer):
    cap = cv2.VideoCapture(str(faces_dir / "media" / "no_face.mp4"))
    frames = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames += 1
        assert analyzer.crops(frame) == [], f"a face-like texture in frame {frames}"
    assert frames > 90


def test_a_small_distant_face_is_found_and_read(faces_dir, analyzer):
    # the smiling photo shrunk so its face is about 32 px wide in a 640x480 room
    img = cv2.imread(str(faces_dir / "media" / "single_face.jpg"))
    full = max(analyzer.detector.detect(img), key=lambda d: d.size).size
    small = cv2.resize(img, None, fx=32 / full, fy=32 / full, interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 110, np.uint8)
    frame[300 : 300 + small.shape[0], 420 : 420 + small.shape[1]] = small
    obs = analyzer.analyze(frame, 0.0)
    assert len(obs) == 1 and 24 <= obs[0].face_px <= 44
    assert int(np.argmax(obs[0].probs)) == INDEX["happy"]


def test_several_people_are_all_found(faces_dir):
    detector = FaceDetector(Path(ModelsConfig().face_detector), CameraConfig().detector_threshold)
    assert len(detector.detect(cv2.imread(str(faces_dir / "media" / "multi_face.jpg")))) >= 4


def test_dark_frame_is_enhanced_and_face_still_found(faces_dir, analyzer):
    # at 5% brightness the detector alone misses this face; CLAHE brings it back
    img = cv2.imread(str(faces_dir / "yale" / "subject02_happy.png"))
    dark = (img.astype(np.float32) * 0.05).astype(np.uint8)
    raw = [d for d in analyzer.detector.detect(dark) if d.size >= analyzer.min_face_px and d.plausible()]
    assert raw == []
    assert len(analyzer.analyze(dark, 0.0)) == 1


def test_happy_and_surprised_faces_are_recognised(faces_dir, labels, analyzer):
    hits = {"happy": [], "surprise": []}
    for r in labels:
        if r["emotion"] in hits:
            obs = analyzer.analyze(cv2.imread(str(faces_dir / r["file"])), 0.0)
            assert len(obs) <= 1
            hits[r["emotion"]].append(bool(obs) and int(np.argmax(obs[0].probs)) == INDEX[r["emotion"]])
    assert np.mean(hits["happy"]) >= 0.85, hits
    assert np.mean(hits["surprise"]) >= 0.7, hits


def sample(cfg: CameraConfig, analyzer, count: int, during=None, timeout: float = 60.0):
    """Run a sampler until it emitted ``count`` observations (at most ``timeout`` s), or
    through ``during(sampler, seen, statuses)``."""
    async def go():
        sampler = FaceSampler(cfg, analyzer)
        seen: list = []
        statuses: list[str] = []
        sampler.on_status = statuses.append
        task = asyncio.create_task(sampler.run(seen.append))
        if during is not None:
            await during(sampler, seen, statuses)
        else:
            deadline = asyncio.get_running_loop().time() + timeout
            while len(seen) < count and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return seen, statuses

    return asyncio.run(go())


def test_no_face_video_gives_only_nobody_seen(faces_dir, analyzer):
    cfg = CameraConfig(source=str(faces_dir / "media" / "no_face.mp4"), interval_s=0.05, realtime=False)
    seen, statuses = sample(cfg, analyzer, 10)
    assert seen and all(isinstance(o, NobodySeen) for o in seen)
    assert statuses[0] == "ON"


def test_smiling_video_gives_face_observations(faces_dir, analyzer):
    cfg = CameraConfig(source=str(faces_dir / "media" / "single_face.mp4"), interval_s=0.05, realtime=False)
    seen, _ = sample(cfg, analyzer, 15)
    faces = [o for o in seen if isinstance(o, FaceObservation)]
    assert len(faces) >= 0.8 * len(seen) and len(faces) >= 5
    assert all(abs(float(f.probs.sum()) - 1) < 1e-4 and 0 < f.confidence <= 1 for f in faces)


def test_vanished_camera_is_survived_and_camera_off_releases_it(faces_dir, analyzer, tmp_path):
    video = tmp_path / "cam.mp4"
    shutil.copy(faces_dir / "media" / "single_face.mp4", video)
    cfg = CameraConfig(source=str(video), interval_s=0.02, realtime=False, loop=False)

    async def scenario(sampler, seen, statuses):
        await asyncio.sleep(0.3)
        assert sampler.status == "ON"
        video.rename(tmp_path / "gone.mp4")  # unplugged: the stream ends and cannot be reopened
        for _ in range(200):
            await asyncio.sleep(0.05)
            if sampler.status == "unavailable":
                break
        assert sampler.status == "unavailable"
        (tmp_path / "gone.mp4").rename(video)
        for _ in range(400):  # back-off: 1 s doubling, however long the file was away
            await asyncio.sleep(0.05)
            if sampler.status == "ON":
                break
        assert sampler.status == "ON"
        sampler.set_enabled(False)
        await asyncio.sleep(0.3)
        assert sampler.status == "OFF" and sampler._source is None
        count = len(seen)
        await asyncio.sleep(0.3)
        assert len(seen) == count  # nothing sampled while OFF

    _, statuses = sample(cfg, analyzer, 0, during=scenario)
    assert statuses == ["ON", "unavailable", "ON", "OFF"]


def test_one_analyzer_can_be_used_from_two_threads_at_once(faces_dir, analyzer):
    # a cancelled sampler may still be reading a frame while its successor starts on the same analyzer
    frame = cv2.imread(str(faces_dir / "media" / "single_face.jpg"))
    expected = analyzer.analyze(frame, 0.0)[0].probs
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: analyzer.analyze(frame, 0.0)[0].probs, range(40)))
    assert all(np.allclose(r, expected, atol=1e-6) for r in results)


def test_gray_and_bgra_frames_are_read_and_a_malformed_frame_is_refused(faces_dir, analyzer):
    img = cv2.imread(str(faces_dir / "media" / "single_face.jpg"))
    assert len(analyzer.analyze(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 0.0)) == 1
    assert len(analyzer.analyze(cv2.cvtColor(img, cv2.COLOR_BGR2BGRA), 0.0)) == 1
    with pytest.raises(ValueError, match="uint8"):
        analyzer.analyze(img.astype(np.float32), 0.0)
    with pytest.raises(ValueError, match="uint8"):
        analyzer.analyze(img[:, :, :2], 0.0)
