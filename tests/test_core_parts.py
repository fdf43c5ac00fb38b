"""The controller's parts, each alone (pure logic: no broker, no libVLC, no camera), and the
direction of the house's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from moodshuffle.config import MoodConfig
from moodshuffle.core.events import Event, PauseRequested, PlayEnded, PlayRequested, QueueReordered, StateChanged
from moodshuffle.core.library import LibraryView
from moodshuffle.core.listener import CoreListener
from moodshuffle.core.listening import Listening
from moodshuffle.core.mood import MoodKeeper
from moodshuffle.core.publisher import Publisher, publishes
from moodshuffle.core.queue import Queue, Ranking
from moodshuffle.core.state import (
    LibraryState,
    MoodSource,
    PlaybackState,
    PlayerState,
    ReorderReason,
    StageStatus,
    State,
    VoiceState,
)
from moodshuffle.domain.emotions import INDEX, Emotion
from moodshuffle.domain.history import FeedbackKind, MoodContext, PlayOutcome, is_early_skip
from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.observations import FaceObservation
from moodshuffle.domain.policy import Policy
from moodshuffle.domain.tracks import ScoreParts, Track, UpcomingTrack
from tests._tables import random_table

PACKAGE = Path(__file__).resolve().parents[1] / "daemon" / "moodshuffle"
SAD = MoodContext(Emotion.SAD, -0.6, -0.3, "match")


def track(i: int, duration_s: float = 200.0, path: str | None = None) -> Track:
    return Track(i, path or f"/music/{i}.ogg", f"t{i}", "a", "", duration_s)


def upcoming(*ids: int) -> tuple[UpcomingTrack, ...]:
    return tuple(UpcomingTrack(i, track(i), (0.0, 0.0), (0.1 * i, 0.0), 0.0, ScoreParts()) for i in ids)


def mood(now: float = 0.0) -> MoodState:
    return MoodKeeper(MoodConfig(), now).mood


def ranking(choices: list[tuple[UpcomingTrack, ...]], tracks: int = 10) -> tuple[Ranking, list[tuple]]:
    """A Ranking that hands out ``choices`` in turn and records what it was asked."""
    asked: list[tuple] = []

    def choose(current: int | None, start: tuple[float, float] | None) -> tuple[UpcomingTrack, ...]:
        asked.append((current, start))
        return choices.pop(0) if choices else ()

    return Ranking(choose, mood(), Policy.MATCH, tracks), asked


# ----------------------------------------------------------------------------- mood
def test_a_set_mood_holds_for_its_duration_then_the_sensed_mood_returns():
    keeper = MoodKeeper(MoodConfig(), 0.0)
    previous = keeper.set(Emotion.SAD, 60.0, now=0.0)
    assert previous is not None and previous.label == Emotion.NEUTRAL
    assert keeper.mood.label == Emotion.SAD and keeper.source == MoodSource.SET and keeper.until == 60.0
    assert keeper.update(59.0) is None and keeper.mood.label == Emotion.SAD
    assert keeper.update(60.0) is not None
    assert keeper.mood.label == Emotion.NEUTRAL and keeper.source == MoodSource.SENSED and keeper.until is None


def test_the_mood_keeper_reports_a_label_change_once():
    keeper = MoodKeeper(MoodConfig(), 0.0)
    changes = []
    probs = np.full(7, 0.01, np.float32)
    probs[INDEX["happy"]] = 0.94
    for t in np.arange(0.0, 30.0, 2.0):
        keeper.observe(FaceObservation(probs, 0.9, 120, float(t)))
        if keeper.update(float(t)) is not None:
            changes.append(keeper.mood.label)
    assert changes == [Emotion.HAPPY]


def test_mood_states_compare_by_value_with_their_arrays():
    a, b = mood(5.0), mood(5.0)
    assert a == b and hash(a) == hash(b)
    other = MoodState(a.probs * 0.5, a.valence, a.arousal, a.confidence, a.label, a.faces, a.last_evidence,
                      a.timestamp)
    assert a != other


# ----------------------------------------------------------------------------- queue
def test_the_queue_waits_for_start_then_plays_the_head():
    queue = Queue(enabled=True, volume=70)
    r, asked = ranking([upcoming(1, 2, 3)])
    assert queue.reorder(ReorderReason.LIBRARY, r) == [] and asked == []
    queue.started = True
    events = queue.reorder(ReorderReason.START, r)
    assert [type(e) for e in events] == [QueueReordered, PlayRequested]
    assert events[1] == PlayRequested(track(1)) and queue.playback == PlaybackState.PLAYING
    assert [u.track_id for u in queue.upcoming] == [2, 3] and queue.target == (0.1, 0.0)


def test_an_empty_queue_is_chosen_again_and_goes_idle_when_nothing_is_left():
    queue = Queue(enabled=True, volume=70)
    queue.started = True
    r, asked = ranking([upcoming(1), (), ()])
    queue.reorder(ReorderReason.START, r)
    events = queue.advance(r)  # the head played: nothing upcoming, nothing to choose
    assert asked[-1] == (None, (0.1, 0.0))  # chosen after no track, the journey going on
    assert events[-1] == PlayRequested(None) and queue.playback == PlaybackState.IDLE and queue.current is None
    assert not any(isinstance(e, PlayRequested) for e in queue.advance(r))  # idle already: no second stop


def test_pause_and_resume_only_from_the_matching_state():
    queue = Queue(enabled=True, volume=70)
    queue.started = True
    r, _ = ranking([upcoming(1, 2)])
    assert queue.pause() == []
    queue.reorder(ReorderReason.START, r)
    assert queue.pause() == [PauseRequested(True)] and queue.pause() == []
    assert queue.play(r) == [PauseRequested(False)] and queue.playback == PlaybackState.PLAYING
    assert queue.play(r) == []


def test_a_disabled_player_never_ranks_and_shows_no_volume():
    queue = Queue(enabled=False, volume=70)
    queue.started = True
    r, asked = ranking([upcoming(1)])
    assert queue.reorder(ReorderReason.START, r) == [] and asked == []
    assert queue.state == PlayerState(PlaybackState.DISABLED, None, None)


def test_no_reorder_event_for_an_empty_library():
    queue = Queue(enabled=True, volume=70)
    r, _ = ranking([()], tracks=0)
    assert queue.rank(ReorderReason.LIBRARY, r) == []


def test_volume_is_clamped():
    queue = Queue(enabled=True, volume=70)
    assert queue.set_volume(140)[0].volume == 100 and queue.set_volume(-3)[0].volume == 0


# ----------------------------------------------------------------------------- listening
def test_an_early_skip_is_one_rule_for_the_live_skip_and_the_restored_one():
    table = random_table(20)
    for heard, duration in [(10.0, 200.0), (20.0, 30.0), (40.0, 200.0), (29.0, 0.0)]:
        live = Listening(wall=lambda: 1000.0)
        live.started(track(1, duration), SAD, now=0.0)
        ended = live.end(heard, PlayOutcome.SKIPPED, table, None, Emotion.SAD)
        restored = Listening(wall=lambda: 0.0)
        stored = [live._plays[0]]
        restored.restore(stored, [], table)
        expected = {(1, "sad"): 1} if is_early_skip(heard, duration) else {}
        assert live.history.skips == expected == restored.history.skips
        assert isinstance(ended, PlayEnded) and ended.heard_s == heard
    assert is_early_skip(20.0, 30.0) is False  # past half a short track


def test_one_like_is_one_record_with_the_injected_wall_time():
    table = random_table(20)
    listening = Listening(wall=lambda: 1234.5)
    record = listening.judged(track(3), FeedbackKind.LIKE, SAD, table, 2)
    assert record.at == 1234.5 and listening._feedback == [record]
    assert listening.taste.evidence


def test_a_play_is_timed_by_the_injected_wall_clock():
    listening = Listening(wall=lambda: 99.0)
    listening.started(track(1), SAD, now=5.0)
    assert listening.heard_s(now=17.0) == 12.0
    listening.end(12.0, PlayOutcome.STOPPED, random_table(5), None, Emotion.SAD)
    assert listening._plays[0].started == 99.0 and listening.open is None


# ----------------------------------------------------------------------------- library view
def test_the_library_view_knows_which_tracks_are_in_an_unavailable_folder():
    view = LibraryView()
    view.set_unavailable(("/mnt/nas/music",), 0)
    assert view.in_unavailable(track(1, path="/mnt/nas/music/a/b.ogg"))
    assert not view.in_unavailable(track(2, path="/mnt/nas/music-local/b.ogg"))
    assert view.state == LibraryState(0, False, ("/mnt/nas/music",))
    view.table = random_table(4)
    assert view.row(int(view.table.ids[2])) == 2 and view.row(-5) is None and view.track(-5) is None


# ----------------------------------------------------------------------------- publisher
class _Echo(Publisher):
    def __init__(self) -> None:
        super().__init__()
        self.volume = 0

    @property
    def state(self) -> State:
        m = mood()
        return State(m, Policy.MATCH, StageStatus.OFF, StageStatus.OFF, VoiceState(None, False),
                     PlayerState(PlaybackState.IDLE, self.volume, None), (), LibraryState(0, False))

    @publishes
    def poke(self, event: Event) -> None:
        self._emit(event)

    @publishes
    def set_volume(self, volume: int) -> None:
        self.volume = volume


def test_events_reach_every_listener_in_order_even_past_a_broken_one():
    core = _Echo()
    seen: list[str] = []

    class Broken(CoreListener):
        def pause_requested(self, event: PauseRequested) -> None:
            raise RuntimeError("boom")

    class Calls(CoreListener):
        def state_changed(self, event: StateChanged) -> None:
            seen.append(f"state {event.state.player.volume}")

        def pause_requested(self, event: PauseRequested) -> None:
            seen.append(f"pause {event.paused}")
            if event.paused:
                core.poke(PauseRequested(False))  # a listener calling back: delivered after
                core.set_volume(5)

    core.add_listener(Broken())
    core.add_listener(Calls())
    core.poke(PauseRequested(True))
    # the state of each settle follows the events before it; the call-back's events come after
    assert seen == ["pause True", "state 0", "pause False", "state 5"]


# ----------------------------------------------------------------------------- the house
FLOORS = {  # a package may import its own floor and the floors below it, never one above
    "domain": 0, "paths": 0, "logs": 0,
    "config": 1, "runtime": 1, "tflite_metadata": 1, "supervise": 1, "model_json": 1,
    "library": 2, "perceive": 2, "estimate": 2, "decide": 2,
    "core": 3,
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("moodshuffle."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("moodshuffle.")}
    return found


@pytest.mark.parametrize("floor", sorted(FLOORS, key=FLOORS.get))
def test_no_import_runs_back_up(floor):
    files = [PACKAGE / f"{floor}.py"] if (PACKAGE / f"{floor}.py").exists() else sorted((PACKAGE / floor).rglob("*.py"))
    assert files
    for f in files:
        for imported in _imports(f):
            assert imported in FLOORS and FLOORS[imported] <= FLOORS[floor], (
                f"{f.relative_to(PACKAGE)} imports moodshuffle.{imported}, above its floor")


def test_no_module_of_the_daemon_is_over_350_lines():
    long = {str(f.relative_to(PACKAGE)): n for f in PACKAGE.rglob("*.py")
            if (n := len(f.read_text().splitlines())) > 350}
    assert long == {}


def _module_imports(path: Path, modules: set[str]) -> set[str]:
    """The daemon's modules that ``path`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found & modules


def test_no_module_imports_one_that_imports_it_back():
    """No circle, even through an import inside a function (``act/base.py`` once chose the
    back-end, and both back-ends import it)."""
    names = {f: ".".join(f.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
             for f in PACKAGE.rglob("*.py")}
    graph = {names[f]: _module_imports(f, set(names.values())) - {names[f]} for f in names}
    for start in graph:
        reached, todo = set(), list(graph[start])
        while todo:
            if (module := todo.pop()) not in reached:
                reached.add(module)
                todo.extend(graph[module])
        assert start not in reached, f"{start} imports a module that imports it back"
