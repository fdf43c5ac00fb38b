"""The controller alone: pure logic, no broker, no libVLC, no camera (the whole file runs in
well under 2 s). A recording listener stands where the adapters stand in the daemon."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from moodshuffle.config import Config, MoodConfig, PlayerConfig
from moodshuffle.core import (
    Controller,
    CoreListener,
    FeedbackGiven,
    MoodChanged,
    MoodSource,
    PauseRequested,
    PlaybackState,
    PlayEnded,
    PlayerAction,
    PlayRequested,
    QueueReordered,
    ReorderReason,
    RescanRequested,
    Sensor,
    SensorSwitched,
    StageFailed,
    StageStatus,
    StateChanged,
    TrackFailed,
    TrackStarted,
    VolumeChanged,
    deliver,
)
from moodshuffle.core.state import DRIFT_INTERVAL_S, MOOD_EPSILON, MOOD_STEP
from moodshuffle.domain.emotions import INDEX
from moodshuffle.domain.history import EARLY_SKIP_S, FeedbackKind, FeedbackRecord, MoodContext, PlayOutcome, PlayRecord
from moodshuffle.domain.observations import FaceObservation, VoiceObservation
from moodshuffle.domain.policy import Policy
from moodshuffle.report.live import LiveView
from tests._tables import random_table
from tests.recorder import Recorder

CONTEXT = MoodContext("sad", -0.6, -0.3, "match")


def config(**mood) -> Config:
    return Config(mood=MoodConfig(**{"temperature": 0.0, **mood}), player=PlayerConfig(upcoming=5))


def running(table, cfg: Config | None = None, now: float = 0.0) -> tuple[Controller, Recorder]:
    core = Controller(cfg or config(), now, np.random.default_rng(0))
    rec = Recorder()
    core.add_listener(rec)
    core.library_loaded(table)
    core.start()
    return core, rec


def play_head(core: Controller, rec: Recorder) -> int:
    """Act as the player: the track last asked for becomes audible."""
    track = rec.of(PlayRequested)[-1].track
    core.track_started(track.track_id)
    return track.track_id


def face(name: str, t: float, p: float = 0.9) -> FaceObservation:
    probs = np.full(7, (1 - p) / 6, np.float32)
    probs[INDEX[name]] = p
    return FaceObservation(probs, 0.9, 120, t)


def feel(core: Controller, name: str, start: float, seconds: float) -> float:
    t = start
    while t < start + seconds:
        core.observe(face(name, t))
        core.tick(t)
        t += 2.0
    return t


def test_start_plays_the_head_of_the_upcoming_list_and_refills_it(table):
    core, rec = running(table)
    (reorder,) = rec.of(QueueReordered)
    assert reorder.reason == ReorderReason.START and len(reorder.upcoming) == 5
    (request,) = rec.of(PlayRequested)
    assert request.track == reorder.upcoming[0].track
    assert core.state.player.state == PlaybackState.PLAYING and len(core.state.upcoming) == 4
    play_head(core, rec)
    assert rec.of(TrackStarted)[-1].track == request.track
    assert rec.of(QueueReordered)[-1].reason == ReorderReason.TRACK_STARTED
    upcoming = core.state.upcoming
    assert len(upcoming) == 5 and request.track.track_id not in [u.track_id for u in upcoming]
    assert core.history.last(1) == [request.track.track_id]


def test_a_reorder_never_touches_the_current_track(table):
    core, rec = running(table)
    current = play_head(core, rec)
    requests = len(rec.of(PlayRequested))
    core.set_policy(Policy.CALM)
    assert rec.of(QueueReordered)[-1].reason == ReorderReason.POLICY_CHANGED
    assert len(rec.of(PlayRequested)) == requests
    assert core.state.player.track.track_id == current and core.state.policy == Policy.CALM


def test_the_track_after_a_finished_one_is_the_head_of_the_one_upcoming_list(table):
    core, rec = running(table)
    current = play_head(core, rec)
    head = core.state.upcoming[0]
    core.track_finished(current)
    assert rec.of(PlayRequested)[-1].track == head.track
    assert core.state.upcoming[0] != head


def test_uplift_journey_goes_on_from_the_current_tracks_target_across_reorders(table):
    cfg = config(policy="uplift", step=0.2, half_life_s=3.0, hysteresis_hold_s=2.0)
    core = Controller(cfg, 0.0, np.random.default_rng(0))
    rec = Recorder()
    core.add_listener(rec)
    core.library_loaded(table)
    feel(core, "sad", 0.0, 30.0)
    assert core.state.mood.label == "sad"
    core.start()
    targets = [rec.of(QueueReordered)[-1].upcoming[0].target]  # the first track's: where the listener is
    track_id = play_head(core, rec)
    for _ in range(3):
        core.library_loaded(table.without(-1))  # a reorder in mid-track must not lose the journey
        head = core.state.upcoming[0]
        assert 0 < np.linalg.norm(np.subtract(head.target, targets[-1])) <= cfg.mood.step + 1e-6
        core.track_finished(track_id)
        assert rec.of(PlayRequested)[-1].track == head.track
        targets.append(head.target)
        track_id = play_head(core, rec)
    valence = [t[0] for t in targets]
    assert all(b > a for a, b in zip(valence, valence[1:], strict=False)), targets


def test_a_mood_change_is_an_event_and_reorders_the_queue(table):
    core, rec = running(table, config(half_life_s=3.0, hysteresis_hold_s=2.0))
    play_head(core, rec)
    feel(core, "happy", 0.0, 30.0)
    (change,) = rec.of(MoodChanged)
    assert (change.previous, change.current) == ("neutral", "happy")
    reorder = rec.of(QueueReordered)[-1]
    assert reorder.reason == ReorderReason.MOOD_CHANGED and reorder.mood.label == "happy"
    assert np.mean([u.va[0] for u in reorder.upcoming]) > 0.2


def test_next_early_in_a_track_is_a_skip_in_this_mood_and_late_is_not(table):
    core, rec = running(table)
    first = play_head(core, rec)
    core.tick(EARLY_SKIP_S / 3)
    core.player_command(PlayerAction.NEXT)
    second = rec.of(PlayRequested)[-1].track.track_id
    assert second != first
    core.track_stopped(first, EARLY_SKIP_S / 3)
    core.track_started(second)
    core.tick(EARLY_SKIP_S / 3 + EARLY_SKIP_S + 1)
    core.player_command(PlayerAction.NEXT)
    core.track_stopped(second, EARLY_SKIP_S + 1)
    assert core.history.skips == {(first, "neutral"): 1}
    ended = rec.of(PlayEnded)
    assert [(e.track.track_id, e.outcome) for e in ended] == [(first, PlayOutcome.SKIPPED),
                                                             (second, PlayOutcome.SKIPPED)]
    assert [round(e.heard_s) for e in ended] == [round(EARLY_SKIP_S / 3), round(EARLY_SKIP_S + 1)]


def test_a_skip_is_learned_before_the_next_track_is_chosen(table):
    """The track after a skip answers it: the play ends, the list is chosen again, then the
    head is played (not the head chosen when the skipped track started)."""
    core, rec = running(table)
    first = play_head(core, rec)
    core.tick(5.0)
    rec.events.clear()
    core.player_command(PlayerAction.NEXT)
    kinds = [type(e).__name__ for e in rec.events]
    assert kinds.index("PlayEnded") < kinds.index("QueueReordered") < kinds.index("PlayRequested")
    reordered = rec.of(QueueReordered)[-1]
    assert reordered.reason == ReorderReason.SKIPPED
    assert rec.of(PlayRequested)[-1].track.track_id == reordered.upcoming[0].track_id
    assert first not in [u.track_id for u in reordered.upcoming]


def test_a_track_that_fails_leaves_the_table_and_the_queue_together(table):
    core, rec = running(table)
    failed = rec.of(PlayRequested)[-1].track
    core.track_failed(failed.track_id, "no audio stream")
    assert rec.of(TrackFailed)[-1] == TrackFailed(failed, "no audio stream")
    assert core.state.library.tracks == len(table) - 1
    assert failed.track_id not in [u.track_id for u in core.state.upcoming]
    assert rec.of(PlayRequested)[-1].track.track_id != failed.track_id


def test_a_new_table_and_the_upcoming_list_change_together(table):
    core, rec = running(table)
    play_head(core, rec)
    smaller = table.without(int(core.state.upcoming[0].track_id))
    core.library_loaded(smaller)
    assert rec.of(QueueReordered)[-1].reason == ReorderReason.LIBRARY
    assert {u.track_id for u in core.state.upcoming} <= set(smaller.ids.tolist())
    assert core.state.library.tracks == len(smaller)


def test_an_empty_library_idles_until_a_scan_brings_tracks(table):
    core = Controller(config(), 0.0, np.random.default_rng(0))
    rec = Recorder()
    core.add_listener(rec)
    core.start()
    assert not rec.of(PlayRequested) and core.state.player.state == PlaybackState.IDLE
    core.scan_started()
    assert core.state.library.scanning
    core.scan_finished(None)  # a failed scan changes no table
    assert not rec.of(PlayRequested) and not core.state.library.scanning
    core.scan_finished(table)
    assert rec.of(PlayRequested) and core.state.player.state == PlaybackState.PLAYING


def test_commands_become_requests_to_the_adapters(table):
    core, rec = running(table)
    play_head(core, rec)
    core.set_sensor(Sensor.CAMERA, False)
    core.set_volume(150)
    core.rescan()
    core.player_command(PlayerAction.PAUSE)
    paused = core.state.player.state
    core.player_command(PlayerAction.PLAY)
    assert rec.of(SensorSwitched) == [SensorSwitched(Sensor.CAMERA, False)] and not core.sensor_wanted(Sensor.CAMERA)
    assert rec.of(VolumeChanged) == [VolumeChanged(100)] and core.state.player.volume == 100
    assert len(rec.of(RescanRequested)) == 1
    assert rec.of(PauseRequested) == [PauseRequested(True), PauseRequested(False)]
    assert paused == PlaybackState.PAUSED and core.state.player.state == PlaybackState.PLAYING


def test_a_disabled_player_gets_no_queue_and_no_requests(table):
    cfg = dataclasses.replace(config(), player=PlayerConfig(enabled=False))
    core, rec = running(table, cfg)
    core.player_command(PlayerAction.PLAY)
    assert not rec.of(PlayRequested) and not rec.of(QueueReordered)
    assert core.state.player.state == PlaybackState.DISABLED and core.state.player.volume is None


def test_sensor_status_and_voice_show_in_the_state(table):
    core, _ = running(table)
    assert core.state.camera == StageStatus.UNAVAILABLE  # enabled, not yet reported
    core.sensor_status(Sensor.CAMERA, StageStatus.ON)
    core.observe(VoiceObservation(0.7, None, 0.8, 2.0, 10.0))
    core.tick(11.0)
    assert core.state.camera == StageStatus.ON
    assert core.state.voice.arousal == pytest.approx(0.7) and core.state.voice.speech_recent
    core.tick(45.0)
    assert not core.state.voice.speech_recent


def test_a_slowly_decaying_mood_is_published_once_it_adds_up(table):
    core, rec = running(table, config(half_life_s=20.0))
    t = feel(core, "happy", 0.0, 40.0)
    published = len(rec.of(StateChanged))
    for step in range(1, 600):  # nobody seen: every 0.1 s tick moves the mood far less than MOOD_EPSILON
        core.tick(t + 0.1 * step)
    states = [e.state for e in rec.of(StateChanged)[published:]]
    assert len(states) >= 3
    for a, b in zip(states, states[1:], strict=False):
        moved = max(abs(a.mood.valence - b.mood.valence), abs(a.mood.confidence - b.mood.confidence),
                    abs(a.mood.arousal - b.mood.arousal))
        # a step is news at once; a drift waits for the interval
        assert moved > MOOD_STEP or (moved > MOOD_EPSILON and b.mood.timestamp - a.mood.timestamp >= DRIFT_INTERVAL_S)


def test_a_still_face_is_not_republished_every_second_and_a_new_mood_is_at_once(table):
    core, rec = running(table)
    core.sensor_status(Sensor.CAMERA, StageStatus.ON)
    t = 0.0
    for t in np.arange(0.0, 60.0, 1.0):  # the mood loop's 1 s ticks, a camera frame every 2 s
        if t % 2 == 0:
            core.observe(face("neutral", float(t)))
        core.tick(float(t))
    published = len(rec.of(StateChanged))
    for t in np.arange(60.0, 120.0, 1.0):  # a still face for a minute
        if t % 2 == 0:
            core.observe(face("neutral", float(t)))
        core.tick(float(t))
    still = len(rec.of(StateChanged)) - published
    assert still <= 6  # at most one drift every DRIFT_INTERVAL_S (was one message a second)
    changed_at = None
    for t in np.arange(120.0, 160.0, 1.0):
        if t % 2 == 0:
            core.observe(face("happy", float(t)))
        core.tick(float(t))
        if changed_at is None and rec.of(MoodChanged):
            changed_at = float(t)
    assert changed_at is not None
    assert rec.of(StateChanged)[-1].state.mood.label == "happy"
    label_published = next(e.state.mood.timestamp for e in rec.of(StateChanged) if e.state.mood.label == "happy")
    assert label_published == changed_at  # the change is in the state of the same tick


def test_nothing_new_publishes_nothing(table):
    core, rec = running(table)
    core.tick(0.0)
    published = len(rec.of(StateChanged))
    core.tick(0.0)
    core.set_policy(Policy.MATCH)  # the policy it already has
    assert len(rec.of(StateChanged)) == published


def test_a_listener_that_calls_back_or_raises_does_not_reorder_events(table):
    core = Controller(config(), 0.0, np.random.default_rng(0))

    class InstantPlayer(CoreListener):
        def play_requested(self, event: PlayRequested) -> None:
            core.track_started(event.track.track_id)

    class Broken(CoreListener):
        def queue_reordered(self, event: QueueReordered) -> None:
            raise RuntimeError("bug in an adapter")

    rec = Recorder()
    for listener in (InstantPlayer(), Broken(), rec):
        core.add_listener(listener)
    core.library_loaded(table)
    core.start()
    kinds = [type(e).__name__ for e in rec.events if not isinstance(e, StateChanged)]
    assert kinds == ["QueueReordered", "PlayRequested", "TrackStarted", "QueueReordered"]


def test_the_live_view_shows_mood_current_track_and_why_the_next_ones(table):
    core, rec = running(table)
    current = rec.of(PlayRequested)[-1].track
    play_head(core, rec)
    lines = []
    core.add_listener(LiveView(lines.append))
    core.set_policy(Policy.UPLIFT)
    (text,) = lines
    head, playing, *upcoming = text.split("\n")
    assert "[policy_changed] mood neutral" in head and "policy uplift" in head
    assert playing.endswith(current.name)
    assert len(upcoming) == 3 and all("similarity" in line and "transition" in line for line in upcoming)
    assert core.state.upcoming[0].track.name in upcoming[0]


def test_every_event_reaches_its_own_listener_method():
    table = random_table(3)
    track = table.track(0)
    core = Controller(config(), 0.0)
    state = core.state
    events = [StateChanged(state), MoodChanged("sad", "happy", 0.5),
              QueueReordered(ReorderReason.START, Policy.MATCH, (), state.mood, None), TrackStarted(track),
              PlayEnded(track, CONTEXT, 3.0, PlayOutcome.SKIPPED), FeedbackGiven(track, FeedbackKind.LIKE, CONTEXT),
              TrackFailed(track, "x"), PlayRequested(track), PauseRequested(True), VolumeChanged(3),
              SensorSwitched(Sensor.MICROPHONE, True), RescanRequested(), StageFailed("camera", "x")]
    names = []

    class Names(CoreListener):
        def __getattribute__(self, name: str):
            if not name.startswith("_"):
                names.append(name)
            return object.__getattribute__(self, name)

    for event in events:
        deliver(Names(), event)
    assert names == [n for n in vars(CoreListener) if not n.startswith("_")]


def test_faces_are_zero_and_a_decaying_mood_is_still_published_while_the_camera_is_unavailable(table):
    core, rec = running(table, config(half_life_s=20.0))
    core.sensor_status(Sensor.CAMERA, StageStatus.ON)
    t = feel(core, "happy", 0.0, 40.0)
    assert core.state.mood.faces == 1
    core.sensor_status(Sensor.CAMERA, StageStatus.UNAVAILABLE)
    published = len(rec.of(StateChanged))
    assert rec.of(StateChanged)[-1].state.mood.faces == 0
    for step in range(1, 60):  # the mood loop's 1 s ticks, nobody seen
        core.tick(t + step)
    states = [e.state for e in rec.of(StateChanged)[published:]]
    assert len(states) >= 3 and all(s.mood.faces == 0 for s in states)
    assert states[-1].mood.confidence < states[0].mood.confidence - 2 * MOOD_EPSILON


def test_an_unavailable_folder_changes_the_table_and_the_upcoming_list_together(table):
    core, rec = running(table)
    playing = core.state.player.track
    folder = playing.path.rsplit("/", 1)[0]
    core.library_loaded(table.without_under([folder]), (folder,))
    state = core.state
    assert state.library.unavailable == (folder,)
    assert state.library.tracks == len(table.without_under([folder])) < len(table)
    # the track whose folder went away is not played on, not failed; the next comes from elsewhere
    assert state.player.track is not None and not state.player.track.path.startswith(folder + "/")
    assert state.upcoming and not any(u.track.path.startswith(folder + "/") for u in state.upcoming)
    assert rec.of(TrackFailed) == []
    # every folder gone: nothing to play, the player is told to stop, no failure
    core.library_loaded(table.without_under(["/"]), ("/",))
    assert core.state.player.state == PlaybackState.IDLE and core.state.upcoming == ()
    assert rec.of(PlayRequested)[-1] == PlayRequested(None) and rec.of(TrackFailed) == []
    core.scan_finished(table, ())
    assert core.state.player.state == PlaybackState.PLAYING and core.state.library.unavailable == ()


def test_a_failed_stage_is_an_event_and_in_the_state_until_it_recovers(table):
    core, rec = running(table)
    core.stage_failed("camera", "models/face_detector.tflite: not a valid Flatbuffer")
    core.stage_failed("library", "models/music_emotion.tflite: empty model file")
    assert [e.stage for e in rec.of(StageFailed)] == ["camera", "library"]
    assert dict(rec.of(StateChanged)[-1].state.errors) == {
        "camera": "models/face_detector.tflite: not a valid Flatbuffer",
        "library": "models/music_emotion.tflite: empty model file"}
    core.sensor_status(Sensor.CAMERA, StageStatus.ON)
    core.scan_finished(None)  # a scan that failed again: still an error
    assert [stage for stage, _ in core.state.errors] == ["library"]
    core.scan_finished(table)
    assert core.state.errors == ()


# ----------------------------------------------------------------- the listener: history, feedback, set mood
def test_every_play_ends_once_with_how_it_ended_and_the_mood_it_started_in(table):
    core, rec = running(table)
    first = play_head(core, rec)
    core.tick(4.0)
    core.player_command(PlayerAction.NEXT)  # timed by the controller's clock: 4 s
    core.track_stopped(first, 4.2)  # the player's later report of the same play changes nothing
    second = play_head(core, rec)
    core.track_finished(second)
    third = play_head(core, rec)
    core.track_failed(third, "gone")
    fourth = play_head(core, rec)
    core.player_command(PlayerAction.PLAY)  # nothing to do: still playing
    core.track_stopped(fourth, 12.0)  # replaced without a `next`: stopped, not skipped
    core.track_stopped(fourth, 13.0)  # a second report of the same play changes nothing
    ended = [(e.track.track_id, e.outcome, e.heard_s) for e in rec.of(PlayEnded)]
    duration = float(table.duration_s[np.flatnonzero(table.ids == second)[0]])
    assert ended == [(first, PlayOutcome.SKIPPED, 4.0), (second, PlayOutcome.COMPLETED, duration),
                     (third, PlayOutcome.FAILED, 0.0), (fourth, PlayOutcome.STOPPED, 12.0)]
    assert {(e.context.label, e.context.policy) for e in rec.of(PlayEnded)} == {("neutral", "match")}
    assert rec.of(TrackStarted)[0].context == rec.of(PlayEnded)[0].context


def test_a_dislike_teaches_the_taste_shows_as_a_score_part_and_reorders(table):
    core, rec = running(table)
    assert core.state.upcoming[0].parts.taste is None  # nothing learned: ranked as without a learner
    track = rec.of(PlayRequested)[-1].track
    assert core.feedback(FeedbackKind.DISLIKE) is True  # requested, not yet audible: still "now playing"
    given = rec.of(FeedbackGiven)[-1]
    assert (given.track, given.kind, given.context.label) == (track, FeedbackKind.DISLIKE, "neutral")
    assert rec.of(QueueReordered)[-1].reason == ReorderReason.FEEDBACK
    assert all(u.parts.taste is not None for u in core.state.upcoming)
    row = int(np.flatnonzero(table.ids == track.track_id)[0])
    neutral = core.taste.predicted_reward(table, "neutral")[row]
    assert neutral < 0
    assert abs(core.taste.predicted_reward(table, "happy")[row]) < abs(neutral)  # a weaker prior elsewhere


def test_feedback_with_nothing_playing_is_refused():
    core = Controller(config(), 0.0, np.random.default_rng(0))
    rec = Recorder()
    core.add_listener(rec)
    core.start()
    assert core.feedback(FeedbackKind.LIKE) is False
    assert not rec.of(FeedbackGiven)


def test_a_set_mood_overrides_the_sensed_one_until_its_time_runs_out(table):
    core, rec = running(table)
    core.tick(1.0)
    core.set_mood("sad", duration_s=60.0)
    state = core.state
    assert (state.mood.label, state.mood_source, state.mood_until) == ("sad", MoodSource.SET, 61.0)
    assert rec.of(MoodChanged)[-1].current == "sad"
    assert np.mean([u.va[0] for u in state.upcoming]) < -0.2  # the queue follows the set mood
    feel(core, "happy", 2.0, 30.0)  # a happy room does not move a set mood
    assert core.state.mood.label == "sad"
    core.tick(61.0)
    assert (core.state.mood.label, core.state.mood_source, core.state.mood_until) == ("happy", MoodSource.SENSED,
                                                                                     None)
    core.set_mood("angry")
    core.tick(10_000.0)
    assert core.state.mood.label == "angry"  # no duration: until `auto`
    core.set_mood(None)
    assert core.state.mood_source == MoodSource.SENSED
    with pytest.raises(ValueError, match="mood: must be one of"):
        core.set_mood("elated")


def test_the_stored_history_restores_the_no_repeat_window_skips_and_taste(table):
    core, rec = running(table)
    played = []
    for _ in range(5):
        played.append(play_head(core, rec))
        core.player_command(PlayerAction.NEXT)
        core.track_stopped(played[-1], 3.0)
    core.feedback(FeedbackKind.DISLIKE)
    disliked = rec.of(FeedbackGiven)[-1].track.track_id
    plays = [PlayRecord(i, e.track.track_id, e.track.path, float(i), float(e.track.duration_s), e.context,
                        e.heard_s, e.outcome) for i, e in enumerate(rec.of(PlayEnded))]
    feedback = [FeedbackRecord(e.track.track_id, e.track.path, 9.0, e.kind, e.context) for e in rec.of(FeedbackGiven)]

    restarted = Controller(config(), 0.0, np.random.default_rng(0))
    restarted.history_loaded(plays, feedback)
    restarted.library_loaded(table)
    restarted.start()
    assert restarted.history.last(5) == played
    assert restarted.history.skips == core.history.skips
    assert restarted.taste.same_as(core.taste)
    row = int(np.flatnonzero(table.ids == disliked)[0])
    assert restarted.taste.predicted_reward(table, "neutral")[row] < 0
    assert not {u.track_id for u in restarted.state.upcoming} & set(played)


def test_a_sensor_disabled_in_the_config_refuses_to_switch_on_and_says_why(table):
    from moodshuffle.config import MicrophoneConfig
    from moodshuffle.report.commands import CommandError, run_command

    core = Controller(Config(microphone=MicrophoneConfig(enabled=False)), 0.0, np.random.default_rng(0))
    rec = Recorder()
    core.add_listener(rec)
    assert core.set_sensor(Sensor.MICROPHONE, True) is False and not rec.of(SensorSwitched)
    with pytest.raises(CommandError, match="microphone is disabled in the configuration"):
        run_command("microphone/set", b"ON", core)
    assert core.state.microphone == StageStatus.OFF
    run_command("microphone/set", b"OFF", core)  # switching off what is off is no error
    run_command("camera/set", b"OFF", core)
    assert [e.sensor for e in rec.of(SensorSwitched)] == [Sensor.MICROPHONE, Sensor.CAMERA]
