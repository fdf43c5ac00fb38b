"""Keep a stage running, and the one back-off every retry loop uses (stages, camera,
microphone, MQTT): exponential from a first delay up to a cap, with jitter.

An unexpected error is logged and the stage restarted with back-off. A ``ModelError`` (a
missing or corrupt model file) is not a crash: restarting cannot fix it, so it is logged as one
line naming the file and the reason, once per distinct reason, and the stage is tried again only
every ``permanent_retry_s`` (someone may replace the file).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from moodshuffle.runtime import ModelError

log = logging.getLogger("moodshuffle.supervise")

T = TypeVar("T")

#: pause before a stage whose model cannot be loaded is tried again
PERMANENT_RETRY_S = 600.0


def backoff_delays(first_s: float = 1.0, max_s: float = 60.0, jitter: float = 0.1) -> Callable[[int], float]:
    """Delay before retry number ``n`` (0-based): exponential from ``first_s`` up to ``max_s``,
    with +-``jitter`` relative randomness so several stages don't retry in lockstep."""

    def delay(n: int) -> float:
        base = min(max_s, first_s * 2.0 ** min(n, 30))
        return base * (1 + random.uniform(-jitter, jitter))

    return delay


class Backoff:
    """The delays of one retry loop: ``next_delay()`` after each failure, ``reset()`` after a
    success."""

    def __init__(self, first_s: float = 1.0, max_s: float = 60.0, jitter: float = 0.1) -> None:
        self._delay = backoff_delays(first_s, max_s, jitter)
        self.failures = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call counts one more failure."""
        wait = self._delay(self.failures)
        self.failures += 1
        return wait

    def reset(self) -> None:
        self.failures = 0


async def supervise(
    name: str,
    stage: Callable[[], Awaitable[None]],
    delay: Callable[[int], float] | None = None,
    healthy_after_s: float = 60.0,
    permanent_retry_s: float = PERMANENT_RETRY_S,
    on_error: Callable[[str, Exception], None] | None = None,
) -> None:
    """Run ``stage()`` forever. When it raises, log the error and start it again after a
    back-off delay; a run that lasted ``healthy_after_s`` resets the back-off. A ModelError
    waits ``permanent_retry_s`` instead and is logged without a traceback, only when its
    message differs from the last one. ``on_error(name, exc)`` is called on every failure (for
    the error state and event). Returns when the stage returns normally; cancellation
    propagates."""
    delay = delay or backoff_delays()
    failures = 0
    last_model_error = ""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await stage()
            return
        except asyncio.CancelledError:
            raise
        except ModelError as exc:
            if str(exc) != last_model_error:
                last_model_error = str(exc)
                log.error("stage %s cannot run: %s (tried again every %.0f min; replace the file or fix "
                          "models.* in the config)", name, exc, permanent_retry_s / 60)
            _notify(on_error, name, exc)
            await asyncio.sleep(permanent_retry_s)
        except Exception as exc:
            if loop.time() - started >= healthy_after_s:
                failures = 0
            wait = delay(failures)
            failures += 1
            # the traceback once; a stage that keeps failing the same way gets one line per restart
            log.error("stage %s failed: %s (restart %d in %.1f s)", name, exc, failures, wait,
                      exc_info=failures == 1)
            _notify(on_error, name, exc)
            await asyncio.sleep(wait)


def _notify(on_error: Callable[[str, Exception], None] | None, name: str, exc: Exception) -> None:
    if on_error is None:
        return
    try:
        on_error(name, exc)
    except Exception:  # a broken listener must not stop the supervisor
        log.exception("error listener failed for stage %s", name)


async def in_daemon_thread(fn: Callable[..., T], *args: object) -> T:
    """``await fn(*args)`` run in a daemon thread of its own. Unlike ``asyncio.to_thread``, a
    call that never returns (a file on a hung network mount) can be abandoned: cancelling the
    await returns at once, and neither the event loop's shutdown nor the interpreter's exit
    waits for the thread. Use it only for work that is safe to cut off at any point."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(result: T | None, error: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the awaiting task, which re-raises it
            _call_soon(loop, deliver, None, exc)
        else:
            _call_soon(loop, deliver, result, None)

    threading.Thread(target=work, name=getattr(fn, "__name__", "worker"), daemon=True).start()
    return await future


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: object) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for the result any more
        loop.call_soon_threadsafe(callback, *args)
