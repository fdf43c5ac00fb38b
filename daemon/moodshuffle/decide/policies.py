"""Where the music should take the listener: one target point per upcoming track.

* ``match``: every target is the listener's mood.
* ``uplift``: the iso principle of music therapy: the first target is where the listener
  is; each following track moves the target at most ``step`` (Euclidean, valence/arousal
  units) toward a content, moderately lively point. Sad never jumps to party.
* ``calm``: like uplift, toward a calm, pleasant point (low arousal).
* ``off``: no target (plain shuffle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodshuffle.emotions import QUADRANT_PROFILE, QUADRANTS

#: (valence, arousal) the policies lead to, and the class profile that goes with them
GOALS: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "uplift": (np.array([0.6, 0.3], np.float32), QUADRANT_PROFILE[QUADRANTS.index("Q1")]),
    "calm": (np.array([0.3, -0.6], np.float32), QUADRANT_PROFILE[QUADRANTS.index("Q4")]),
}


@dataclass(frozen=True)
class Target:
    """A point in the emotion space: probs (7,) over EMOTIONS, valence/arousal in [-1, 1]."""

    probs: np.ndarray
    valence: float
    arousal: float


def step_toward(start: np.ndarray, goal: np.ndarray, step: float) -> np.ndarray:
    """Move ``start`` toward ``goal`` by at most ``step`` (Euclidean)."""
    delta = goal - start
    dist = float(np.linalg.norm(delta))
    if dist <= step:
        return goal.astype(np.float32)
    return (start + delta * (step / dist)).astype(np.float32)


def targets(
    policy: str,
    probs: np.ndarray,
    valence: float,
    arousal: float,
    n: int,
    step: float,
    start: tuple[float, float] | None = None,
) -> list[Target] | None:
    """The targets of the next ``n`` tracks, from the listener's mood (``probs`` over EMOTIONS,
    valence, arousal); None for ``off``. Consecutive targets differ by at most ``step`` in
    valence/arousal. ``start``: the target of the track playing now, so that a journey goes on
    across reorders (the first upcoming target is one step on from it); None starts at the mood."""
    if policy == "off":
        return None
    here = np.array([valence, arousal], np.float32)
    probs = np.asarray(probs, np.float32)
    if policy == "match":
        return [Target(probs, float(here[0]), float(here[1]))] * n
    goal, goal_profile = GOALS[policy]
    total = float(np.linalg.norm(goal - here)) or 1.0
    out = []
    point = here if start is None else np.array(start, np.float32)
    for i in range(n):
        if i > 0 or start is not None:
            point = step_toward(point, goal, step)
        travelled = 1.0 - float(np.linalg.norm(goal - point)) / total
        mix = (1 - travelled) * probs + travelled * goal_profile
        out.append(Target(mix.astype(np.float32), float(point[0]), float(point[1])))
    return out
