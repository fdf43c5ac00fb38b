"""When a sample gets the full face search and when a cheap look (pure logic: perceive/room.py,
and the motion measure of perceive/watch.py on small arrays)."""

from __future__ import annotations

import numpy as np

from moodshuffle.perceive.room import (
    DETECT_EVERY,
    EMPTY_BEFORE_WATCH,
    FULL_EVERY,
    MOTION_SHARE,
    PLACE_MOTION_SHARE,
    Glance,
    Look,
    RoomHistory,
    after,
    escalate,
    plan,
)
from moodshuffle.perceive.watch import CHANGE_LEVEL, DIM_CHANGE_LEVEL, glance_motion, place_mask, small_grey

FACE = ((0.4, 0.4, 0.5, 0.55),)


def run_empty(history: RoomHistory, samples: int) -> tuple[RoomHistory, list[Look]]:
    """``samples`` samples of an empty room where no cheap look escalates."""
    looks = []
    for _ in range(samples):
        look = plan(history)
        looks.append(look)
        history = after(history, look, ())
    return history, looks


def test_a_fresh_start_searches_in_full_until_the_room_has_been_empty_a_while():
    _, looks = run_empty(RoomHistory(), EMPTY_BEFORE_WATCH + 2)
    assert looks[:EMPTY_BEFORE_WATCH] == [Look.FULL] * EMPTY_BEFORE_WATCH
    assert looks[EMPTY_BEFORE_WATCH:] == [Look.MOTION, Look.MOTION]


def test_a_face_brings_back_the_full_search_for_the_next_samples():
    history, _ = run_empty(RoomHistory(), 20)
    history = after(history, Look.FULL, FACE)
    assert history.empty_samples == 0 and history.last_faces == FACE
    _, looks = run_empty(history, EMPTY_BEFORE_WATCH + 1)
    assert looks == [Look.FULL] * EMPTY_BEFORE_WATCH + [Look.MOTION]


def test_an_empty_room_still_gets_a_full_search_every_full_every_samples():
    _, looks = run_empty(RoomHistory(), 5 * FULL_EVERY)
    fulls = [i for i, look in enumerate(looks) if look is Look.FULL]
    assert fulls[EMPTY_BEFORE_WATCH:], "no full search after the room went quiet"
    assert max(np.diff(fulls)) <= FULL_EVERY
    assert len(fulls) <= EMPTY_BEFORE_WATCH + 5


def test_one_cheap_look_in_detect_every_runs_the_whole_frame_pass():
    _, looks = run_empty(RoomHistory(), 5 * FULL_EVERY)
    cheap = [look for look in looks[EMPTY_BEFORE_WATCH:] if look is not Look.FULL]
    share = cheap.count(Look.DETECT) / len(cheap)
    assert abs(share - 1 / DETECT_EVERY) < 0.01


def test_anything_the_cheap_look_sees_escalates_and_nothing_else_does():
    assert not escalate(Glance(MOTION_SHARE * 0.9, PLACE_MOTION_SHARE * 0.9, 0))
    assert escalate(Glance(MOTION_SHARE, 0.0, 0))
    assert escalate(Glance(0.0, PLACE_MOTION_SHARE, 0))
    assert escalate(Glance(0.0, 0.0, 1))


def test_the_last_faces_places_outlive_the_samples_without_faces():
    history = after(RoomHistory(), Look.FULL, FACE)
    history, _ = run_empty(history, 50)
    assert history.last_faces == FACE and history.empty_samples == 50


def test_motion_counts_the_share_of_changed_pixels_against_any_recent_frame():
    rng = np.random.default_rng(0)
    room = rng.integers(0, 200, (60, 80), dtype=np.uint8)
    moved = room.copy()
    moved[10:20, 10:20] = room[10:20, 10:20] + CHANGE_LEVEL + 1
    changed = float((moved != room).mean())
    assert glance_motion(room, [room, room], ()).motion == 0.0
    # the change is seen against an older frame even when the last one already shows it
    assert abs(glance_motion(moved, [room, moved], ()).motion - changed) < 1e-9


def test_motion_at_the_last_faces_places_is_measured_inside_them_only():
    room = np.full((60, 80), 100, np.uint8)
    there = room.copy()
    there[27:30, 35:38] = 200  # inside FACE's place (x 0.4-0.5, y 0.4-0.55, widened by half)
    elsewhere = room.copy()
    elsewhere[2:5, 2:5] = 200
    assert glance_motion(there, [room], FACE).place_motion > PLACE_MOTION_SHARE
    assert glance_motion(elsewhere, [room], FACE).place_motion == 0.0
    assert glance_motion(there, [room], ()).place_motion == 0.0


def test_a_frame_of_a_new_size_counts_as_all_changed():
    assert glance_motion(np.zeros((45, 80), np.uint8), [np.zeros((60, 80), np.uint8)], ()).motion == 1.0


def test_place_masks_are_cut_at_the_frame_edges():
    mask = place_mask((60, 80), ((0.9, 0.9, 1.0, 1.0),))
    assert mask is not None and mask[-1, -1] and not mask[0, 0]
    assert place_mask((60, 80), ()) is None


def test_the_small_grey_image_keeps_the_aspect_of_every_frame_layout():
    for frame in (np.zeros((480, 640, 3), np.uint8), np.zeros((480, 640, 4), np.uint8), np.zeros((360, 640), np.uint8)):
        small = small_grey(frame)
        assert small.ndim == 2 and small.shape[1] == 80
        assert abs(small.shape[0] / 80 - frame.shape[0] / frame.shape[1]) < 0.02


def test_a_change_of_light_over_the_whole_room_is_no_motion():
    rng = np.random.default_rng(4)
    room = rng.integers(60, 180, (60, 80), dtype=np.uint8)
    assert glance_motion(room + 30, [room], ()).motion == 0.0


def test_in_a_dim_room_a_change_of_a_few_grey_levels_is_motion():
    room = np.full((60, 80), 10, np.uint8)
    person = room.copy()
    person[20:40, 30:40] = 10 + DIM_CHANGE_LEVEL + 2  # far below CHANGE_LEVEL
    assert glance_motion(person, [room], ()).motion >= MOTION_SHARE
    bright, bright_person = room + 100, person + 100
    assert glance_motion(bright_person, [bright], ()).motion == 0.0
