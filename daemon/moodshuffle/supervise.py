"""Keep a stage running, and the one back-off every retry loop uses (stages, camera,
microphone, MQTT): exponential from a first delay up to a cap, with jitter."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

log = logging.getLogger("moodshuffle.supervise")


def backoff_delays(first_s: float = 1.0, max_s: float = 60.0, jitter: float = 0.1) -> Callable[[int], float]:
    """Delay before retry number ``n`` (0-based): exponential from ``first_s`` up to ``max_s``,
    with +-``jitter`` relative randomness so several stages don't retry in lockstep."""

    def delay(n: int) -> float:
        base = min(max_s, first_s * 2 ** min(n, 30))
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
) -> None:
    """Run ``stage()`` forever. When it raises, log the error and start it again after a
    back-off delay; a run that lasted ``healthy_after_s`` resets the back-off. Returns when the
    stage returns normally; cancellation propagates."""
    delay = delay or backoff_delays()
    failures = 0
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await stage()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if loop.time() - started >= healthy_after_s:
                failures = 0
            wait = delay(failures)
            failures += 1
            # the traceback once; a stage that keeps failing the same way gets one line per restart
            log.error("stage %s failed: %s (restart %d in %.1f s)", name, exc, failures, wait,
                      exc_info=failures == 1)
            await asyncio.sleep(wait)
