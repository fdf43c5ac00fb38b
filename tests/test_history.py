"""The listening history on a real SQLite index file: restarts, pruning, crash safety."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from moodshuffle.core.listening import Listening
from moodshuffle.domain.history import FeedbackKind, MoodContext, PlayOutcome
from moodshuffle.domain.tracks import TrackTable
from moodshuffle.library.history import ListeningHistory
from moodshuffle.library.index import SCHEMA_VERSION, connect

SAD = MoodContext("sad", -0.6, -0.3, "match")
HAPPY = MoodContext("happy", 0.7, 0.4, "uplift")
DAY = 86400.0


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_plays_and_feedback_survive_a_reopen(tmp_path):
    path = tmp_path / "index.sqlite3"
    clock = Clock(1_000_000.0)
    history = ListeningHistory(path, 180, clock)
    first = history.play_started(11, "/m/a.ogg", 200.0, SAD)
    clock.t += 12
    history.play_ended(first, 12.0, PlayOutcome.SKIPPED)
    second = history.play_started(12, "/m/b.ogg", 180.0, HAPPY)
    clock.t += 180
    history.play_ended(second, 180.0, PlayOutcome.COMPLETED)
    history.feedback(12, "/m/b.ogg", FeedbackKind.LIKE, HAPPY)
    history.play_started(13, "/m/c.ogg", 240.0, HAPPY)  # still playing when the daemon stops
    history.close()

    again = ListeningHistory(path, 180, clock)
    assert again.recent_track_ids() == [11, 12, 13]
    assert again.recent_track_ids(2) == [12, 13]
    plays = again.plays()
    assert [(p.track_id, p.outcome, p.heard_s) for p in plays] == [
        (11, PlayOutcome.SKIPPED, 12.0), (12, PlayOutcome.COMPLETED, 180.0), (13, None, None)]
    assert plays[0].context == SAD and plays[1].context == HAPPY and plays[0].duration_s == 200.0
    (fb,) = again.feedback_records()
    assert (fb.track_id, fb.kind, fb.context) == (12, FeedbackKind.LIKE, HAPPY)
    listening = Listening(wall=clock)
    listening.restore(plays, again.feedback_records(), TrackTable.empty())
    assert listening.history.skips == {(11, "sad"): 1}  # 12 s of 200: early


def test_restored_play_history_blocks_the_tracks_heard_before_the_restart(tmp_path):
    history = ListeningHistory(tmp_path / "index.sqlite3", 180)
    for tid in (5, 6, 7):
        history.play_ended(history.play_started(tid, f"/m/{tid}.ogg", 30.0, SAD), 3.0, PlayOutcome.SKIPPED)
    history.close()
    history = ListeningHistory(tmp_path / "index.sqlite3", 180)
    listening = Listening(wall=time.time)
    listening.restore(history.plays(), history.feedback_records(), TrackTable.empty())
    restored = listening.history
    assert restored.last(2) == [6, 7]
    assert restored.skips == {(5, "sad"): 1, (6, "sad"): 1, (7, "sad"): 1}


def test_the_first_end_of_a_play_is_kept(tmp_path):
    history = ListeningHistory(tmp_path / "index.sqlite3", 180)
    play = history.play_started(1, "/m/a.ogg", 100.0, SAD)
    history.play_ended(play, 8.0, PlayOutcome.SKIPPED)
    history.play_ended(play, 8.5, PlayOutcome.STOPPED)
    assert (history.plays()[0].outcome, history.plays()[0].heard_s) == (PlayOutcome.SKIPPED, 8.0)


def test_rows_older_than_the_retention_are_pruned_at_open_and_on_demand(tmp_path):
    path = tmp_path / "index.sqlite3"
    clock = Clock(400 * DAY)
    history = ListeningHistory(path, 30, clock)
    history.play_started(1, "/m/old.ogg", 100.0, SAD, at=clock.t - 40 * DAY)
    history.feedback(1, "/m/old.ogg", FeedbackKind.DISLIKE, SAD, at=clock.t - 31 * DAY)
    history.play_started(2, "/m/new.ogg", 100.0, SAD, at=clock.t - 29 * DAY)
    history.feedback(2, "/m/new.ogg", FeedbackKind.LIKE, SAD, at=clock.t - 1 * DAY)
    assert history.prune() == 2
    assert history.recent_track_ids() == [2]
    assert [f.track_id for f in history.feedback_records()] == [2]
    history.close()
    clock.t += 2 * DAY  # the play of track 2 is now 31 days old
    reopened = ListeningHistory(path, 30, clock)
    assert reopened.recent_track_ids() == []
    assert [f.track_id for f in reopened.feedback_records()] == [2]


def test_a_retention_of_zero_days_is_refused(tmp_path):
    with pytest.raises(ValueError, match="library.history_days"):
        ListeningHistory(tmp_path / "index.sqlite3", 0)


def test_an_index_from_before_the_history_gains_it_and_keeps_its_tracks(tmp_path):
    path = tmp_path / "index.sqlite3"
    db = connect(path)
    db.execute("INSERT INTO tracks (path, size, mtime_ns) VALUES ('/m/a.ogg', 1, 1)")
    db.execute("DROP TABLE plays")
    db.execute("DROP TABLE feedback")
    db.execute("ALTER TABLE tracks DROP COLUMN genre")
    db.execute("ALTER TABLE tracks DROP COLUMN model")
    db.execute("PRAGMA user_version=2")  # the last schema before the history (v3)
    db.close()
    history = ListeningHistory(path, 180)
    history.play_started(1, "/m/a.ogg", 30.0, SAD)
    assert history.recent_track_ids() == [1]
    db = connect(path)
    assert db.execute("SELECT path FROM tracks").fetchall() == [("/m/a.ogg",)]
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.real
def test_kill_9_loses_at_most_the_event_being_written(tmp_path):
    """A writer process reports each event after it returns; after SIGKILL every reported
    event is in the file."""
    path = tmp_path / "index.sqlite3"
    script = textwrap.dedent(f"""
        import sys
        from moodshuffle.library.history import ListeningHistory
        from moodshuffle.domain.history import MoodContext, PlayOutcome
        h = ListeningHistory({str(path)!r}, 180)
        ctx = MoodContext("sad", -0.5, -0.2, "match")
        i = 0
        while True:
            play = h.play_started(i, f"/m/{{i}}.ogg", 30.0, ctx)
            h.play_ended(play, 5.0, PlayOutcome.SKIPPED)
            print(i, flush=True)
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    reported = []
    try:
        for line in proc.stdout:
            reported.append(int(line))
            if len(reported) >= 20:
                proc.kill()
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert len(reported) >= 20, "the writer died before writing 20 events"
    plays = ListeningHistory(path, 180).plays()
    ended = [p.track_id for p in plays if p.outcome == PlayOutcome.SKIPPED]
    assert ended[: len(reported)] == reported
    assert len(plays) - len(ended) <= 1  # at most the play whose end was being written


