"""Track analysis for a scan: in the scan's own thread, or in worker processes that use every core.

``library.scan_workers`` processes (0: the cores this process may use, but one; at least 1) each
load one music model and analyse one track at a time (tags, decode, model, tempo/key/energy).
The scanning process alone writes the index: it hands each worker a path, keeps at most
IN_FLIGHT_PER_WORKER tracks per worker in flight, and takes the results back in the order it
handed the paths out, so a track's row and id are the same whatever the worker count, and a
scan killed at any moment loses at most the tracks in flight. One worker analyses in the
scanning thread, as before there were workers (no process, no second model).

Workers are started with ``spawn`` (the daemon scans from a thread of a process with other
threads, which ``fork`` must not copy) and only once a track needs analysing, so a rescan
with nothing new starts none.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from moodshuffle.config import ModelsConfig
from moodshuffle.library.analysis import QuadrantModel, TrackFeatures, analyse
from moodshuffle.library.decode import DecodeError
from moodshuffle.library.tags import TrackTags, read_tags
from moodshuffle.runtime import ModelError

#: tracks handed to each worker ahead of the one it works on, so none waits for the next path
IN_FLIGHT_PER_WORKER = 2
#: seconds between a worker's checks that its scanning process is still there
PARENT_CHECK_S = 1.0


def scan_workers(configured: int) -> int:
    """The worker count for ``library.scan_workers``: itself, or for 0 the cores this process
    may run on but one, at least 1."""
    if configured > 0:
        return configured
    return max(1, len(os.sched_getaffinity(0)) - 1)


@dataclass(frozen=True)
class Analysed:
    """One track's analysis: its tags, and its features or why its audio could not be decoded."""

    tags: TrackTags
    features: TrackFeatures | None
    error: str | None


def analyse_track(path: str, model: QuadrantModel) -> Analysed:
    """Tags and features of ``path``; a file that cannot be decoded gives ``error``, a broken
    model raises ModelError."""
    tags = read_tags(Path(path))
    try:
        return Analysed(tags, analyse(Path(path), model), None)
    except DecodeError as exc:
        return Analysed(tags, None, str(exc))


# the worker process's model (one per process), or why it could not be loaded
_model: QuadrantModel | None = None
_model_error: ModelError | None = None


def _exit_with(parent: int) -> None:
    """End this worker once its scanning process is gone (``kill -9`` leaves workers waiting on
    their queue for ever otherwise, each holding a model)."""
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(1)


def _start_worker(model_path: str, num_threads: int) -> None:
    global _model, _model_error
    from moodshuffle.library.music_model import MusicEmotionModel

    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True, name="parent-watch").start()

    try:
        _model = MusicEmotionModel(Path(model_path), num_threads)
    except ModelError as exc:  # raised with the first track, so the scan reports it by name
        _model_error = exc


def _work(path: str) -> Analysed:
    if _model is None:
        raise _model_error or ModelError("the music model was not loaded")
    return analyse_track(path, _model)


class TrackAnalysts:
    """``analyse(paths)`` yields (path, Analysed) in the order of ``paths``; a context manager
    that stops its workers on the way out (after the tracks they are on)."""

    def __init__(self, models: ModelsConfig, workers: int) -> None:
        self.models = models
        self.workers = max(1, workers)
        self._model: QuadrantModel | None = None
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> TrackAnalysts:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def analyse(self, paths: Iterable[str]) -> Iterator[tuple[str, Analysed]]:
        """Each path's analysis, in order. ``paths`` is drawn lazily: the next one only when a
        worker can take it (a scan told to stop draws no more and gets the ones in flight)."""
        if self.workers == 1:
            for path in paths:
                if self._model is None:
                    from moodshuffle.library.music_model import MusicEmotionModel

                    self._model = MusicEmotionModel(Path(self.models.music), self.models.num_threads)
                yield path, analyse_track(path, self._model)
            return
        pending: deque[tuple[str, Future[Analysed]]] = deque()
        for path in paths:
            pending.append((path, self._workers().submit(_work, path)))
            if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                head, done = pending.popleft()
                yield head, done.result()
        while pending:
            head, done = pending.popleft()
            yield head, done.result()

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker,
                                             initargs=(self.models.music, self.models.num_threads))
        return self._pool
