"""PortAudio's device probe is silenced on stderr; real errors and other threads' lines are kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from moodshuffle.sense.probe_noise import is_probe_noise

pytestmark = pytest.mark.real


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=60)


def test_probe_lines_are_noise_and_errors_are_not():
    for line in (
        "ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear",
        "ALSA lib confmisc.c:855:(parse_card) cannot find card '0'",
        "jack server is not running or cannot be started",
        "Cannot connect to server socket err = No such file or directory",
        "Cannot connect to server request channel",
        "JackShmReadWritePtr::~JackShmReadWritePtr - Init not done for -1, skipping unlock",
    ):
        assert is_probe_noise(line + "\n"), line
    for line in (
        "Traceback (most recent call last):",
        "12:00:01 WARNING moodshuffle.camera: camera unavailable",
        "Segmentation fault",
        "PortAudio: invalid sample rate",
    ):
        assert not is_probe_noise(line), line


def test_the_real_pyaudio_probe_prints_nothing_inside_the_filter():
    unfiltered = run("""
        import pyaudio
        pyaudio.PyAudio().terminate()
    """)
    filtered = run("""
        import pyaudio
        from moodshuffle.sense.probe_noise import filtered_stderr
        with filtered_stderr():
            pa = pyaudio.PyAudio()
        pa.terminate()
        print("probed")
    """)
    assert filtered.returncode == 0 and "probed" in filtered.stdout, filtered.stderr
    assert filtered.stderr == "", filtered.stderr
    # on a machine with a quiet sound stack there is nothing to silence, and that is fine too
    if unfiltered.stderr:
        assert any(is_probe_noise(line) for line in unfiltered.stderr.splitlines())


def test_real_errors_and_other_threads_log_lines_come_through_in_order():
    result = run("""
        import logging, os, sys, threading
        from moodshuffle.sense.probe_noise import filtered_stderr
        logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(message)s")
        with filtered_stderr():
            os.write(2, b"ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear\\n")
            os.write(2, b"jack server is not running or cannot be started\\n")
            os.write(2, b"PortAudio: a real problem\\n")
            t = threading.Thread(target=lambda: logging.getLogger("other").warning("from another thread"))
            t.start(); t.join()
            os.write(2, b"x" * 200000 + b"\\n")  # more than a pipe holds: must not block
        print("done")
    """)
    assert result.returncode == 0 and "done" in result.stdout, result.stderr[-500:]
    lines = result.stderr.splitlines()
    assert lines[:2] == ["PortAudio: a real problem", "WARNING from another thread"]
    assert lines[2] == "x" * 200000 and len(lines) == 3
