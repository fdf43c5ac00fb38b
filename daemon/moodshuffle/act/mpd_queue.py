"""The upcoming part of an MPD queue brought to what the daemon wants (pure).

MPD's queue is shared with every other client: the daemon owns only the songs it added after
the song playing. ``plan`` returns the fewest deletes, moves and adds that make the part after
the current song read: the songs a person put there (kept, in their order, first), then the
daemon's wanted URIs. The current song and everything before it are never touched.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Song:
    """One entry of MPD's queue: its song id (stable while it is queued) and URI."""

    songid: int
    uri: str


@dataclass(frozen=True)
class Delete:
    songid: int


@dataclass(frozen=True)
class Move:
    """Move the song to absolute queue position ``position`` (MPD's ``moveid``)."""

    songid: int
    position: int


@dataclass(frozen=True)
class Add:
    """Insert ``uri`` at absolute queue position ``position`` (MPD's ``addid``)."""

    uri: str
    position: int


Operation = Delete | Move | Add


def _longest_increasing(values: list[int]) -> set[int]:
    """Indexes (into ``values``) of one longest strictly increasing subsequence."""
    tails: list[int] = []
    tail_at: list[int] = []
    previous = [-1] * len(values)
    for i, v in enumerate(values):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_at.append(i)
        else:
            tails[k], tail_at[k] = v, i
        previous[i] = tail_at[k - 1] if k else -1
    keep: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        keep.add(i)
        i = previous[i]
    return keep


def plan(queue: list[Song], current: int | None, ours: set[int], wanted: list[str]) -> list[Operation]:
    """The operations, in order, that turn ``queue`` (MPD's whole queue) into: its songs up to
    ``current`` (the position playing; None: none, the whole queue is upcoming) unchanged, then
    the songs after it that are not ``ours`` (song ids the daemon added), then ``wanted``."""
    start = 0 if current is None else current + 1
    tail = queue[start:]
    theirs = [s for s in tail if s.songid not in ours]
    # each wanted URI takes the first song of ours with that URI still unclaimed
    free: dict[str, list[Song]] = {}
    for song in tail:
        if song.songid in ours:
            free.setdefault(song.uri, []).append(song)
    desired: list[Song | str] = [*theirs]
    for uri in wanted:
        candidates = free.get(uri)
        desired.append(candidates.pop(0) if candidates else uri)
    claimed = {s.songid for s in desired if isinstance(s, Song)}
    ops: list[Operation] = [Delete(s.songid) for s in tail if s.songid not in claimed]
    slot = {s.songid: k for k, s in enumerate(desired) if isinstance(s, Song)}
    # the tail after the deletes, as desired slots; a longest run already in order stays put
    now = [slot[s.songid] for s in tail if s.songid in claimed]
    settled = {now[i] for i in _longest_increasing(now)}
    for k, item in enumerate(desired):
        if k in settled:
            continue
        if k in now:
            now.remove(k)
        # right after the settled slot that comes before it
        at = 1 + max((i for i, j in enumerate(now) if j in settled and j < k), default=-1)
        now.insert(at, k)
        settled.add(k)
        ops.append(Move(item.songid, start + at) if isinstance(item, Song) else Add(item, start + at))
    return ops


#: songs the daemon added that stay in MPD's queue after they played (clients show them as history)
KEEP_PLAYED = 20


def trim_played(queue: list[Song], current: int | None, ours: set[int], keep: int = KEEP_PLAYED) -> list[Delete]:
    """Deletes for the songs of ``ours`` before ``current`` but the last ``keep`` of them, oldest
    first: without them a daemon playing for months fills MPD's queue (``max_playlist_length``,
    16,384 songs by default) and MPD refuses every add. A person's songs are never deleted."""
    if current is None:
        return []
    played = [s for s in queue[:current] if s.songid in ours]
    return [Delete(s.songid) for s in played[: max(0, len(played) - keep)]]


def status_int(status: dict[str, str], key: str) -> int | None:
    """A number of MPD's status, None when absent (Mopidy may send ``song: None``)."""
    value = str(status.get(key, ""))
    return int(value) if value.lstrip("-").isdigit() else None
