"""Where the music should take the listener: one target point per upcoming track.

* ``match``: every target is the listener's mood.
* ``uplift``: the iso principle of music therapy: the first target is where the listener
  is; each following track moves the target at most ``step`` (Euclidean, valence/arousal
  units) toward a content, moderately lively point. Sad never jumps to party.
* ``calm``: like uplift, toward a calm, pleasant point (low arousal).
* ``off``: no target (plain shuffle).
"""

from __future__ import annotations

import numpy as np

from moodshuffle.domain.emotions import QUADRANT_PROFILE, QUADRANTS, EmotionPoint
from moodshuffle.domain.policy import Policy

#: (valence, arousal) the policies lead to, and the class profile that goes with them
GOALS: dict[Policy, tuple[np.ndarray, np.ndarray]] = {
    Policy.UPLIFT: (np.array([0.6, 0.3], np.float32), QUADRANT_PROFILE[QUADRANTS.index("Q1")]),
    Policy.CALM: (np.array([0.3, -0.6], np.float32), QUADRANT_PROFILE[QUADRANTS.index("Q4")]),
}


def step_toward(start: np.ndarray, goal: np.ndarray, step: float) -> np.ndarray:
    """Move ``start`` toward ``goal`` by at most ``step`` (Euclidean)."""
    delta = goal - start
    dist = float(np.linalg.norm(delta))
    if dist <= step:
        return goal.astype(np.float32)
    return np.asarray(start + delta * (step / dist), np.float32)


def targets(
    policy: Policy,
    here: EmotionPoint,
    n: int,
    step: float,
    start: tuple[float, float] | None = None,
) -> list[EmotionPoint] | None:
    """The targets of the next ``n`` tracks from the listener's mood ``here``; None for ``off``.
    Consecutive targets differ by at most ``step`` in valence/arousal. ``start``: the target of
    the track playing now, so that a journey goes on across reorders (the first upcoming target
    is one step on from it); None starts at the mood."""
    if policy == Policy.OFF:
        return None
    point = np.array([here.valence, here.arousal], np.float32)
    probs = np.asarray(here.probs, np.float32)
    if policy == Policy.MATCH:
        return [EmotionPoint(probs, float(point[0]), float(point[1]))] * n
    goal, goal_profile = GOALS[policy]
    total = float(np.linalg.norm(goal - point)) or 1.0
    out = []
    if start is not None:
        point = np.array(start, np.float32)
    for i in range(n):
        if i > 0 or start is not None:
            point = step_toward(point, goal, step)
        travelled = 1.0 - float(np.linalg.norm(goal - point)) / total
        mix = (1 - travelled) * probs + travelled * goal_profile
        out.append(EmotionPoint(mix.astype(np.float32), float(point[0]), float(point[1])))
    return out
