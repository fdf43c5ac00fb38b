"""The bridge's incoming queue (aiomqtt's ``queue_type``), bounded in size and in rate per topic.

A flood on the network (5,000 invalid commands a second) once grew the daemon by 180 MB and
delayed the next valid command by minutes: aiomqtt queued every message without limit. Here
each topic has a token bucket (``BURST`` at once, ``RATE_PER_S`` a second after that); a message
beyond it is held as that topic's latest (a command is an instruction for now: under a flood only
the newest counts) and handed on when the topic's next token comes, so a valid command sent just
after a flood is handled within ``1 / RATE_PER_S`` s. What is replaced or finds the queue full is
dropped and counted per topic, and reported with the rejected ones (``report``) at most every
``REPORT_EVERY_S``, never logged one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiomqtt

#: messages queued at most (commands are handled in microseconds; this is a spike, not a backlog)
MAX_QUEUED = 100
#: commands a topic may send at once, and a second after that
BURST = 20
RATE_PER_S = 10.0
#: the reason a dropped command is reported with
DROPPED = f"more than {RATE_PER_S:g} commands a second on this topic: dropped"
#: rejected commands are reported at most this often (a flood is a few lines, not 50,000)
REPORT_EVERY_S = 2.0


class TopicRate:
    """Token buckets per topic (pure; times in seconds of one monotonic clock)."""

    def __init__(self, burst: int = BURST, rate_per_s: float = RATE_PER_S) -> None:
        self.burst = burst
        self.rate = rate_per_s
        self._buckets: dict[str, tuple[float, float]] = {}

    def admit(self, topic: str, now: float) -> bool:
        """Take a token for ``topic`` at ``now``; False when it has none left."""
        tokens, at = self._buckets.get(topic, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[topic] = (tokens, now)
            return False
        self._buckets[topic] = (tokens - 1.0, now)
        return True

    def next_token_in(self, topic: str, now: float) -> float:
        """Seconds from ``now`` until ``topic`` has a token again (0 when it has one)."""
        tokens, at = self._buckets.get(topic, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        return max(0.0, (1.0 - tokens) / self.rate)


def inbox_type(on_drop: Callable[[], None] | None = None) -> tuple[type[asyncio.Queue[aiomqtt.Message]], Inbox]:
    """A queue class for aiomqtt's ``queue_type`` and the ``Inbox`` its queues report to;
    ``on_drop`` is called (on the event loop) when a message is first dropped since ``take_dropped``."""
    inbox = Inbox(on_drop)

    class BoundedQueue(asyncio.Queue[aiomqtt.Message]):
        def __init__(self, maxsize: int = 0) -> None:
            super().__init__(maxsize=maxsize or MAX_QUEUED)
            inbox.queue = self

        def put_nowait(self, item: aiomqtt.Message) -> None:
            inbox.offer(item)

    return BoundedQueue, inbox


class Inbox:
    """What the bounded queue admitted, held and dropped, per topic."""

    def __init__(self, on_drop: Callable[[], None] | None = None) -> None:
        self.rate = TopicRate()
        self.queue: asyncio.Queue[aiomqtt.Message] | None = None
        self._held: dict[str, aiomqtt.Message] = {}
        self._dropped: dict[str, int] = {}
        self._on_drop = on_drop
        #: command topic -> (latest reason, rejected since the last report)
        self._rejected: dict[str, tuple[str, int]] = {}
        self._reported_at = -REPORT_EVERY_S

    def offer(self, item: aiomqtt.Message) -> None:
        """Queue ``item`` if its topic has a token; else hold it as the topic's latest."""
        topic = str(item.topic)
        loop = asyncio.get_running_loop()
        if topic in self._held:  # replaced by a newer one (and handed on in its place, in order)
            self._drop(topic)
        elif self.rate.admit(topic, loop.time()):
            self._enqueue(topic, item)
            return
        else:
            loop.call_later(self.rate.next_token_in(topic, loop.time()), self._release, topic)
        self._held[topic] = item

    def _release(self, topic: str) -> None:
        item = self._held.pop(topic, None)
        if item is None:
            return
        loop = asyncio.get_running_loop()
        if self.rate.admit(topic, loop.time()):
            self._enqueue(topic, item)
        else:  # a token not quite there yet (clock granularity): try again when it is
            self._held[topic] = item
            loop.call_later(max(0.001, self.rate.next_token_in(topic, loop.time())), self._release, topic)

    def _enqueue(self, topic: str, item: aiomqtt.Message) -> None:
        assert self.queue is not None
        if self.queue.full():
            self._drop(topic)
            return
        asyncio.Queue.put_nowait(self.queue, item)

    def _drop(self, topic: str) -> None:
        first = not self._dropped
        self._dropped[topic] = self._dropped.get(topic, 0) + 1
        if first and self._on_drop is not None:
            self._on_drop()

    def reject(self, topic: str, reason: str) -> bool:
        """Count a command the bridge rejected; True for the topic's first since the last report."""
        seen = self._rejected.get(topic)
        self._rejected[topic] = (reason, 1 if seen is None else seen[1] + 1)
        return seen is None

    def report(self, now: float) -> list[tuple[str, str, int]]:
        """(topic, latest reason, count) rejected or dropped since the last report; nothing when the
        last report was less than REPORT_EVERY_S before ``now`` (loop seconds)."""
        if now < self._reported_at + REPORT_EVERY_S:
            return []
        for topic, dropped in self._dropped.items():
            reason, count = self._rejected.get(topic, (DROPPED, 0))
            self._rejected[topic] = (reason, count + dropped)
        self._dropped = {}
        out = [(topic, reason, count) for topic, (reason, count) in self._rejected.items()]
        self._rejected = {}
        if out:
            self._reported_at = now
        return out
