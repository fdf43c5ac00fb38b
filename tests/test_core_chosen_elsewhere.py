"""The controller when its player is a server other clients use too (MPD): a track a person
picks there is respected, shown as chosen elsewhere, and the daemon goes on from it (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from moodshuffle.config import Config, MoodConfig, PlayerConfig
from moodshuffle.core import Controller, PlayEnded, PlayRequested, QueueReordered, TrackStarted
from moodshuffle.domain.history import PlayOutcome
from moodshuffle.report.payloads import state_payload
from tests._tables import random_table
from tests.recorder import Recorder


def running() -> tuple[Controller, Recorder]:
    cfg = Config(mood=MoodConfig(temperature=0.0), player=PlayerConfig(upcoming=5))
    core = Controller(cfg, 0.0, np.random.default_rng(0))
    rec = Recorder()
    core.add_listener(rec)
    core.library_loaded(random_table(40, seed=3))
    core.start()
    core.track_started(core.state.player.track.track_id)
    return core, rec


def test_a_track_chosen_in_another_client_plays_on_and_the_list_goes_on_from_it():
    core, rec = running()
    playing = core.state.player.track
    upcoming = {u.track_id for u in core.state.upcoming}
    chosen = next(t for t in (core._library.table.track(i) for i in range(40))
                  if t.track_id not in upcoming and t.track_id != playing.track_id)
    rec.events.clear()
    core.tick(30.0)
    core.track_changed(chosen.path, 12.0)
    state = core.state
    assert state.player.track == chosen and state.player.chosen_elsewhere
    assert state_payload(state, datetime.now(UTC))["player"]["chosen_elsewhere"] is True
    [ended] = rec.of(PlayEnded)
    assert (ended.track, ended.outcome, ended.heard_s) == (playing, PlayOutcome.SKIPPED, 12.0)
    assert [e.track for e in rec.of(TrackStarted)] == [chosen]
    [reordered] = rec.of(QueueReordered)
    assert reordered.current == chosen and chosen.track_id not in {u.track_id for u in reordered.upcoming}
    assert not rec.of(PlayRequested), "the daemon must not cut what the person chose"


def test_next_in_another_client_is_a_skip_to_the_daemons_own_next_track():
    core, rec = running()
    playing, head = core.state.player.track, core.state.upcoming[0].track
    rec.events.clear()
    core.track_changed(head.path, 3.0)
    assert core.state.player.track == head and not core.state.player.chosen_elsewhere
    assert rec.of(PlayEnded)[0].outcome == PlayOutcome.SKIPPED and rec.of(PlayEnded)[0].track == playing
    assert not rec.of(PlayRequested)


def test_a_track_outside_the_library_plays_on_with_no_track_shown():
    core, rec = running()
    upcoming = core.state.upcoming
    core.track_changed("/somewhere/else.mp3", 5.0)
    assert core.state.player.track is None and core.state.player.chosen_elsewhere
    assert core.state.upcoming == upcoming
    assert not rec.of(PlayRequested)[1:], "only the first track was requested"
