"""Quadrant heads on the cached musicnn features of the two labelled sets, and the
artist-grouped cross-validation that compares them per data set (numpy + scikit-learn).

A head maps the pooled features of a clip (mean and standard deviation over its patches) to
probabilities over QUADRANTS. Two shapes, both exported by ``train_music.py`` into the same
``(1, 4)`` graph output:

* ``softmax``: standardisation, then a 4-way logistic regression (the shipped shape);
* ``sign``: standardisation, then two logits, the sign of valence and the sign of arousal;
  P(Q1) = P(v+) P(a+), P(Q2) = P(v-) P(a+), P(Q3) = P(v-) P(a-), P(Q4) = P(v+) P(a-).

A ``Recipe`` says which clips a head is fitted on, with which weights and targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodshuffle.domain.emotions import QUADRANTS
from moodshuffle.evaluation.music import quadrant_metrics

FOLDS = 5
#: valence and arousal sign of each quadrant (QUADRANTS order), 1 positive / high
V_SIGN = np.array([1, 0, 0, 1])
A_SIGN = np.array([1, 1, 0, 0])


@dataclass(frozen=True)
class Recipe:
    """How a head is fitted.

    sets: the data sets it is fitted on; emotify_weight: the weight of an Emotify clip
    relative to a 4Q clip (``balanced`` gives both sets the same total weight); unclear_weight:
    the weight factor of Emotify clips with ``clear`` = 0; kind: ``softmax`` or ``sign``;
    ridge_alpha: for ``sign`` heads, fit each axis by ridge regression on the centred scores
    (4Q: +-1 from its quadrant; Emotify: its continuous valence/arousal scaled to mean
    absolute value 1) and map the score to a probability by a 1-d logistic fit on the
    training clips, instead of a binary logistic regression. Weights are scaled to mean 1
    over the training clips, so C means the same with and without them. side_gain: the
    factor on the standardised side features (the last ``Labelled.n_side`` columns of X),
    i.e. their L2 penalty divided by side_gain squared; folded into sigma, so the head keeps
    its shape."""

    name: str
    C: float = 0.003
    sets: tuple[str, ...] = ("4q",)
    emotify_weight: float | str = 1.0
    unclear_weight: float = 1.0
    kind: str = "softmax"
    ridge_alpha: float | None = None
    side_gain: float = 1.0


@dataclass
class Labelled:
    """The union of the labelled sets: pooled features X (N, d), quadrant index y (N,),
    data set and artist per clip, Emotify's centred valence/arousal (N, 2; NaN for 4Q) and
    its ``clear`` flag (True for 4Q); n_side: how many of X's last columns are side features
    (tempo, key, ... from the scan; ``bench/music_side_features.py``) rather than tagger features."""

    X: np.ndarray
    y: np.ndarray
    dataset: np.ndarray
    artist: np.ndarray
    va: np.ndarray
    clear: np.ndarray
    n_side: int = 0


def sample_weights(recipe: Recipe, data: Labelled, idx: np.ndarray) -> np.ndarray:
    """Weights of the training clips ``idx`` under ``recipe``, mean 1."""
    emo = data.dataset[idx] == "emotify"
    w = np.ones(len(idx))
    if recipe.emotify_weight == "balanced":
        n_emo, n_4q = int(emo.sum()), int((~emo).sum())
        w[emo] = n_4q / max(1, n_emo)
    else:
        w[emo] = float(recipe.emotify_weight)
    w[emo & ~data.clear[idx]] *= recipe.unclear_weight
    return w / w.mean()


def fit_head(recipe: Recipe, data: Labelled, idx: np.ndarray) -> dict:
    """Fit ``recipe`` on the clips ``idx`` (those of other sets than ``recipe.sets`` are
    dropped). Returns the head: mu, sigma (d,), coef (k, d), intercept (k,), kind."""
    from sklearn.linear_model import LogisticRegression, Ridge

    idx = idx[np.isin(data.dataset[idx], recipe.sets)]
    X, y = data.X[idx], data.y[idx]
    mu, sigma = X.mean(0), X.std(0) + 1e-6
    if data.n_side:
        sigma[-data.n_side:] /= recipe.side_gain
    Z = (X - mu) / sigma
    w = sample_weights(recipe, data, idx)
    if recipe.kind == "softmax":
        clf = LogisticRegression(C=recipe.C, max_iter=5000).fit(Z, y, sample_weight=w)
        coef, intercept = clf.coef_, clf.intercept_
    else:
        coefs, intercepts = [], []
        for axis, signs in enumerate((V_SIGN, A_SIGN)):
            target = signs[y]
            if recipe.ridge_alpha is None:
                clf = LogisticRegression(C=recipe.C, max_iter=5000).fit(Z, target, sample_weight=w)
                coefs.append(clf.coef_[0])
                intercepts.append(clf.intercept_[0])
                continue
            score = 2.0 * target - 1.0
            emo = data.dataset[idx] == "emotify"
            if emo.any():
                cont = data.va[idx][emo, axis]
                score[emo] = cont / np.abs(cont).mean()
            reg = Ridge(alpha=recipe.ridge_alpha).fit(Z, score, sample_weight=w)
            r = Z @ reg.coef_ + reg.intercept_
            cal = LogisticRegression(C=1e4).fit(r[:, None], target, sample_weight=w)
            s, c = cal.coef_[0, 0], cal.intercept_[0]
            coefs.append(s * reg.coef_)
            intercepts.append(s * reg.intercept_ + c)
        coef, intercept = np.stack(coefs), np.array(intercepts)
    return {"kind": recipe.kind, "mu": mu.astype(np.float32), "sigma": sigma.astype(np.float32),
            "coef": np.asarray(coef, np.float32), "intercept": np.asarray(intercept, np.float32)}


def head_probs(head: dict, X: np.ndarray) -> np.ndarray:
    """(N, d) pooled features -> (N, 4) probabilities over QUADRANTS (rows sum to 1)."""
    z = (X - head["mu"]) / head["sigma"]
    logits = z @ head["coef"].T + head["intercept"]
    if head["kind"] == "softmax":
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    pv, pa = (1.0 / (1.0 + np.exp(-logits))).T
    return np.stack([pv * pa, (1 - pv) * pa, (1 - pv) * (1 - pa), pv * (1 - pa)], axis=1)


def groupings(data: Labelled, seeds: int, first: int = 0) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """``seeds`` artist-grouped 5-fold splits of the union (no artist on both sides of a
    fold), stratified by data set and quadrant; shuffle seeds ``first`` .. ``first + seeds - 1``."""
    from sklearn.model_selection import StratifiedGroupKFold

    strata = np.array([f"{d}:{q}" for d, q in zip(data.dataset, data.y, strict=True)])
    return [list(StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed).split(data.X, strata, data.artist))
            for seed in range(first, first + seeds)]


def out_of_fold(recipe: Recipe, data: Labelled, splits: list[list[tuple[np.ndarray, np.ndarray]]]) -> np.ndarray:
    """(groupings, N, 4) out-of-fold probabilities of every clip of both sets."""
    out = np.zeros((len(splits), len(data.y), 4))
    for g, folds in enumerate(splits):
        for tr, te in folds:
            out[g, te] = head_probs(fit_head(recipe, data, tr), data.X[te])
    return out


METRICS = ("accuracy", "valence_accuracy", "arousal_accuracy", "macro_f1")


def per_set_metrics(oof: np.ndarray, data: Labelled) -> dict[str, list[dict]]:
    """For each data set, ``quadrant_metrics`` of each grouping's out-of-fold probabilities."""
    return {name: [quadrant_metrics(data.y[data.dataset == name], probs[data.dataset == name]) for probs in oof]
            for name in dict.fromkeys(data.dataset.tolist())}


