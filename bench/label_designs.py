"""Mood label and mood-point designs measured by bench/sweep_label.py (issue 27).

Each design is a MoodEstimator whose ``_state`` differs from the shipped one in how the mood
probabilities become a label and a (valence, arousal) point."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from moodshuffle.config import ModelsConfig, MoodConfig
from moodshuffle.domain.emotions import CLASS_VA, EMOTIONS, INDEX, N_EMOTIONS, Emotion
from moodshuffle.domain.mood import MoodState
from moodshuffle.estimate import mood as m
from moodshuffle.estimate.mood import MoodEstimator
from moodshuffle.estimate.naming import load_naming

Make = Callable[[], MoodEstimator]

#: quadrant groups of the non-neutral classes by CLASS_VA: Q1 happy+surprise, Q2 angry+disgust+fear, Q3 sad
GROUPS = {"Q1": ("happy", "surprise"), "Q2": ("angry", "disgust", "fear"), "Q3": ("sad",), "N": ("neutral",)}
GROUP_OF = {c: g for g, cs in GROUPS.items() for c in cs}
GROUP_IDX = {g: [INDEX[c] for c in cs] for g, cs in GROUPS.items()}
#: the quadrant centres of the groups (Q1, Q2, Q3 of Russell's plane)
CENTRE = {"Q1": np.array([0.5, 0.5]), "Q2": np.array([-0.5, 0.5]), "Q3": np.array([-0.5, -0.5]),
          "N": np.zeros(2)}
#: the centre of each group's classes in CLASS_VA (mean)
CLASS_CENTRE = {g: CLASS_VA[idx].mean(0) for g, idx in GROUP_IDX.items()}


class Design(MoodEstimator):
    """label: "class" (shipped: hysteresis on the leading class), "group" (hysteresis on the
    leading quadrant group, then argmax within it), "group-hold" (the class within the group
    also with hysteresis); weights: per-class factors on the departure before mood_probs;
    point: "probs" (shipped: probs @ CLASS_VA), "groups" (group masses at the quadrant
    centres), "label" (blend ``beta`` of the departure mass at the label's class VA),
    "label-group" (the same at the label's group centre); arousal_scale: per-class factors on
    CLASS_VA's arousal."""

    def __init__(self, cfg: MoodConfig, label: str = "class", weights: np.ndarray | None = None,
                 point: str = "probs", beta: float = 1.0, arousal_scale: dict[str, float] | None = None,
                 group_margin: float | None = None) -> None:
        super().__init__(cfg)
        self.label_mode = label
        self.weights = weights
        self.point_mode = point
        self.beta = beta
        self.va = CLASS_VA.astype(np.float64).copy()
        for c, f in (arousal_scale or {}).items():
            self.va[INDEX[c], 1] *= f
        self.group_margin = cfg.hysteresis_margin if group_margin is None else group_margin
        self._group_since: float | None = None
        self._class_since: float | None = None

    def _state(self, now: float) -> MoodState:
        weight = self._face.expr_weight + self._voice_classes.expr_weight
        departure = (self._face.departure_sum() + self._voice_classes.departure_sum()) / (weight + m.PRIOR_WEIGHT)
        if self.weights is not None:
            departure = departure * self.weights
        probs = m.mood_probs(departure, self.cfg.sensitivity).astype(np.float32)
        base = probs.astype(np.float64) @ self.va
        valence = float(base[0])
        if self.label_mode == "class":
            self._update_class_label(probs, valence, now)
        elif self.label_mode.startswith("departed"):
            self._update_departed_label(probs, valence, now)
        else:
            self._update_group_label(probs, valence, now)
        mass = 1.0 - float(probs[m.NEUTRAL])
        if self.point_mode == "probs":
            va = base
        elif self.point_mode == "groups":
            va = sum(float(probs[idx].sum()) * CENTRE[g] for g, idx in GROUP_IDX.items())
        elif self.point_mode == "quadrant-arousal":
            va = np.array([base[0], sum(float(probs[idx].sum()) * CENTRE[g][1] for g, idx in GROUP_IDX.items())])
        elif self.point_mode == "label":
            va = (1 - self.beta) * base + self.beta * mass * self.va[INDEX[self._label]]
        elif self.point_mode == "label-group":
            va = (1 - self.beta) * base + self.beta * mass * CENTRE[GROUP_OF[self._label]]
        else:
            raise ValueError(self.point_mode)
        valence, arousal = float(va[0]), float(va[1])
        confidence = weight / (weight + m.PRIOR_WEIGHT)
        return MoodState(probs=probs, valence=float(np.clip(valence, -1, 1)), arousal=float(np.clip(arousal, -1, 1)),
                         confidence=float(confidence), label=self._label, faces=self._faces,
                         last_evidence=self._last_evidence, timestamp=now, rest=self._face.rest().astype(np.float32))

    def _update_group_label(self, probs: np.ndarray, valence: float, now: float) -> None:
        masses = {g: float(probs[idx].sum()) for g, idx in GROUP_IDX.items()}
        cur = GROUP_OF[self._label]
        best = max(masses, key=lambda g: masses[g])
        hold = self.cfg.hysteresis_hold_s
        if m.contradicts(self._label, valence):
            hold *= m.FLIP_HOLD_SHARE
        if best != cur and masses[best] - masses[cur] >= self.group_margin:
            if self._group_since is None:
                self._group_since = now
            if now - self._group_since >= hold:
                idx = GROUP_IDX[best]
                self._label = EMOTIONS[idx[int(np.argmax(probs[idx]))]]
                self._group_since = self._class_since = None
            return
        self._group_since = None
        idx = GROUP_IDX[cur]
        inside = EMOTIONS[idx[int(np.argmax(probs[idx]))]]
        if inside == self._label:
            self._class_since = None
            return
        if self.label_mode == "group":
            self._label = inside
            return
        # group-hold: the class within the group changes with the shipped hysteresis
        if float(probs[INDEX[inside]] - probs[INDEX[self._label]]) < self.cfg.hysteresis_margin:
            self._class_since = None
            return
        if self._class_since is None:
            self._class_since = now
        if now - self._class_since >= self.cfg.hysteresis_hold_s:
            self._label, self._class_since = Emotion(inside), None


    def _update_class_label(self, probs: np.ndarray, valence: float, now: float) -> None:
        """The label before issue 27: the leading class must lead the label by the margin for the hold."""
        best = EMOTIONS[int(np.argmax(probs))]
        lead = float(probs[INDEX[best]] - probs[INDEX[self._label]])
        if best == self._label or lead < self.cfg.hysteresis_margin:
            self._beaten_since = None
            return
        if self._beaten_since is None:
            self._beaten_since = now
        if now - self._beaten_since >= self._hold(valence):
            self._label, self._beaten_since = best, None

    def _hold(self, valence: float) -> float:
        hold = self.cfg.hysteresis_hold_s
        return hold * m.FLIP_HOLD_SHARE if m.contradicts(self._label, valence) else hold

    def _update_departed_label(self, probs: np.ndarray, valence: float, now: float) -> None:
        """Rest or departed first (the non-neutral mass against neutral), then the quadrant
        group with the most mass, then the class within it ("departed": free; "departed-hold":
        with the shipped hysteresis; "departed-class": the leading class overall)."""
        neutral = float(probs[m.NEUTRAL])
        departed = 1.0 - neutral
        masses = {g: float(probs[idx].sum()) for g, idx in GROUP_IDX.items() if g != "N"}
        best = max(masses, key=lambda g: masses[g])

        def pick(group: str) -> Emotion:
            if self.label_mode == "departed-class":
                nn = probs.copy()
                nn[m.NEUTRAL] = -1
                return EMOTIONS[int(np.argmax(nn))]
            idx = GROUP_IDX[group]
            return EMOTIONS[idx[int(np.argmax(probs[idx]))]]

        cur = GROUP_OF[self._label]
        if cur == "N":
            target: Emotion | None = pick(best) if departed - neutral >= self.cfg.hysteresis_margin else None
        elif neutral - departed >= self.cfg.hysteresis_margin:
            target = Emotion.NEUTRAL
        elif best != cur and masses[best] - masses[cur] >= self.group_margin and self.label_mode != "departed-class":
            target = pick(best)
        else:
            self._group_since = None
            inside = pick(cur)
            if inside == self._label or self.label_mode in ("departed", "departed-class") and (
                    self.label_mode == "departed" or GROUP_OF[inside] == cur):
                self._label = inside
                if self.label_mode == "departed-class" and GROUP_OF[inside] != cur:
                    pass
                self._class_since = None
                return
            if self.label_mode == "departed-class":
                # another group's class leads: with the hold
                if float(probs[INDEX[inside]] - probs[INDEX[self._label]]) < self.cfg.hysteresis_margin:
                    self._class_since = None
                    return
            elif float(probs[INDEX[inside]] - probs[INDEX[self._label]]) < self.cfg.hysteresis_margin:
                self._class_since = None
                return
            if self._class_since is None:
                self._class_since = now
            if now - self._class_since >= self.cfg.hysteresis_hold_s:
                self._label, self._class_since = inside, None
            return
        if target is None:
            self._group_since = None
            return
        if self._group_since is None:
            self._group_since = now
        if now - self._group_since >= self._hold(valence):
            self._label, self._group_since, self._class_since = target, None, None


def _w(**f: float) -> np.ndarray:
    w = np.ones(N_EMOTIONS)
    for c, v in f.items():
        w[INDEX[c]] = v
    return w


def designs(cfg: MoodConfig) -> dict[str, Make]:
    naming = load_naming(ModelsConfig())
    d: dict[str, Make] = {
        "shipped (its naming fitted on all 8 performers: in-sample; --naming scores it honestly)":
            lambda: MoodEstimator(cfg, naming),
        "shipped without the naming (the label reads the departure as the model splits it)": lambda: MoodEstimator(cfg),
        "before issue 27 (class hysteresis, point probs @ CLASS_VA)": lambda: Design(cfg),
        "group, class free within": lambda: Design(cfg, "group"),
        "group, class held within": lambda: Design(cfg, "group-hold"),
        "group + point at group centres": lambda: Design(cfg, "group", point="groups"),
        "group + point at label class VA": lambda: Design(cfg, "group", point="label"),
        "group + point half label class VA": lambda: Design(cfg, "group", point="label", beta=0.5),
        "group + point at label group centre": lambda: Design(cfg, "group", point="label-group"),
        "group-hold + point at label class VA": lambda: Design(cfg, "group-hold", point="label"),
        "group-hold + point half label class VA": lambda: Design(cfg, "group-hold", point="label", beta=0.5),
        "class + point at label class VA": lambda: Design(cfg, "class", point="label"),
        "class + point half label class VA": lambda: Design(cfg, "class", point="label", beta=0.5),
        "departed, group, class free": lambda: Design(cfg, "departed"),
        "departed, group, class held": lambda: Design(cfg, "departed-hold"),
        "departed, leading class": lambda: Design(cfg, "departed-class"),
        "group + quadrant arousal": lambda: Design(cfg, "group", point="quadrant-arousal"),
        "class + quadrant arousal": lambda: Design(cfg, "class", point="quadrant-arousal"),
        "departed + quadrant arousal": lambda: Design(cfg, "departed", point="quadrant-arousal"),
        "departed-hold + quadrant arousal": lambda: Design(cfg, "departed-hold", point="quadrant-arousal"),
        "departed-hold + group centres": lambda: Design(cfg, "departed-hold", point="groups"),
        "departed-hold + half label VA": lambda: Design(cfg, "departed-hold", point="label", beta=0.5),
        "group + fear/angry arousal x0.5": lambda: Design(cfg, "group", arousal_scale={"fear": 0.5, "angry": 0.5}),
    }
    return d


def tuned(cfg: MoodConfig) -> dict[str, dict[object, Make]]:
    return {}
