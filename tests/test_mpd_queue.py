"""The plan that brings the upcoming part of MPD's queue to the daemon's list (pure): applied to a
simulated MPD queue it gives exactly the wanted tail, never touches the current song or what is
before it, keeps a person's songs, and uses few operations."""

from __future__ import annotations

import random

from moodshuffle.act.mpd_queue import KEEP_PLAYED, Add, Delete, Move, Song, plan, status_int, trim_played


def apply(queue: list[Song], ops, next_id: int = 1000) -> list[Song]:
    """MPD's semantics of deleteid, moveid (to an absolute position) and addid (at a position)."""
    out = list(queue)
    for op in ops:
        if isinstance(op, Delete):
            out = [s for s in out if s.songid != op.songid]
        elif isinstance(op, Move):
            song = next(s for s in out if s.songid == op.songid)
            out.remove(song)
            out.insert(op.position, song)
        else:
            assert 0 <= op.position <= len(out)
            out.insert(op.position, Song(next_id, op.uri))
            next_id += 1
    return out


def songs(*uris: str, first: int = 1) -> list[Song]:
    return [Song(first + i, u) for i, u in enumerate(uris)]


def test_an_empty_queue_gets_the_wanted_tracks_in_order():
    ops = plan([], None, set(), ["a", "b"])
    assert ops == [Add("a", 0), Add("b", 1)]
    assert [s.uri for s in apply([], ops)] == ["a", "b"]


def test_the_playing_song_and_those_before_it_are_never_touched():
    queue = songs("old", "cur", "a", "b", "c")
    ops = plan(queue, 1, {1, 2, 3, 4, 5}, ["c", "x"])
    after = apply(queue, ops)
    assert after[:2] == queue[:2]
    assert [s.uri for s in after[2:]] == ["c", "x"]
    assert all(getattr(op, "position", 2) >= 2 for op in ops)
    assert all(getattr(op, "songid", 0) not in (1, 2) for op in ops)


def test_a_dropped_head_is_one_delete_not_a_run_of_moves():
    queue = songs("cur", "a", "b", "c", "d")
    ops = plan(queue, 0, {2, 3, 4, 5}, ["b", "c", "d"])
    assert ops == [Delete(2)]


def test_a_track_moved_to_the_end_is_one_move():
    queue = songs("cur", "a", "b", "c", "d")
    ops = plan(queue, 0, {2, 3, 4, 5}, ["b", "c", "d", "a"])
    assert ops == [Move(2, 4)]


def test_the_songs_a_person_added_stay_first_in_their_order():
    queue = songs("cur", "ours1", "theirs1", "ours2", "theirs2")
    ops = plan(queue, 0, {2, 4}, ["ours2", "new"])
    assert [s.uri for s in apply(queue, ops)] == ["cur", "theirs1", "theirs2", "ours2", "new"]


def test_the_same_uri_wanted_twice_is_queued_twice():
    queue = songs("cur", "a")
    assert [s.uri for s in apply(queue, plan(queue, 0, {2}, ["a", "a"]))] == ["cur", "a", "a"]


def test_random_queues_always_end_as_wanted_with_at_most_one_operation_per_song():
    rng = random.Random(7)
    for _ in range(500):
        uris = [f"t{i}" for i in range(12)]
        queue = songs(*rng.sample(uris, rng.randint(0, 10)))
        current = rng.randint(0, len(queue) - 1) if queue and rng.random() < 0.8 else None
        ours = {s.songid for s in queue if rng.random() < 0.8}
        wanted = rng.sample(uris, rng.randint(0, 8))
        ops = plan(queue, current, ours, wanted)
        after = apply(queue, ops)
        start = 0 if current is None else current + 1
        assert after[:start] == queue[:start]
        theirs = [s for s in queue[start:] if s.songid not in ours]
        assert after[start:start + len(theirs)] == theirs
        assert [s.uri for s in after[start + len(theirs):]] == wanted
        assert len(ops) <= len(queue) - start + len(wanted)


def test_played_songs_of_the_daemon_beyond_the_last_ones_are_trimmed_and_a_persons_never():
    # 30 played songs of the daemon's, a person's song among them, then the current one and the upcoming
    played = songs(*[f"d{i}.mp3" for i in range(30)])
    person = Song(500, "mine.mp3")
    queue = [*played[:10], person, *played[10:], Song(600, "now.mp3"), Song(601, "next.mp3")]
    ours = {s.songid for s in played} | {600, 601}
    current = queue.index(Song(600, "now.mp3"))
    after = apply(queue, trim_played(queue, current, ours))
    assert [s.songid for s in after] == [500, *[s.songid for s in played[-KEEP_PLAYED:]], 600, 601]
    # nothing to trim with few played songs, with no current song, or a person's songs only
    assert trim_played(queue[-5:], 3, ours) == []
    assert trim_played(queue, None, ours) == []
    assert trim_played(queue, current, {600, 601}) == []


def test_status_numbers_absent_or_none_read_as_none():
    assert status_int({"song": "4"}, "song") == 4
    assert status_int({"song": "None"}, "song") is None and status_int({}, "song") is None
