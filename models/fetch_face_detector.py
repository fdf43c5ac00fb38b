"""Extract MediaPipe's BlazeFace full-range face detector and its face mesh (landmark) model
from the mediapipe wheel on PyPI.

    .venv/bin/python models/fetch_face_detector.py

Downloads ``mediapipe==0.10.14`` (the last release whose wheel bundles the model files), checks
the wheel's and each model's SHA-256, and writes ``models/face_detector.tflite`` and
``models/face_landmarks.tflite``. MediaPipe is Apache-2.0 (see models/face_detector.md and
models/face_landmarks.md); nothing of it is needed at run time.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
HERE = Path(__file__).resolve().parent
#: wheel member -> (SHA-256, file written here)
MODELS = {
    "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite":
        ("2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1", HERE / "face_detector.tflite"),
    "mediapipe/modules/face_landmark/face_landmark.tflite":
        ("1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814", HERE / "face_landmarks.tflite"),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
                        "mediapipe==0.10.14", "-d", tmp], check=True)
        wheel = Path(tmp) / WHEEL
        if sha256(wheel.read_bytes()) != WHEEL_SHA256:
            print(f"checksum mismatch for {WHEEL}", file=sys.stderr)
            return 1
        with zipfile.ZipFile(wheel) as archive:
            blobs = {member: archive.read(member) for member in MODELS}
    for member, blob in blobs.items():
        if sha256(blob) != MODELS[member][0]:
            print(f"checksum mismatch for {member}", file=sys.stderr)
            return 1
    for member, blob in blobs.items():
        digest, out = MODELS[member]
        out.write_bytes(blob)
        print(f"wrote {out} ({len(blob)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