def test_pruning_waits_for_a_clock_it_can_trust():
    """The rule: a clock before the newest record, or far past it, prunes nothing until NTP
    confirms it; a confirmed clock prunes by the retention."""
    from moodshuffle.domain.history import MAX_CLOCK_LEAP_S, prune_cutoff

    newest = 1000 * DAY
    assert prune_cutoff(newest + DAY, 180, newest, synchronized=False) == newest + DAY - 180 * DAY
    assert prune_cutoff(newest + 200 * DAY, 180, newest, synchronized=False) is None
    assert prune_cutoff(newest - DAY, 180, newest, synchronized=False) is None
    assert prune_cutoff(newest + MAX_CLOCK_LEAP_S, 180, newest, synchronized=False) is not None
    assert prune_cutoff(newest + 200 * DAY, 180, newest, synchronized=True) == newest + 20 * DAY
    assert prune_cutoff(5.0, 180, None, synchronized=False) == 5.0 - 180 * DAY


def test_a_clock_200_days_ahead_at_start_keeps_the_history(tmp_path, caplog):
    """With the wall clock 200 days ahead at start, 43 of 43 plays were pruned as older than 180
    days (issue 28, item 9); the history waits for NTP, then prunes by the true time."""
    path = tmp_path / "index.sqlite3"
    clock = Clock(1000 * DAY)
    history = ListeningHistory(path, 180, clock, synchronized=lambda: False)
    for i in range(43):
        history.play_started(i, f"/m/{i}.ogg", 100.0, SAD, at=clock.t - (43 - i) * DAY)
    history.close()
    clock.t += 200 * DAY
    wrong = ListeningHistory(path, 180, clock, synchronized=lambda: False)
    assert len(wrong.plays()) == 43
    assert any("not pruned" in r.getMessage() for r in caplog.records)
    wrong.close()
    clock.t -= 201 * DAY  # a stale clock, before the newest record
    assert len(ListeningHistory(path, 180, clock, synchronized=lambda: False).plays()) == 43
    clock.t += 171 * DAY  # 170 days after the newest play: held while unconfirmed, pruned once NTP says so
    assert len(ListeningHistory(path, 180, clock, synchronized=lambda: False).plays()) == 43
    assert len(ListeningHistory(path, 180, clock, synchronized=lambda: True).plays()) == 10
