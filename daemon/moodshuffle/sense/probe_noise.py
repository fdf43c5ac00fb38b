"""Keep PortAudio's device probe from flooding the console.

``pyaudio.PyAudio()`` probes every ALSA and JACK device it knows; on a machine without a
sound card or a JACK server, libasound and libjack print dozens of lines such as ``ALSA lib
pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear`` and ``jack server is not
running or cannot be started`` straight to file descriptor 2. ``filtered_stderr`` points fd 2
at a pipe for the length of the probe, drops the lines ``is_probe_noise`` recognises, counts
them in one debug line, and writes every other line back to the real stderr unchanged: a
real error, and any log line another thread wrote in that window, still comes out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator

log = logging.getLogger("moodshuffle.microphone")

_NOISE = re.compile(
    r"^(ALSA lib \S+:\d+:\(\w+\) "  # libasound's error printer, every line of the probe
    r"|jack server is not running or cannot be started"
    r"|Cannot connect to server (socket|request channel)"
    r"|JackShmReadWritePtr::~JackShmReadWritePtr - Init not done"
    r"|Expression '.*' failed in 'src/hostapi/\w+/pa_\w+\.c', line: \d+"  # PortAudio's own probe asserts
    r")"
)


def is_probe_noise(line: str) -> bool:
    """Whether a stderr line is ALSA/JACK/PortAudio device-probe chatter (not an error)."""
    return bool(_NOISE.match(line.strip()))


@contextlib.contextmanager
def filtered_stderr(is_noise: Callable[[str], bool] = is_probe_noise) -> Iterator[None]:
    """Within the block, fd 2 lines that ``is_noise`` accepts are dropped; the others reach
    the real stderr (after the block, in their order)."""
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    chunks: list[bytes] = []
    # drained while the block runs: a probe that writes more than the pipe holds must not block
    reader = threading.Thread(target=_drain, args=(read_end, chunks), name="stderr-filter", daemon=True)
    reader.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees end of file
        os.close(saved)
        reader.join(5)
        os.close(read_end)
        dropped = 0
        for line in b"".join(chunks).decode("utf-8", "replace").splitlines(keepends=True):
            if is_noise(line):
                dropped += 1
            else:
                os.write(2, line.encode())
        if dropped:
            log.debug("silenced %d lines of audio device probe output", dropped)


def _drain(fd: int, chunks: list[bytes]) -> None:
    while True:
        data = os.read(fd, 65536)
        if not data:
            return
        chunks.append(data)