def summarise(runs: list[dict], base_runs: list[dict] | None = None) -> dict:
    """Mean, sd, min, max over groupings of each metric; per-quadrant recall (mean); and, with
    ``base_runs`` (the same groupings under the baseline), the paired difference per grouping."""
    out: dict = {}
    for key in METRICS:
        v = np.array([r[key] for r in runs])
        out[key] = {"mean": round(float(v.mean()), 4), "sd": round(float(v.std()), 4),
                    "min": round(float(v.min()), 4), "max": round(float(v.max()), 4)}
        if base_runs is not None:
            d = v - np.array([r[key] for r in base_runs])
            out[key]["diff"] = [round(float(x), 4) for x in d]
            out[key]["diff_mean"] = round(float(d.mean()), 4)
            out[key]["diff_sd"] = round(float(d.std()), 4)
    out["per_class_recall"] = {q: round(float(np.mean([r["per_class_recall"][q] for r in runs])), 4)
                               for q in QUADRANTS}
    out["confusion_summed"] = np.sum([r["confusion"] for r in runs], axis=0).tolist()
    return out


def beats_baseline(summary: dict, bar_4q: float = 0.005) -> bool:
    """The shipping bar: Emotify valence and arousal accuracy both up (mean paired difference
    above zero), at least one of them by more than twice the sd of its paired differences, and
    4Q quadrant accuracy not down by more than ``bar_4q`` or the sd of its paired differences,
    whichever is larger (the noise of 5 groupings)."""
    emo, q4 = summary["emotify"], summary["4q"]["accuracy"]
    up = [emo[k]["diff_mean"] for k in ("valence_accuracy", "arousal_accuracy")]
    clear = any(emo[k]["diff_mean"] > 2 * emo[k]["diff_sd"] for k in ("valence_accuracy", "arousal_accuracy"))
    return min(up) > 0 and clear and q4["diff_mean"] >= -max(bar_4q, q4["diff_sd"])
