"""Issue 32: do tonal and rhythmic side features, computed from the windows the daemon's scan
already decodes, add valence information beyond the musicnn tagger features?

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/music_side_features.py synth
    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/music_side_features.py extract
    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/music_side_features.py diagnose
    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/music_side_features.py cv [--confirm]
    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/music_side_features.py posthoc [--confirm]

``synth`` checks the index's mode (``peak_chroma``) and the one it read before 2026-12-08 (``chroma``)
on synthetic chord progressions.
``extract`` decodes every clip of both labelled sets with the scan's own code
(``decode_windows`` -> ``power_spectrogram`` -> ``transition_features``, ``peak_chroma``,
``key_correlations``) and caches the side features in ``--work/side-features.npz`` (CPU
seconds per clip printed). ``diagnose`` prints each feature's rank correlation with the
valence sign (both sets) and with Emotify's continuous valence, and whether adding it to a
logistic regression on the out-of-fold valence logit of the shipped recipe raises valence
accuracy in the same artist-grouped folds. ``cv`` scores "tagger features + standardised side
features" in ``train_music.py``'s protocol against the shipped recipe (same folds, seeds 0-4;
``--confirm``: fresh seeds 100-104) and says whether it clears ``music_heads.beats_baseline``;
``posthoc`` scores the shipped head followed by a valence-only step on the side features (what
the daemon could add after the model without a new graph), in the same folds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "models"))

import train_music  # noqa: E402  (puts daemon/, models/ and bench/ on the path)
from music_heads import (  # noqa: E402
    V_SIGN,
    Labelled,
    Recipe,
    beats_baseline,
    fit_head,
    groupings,
    head_probs,
    out_of_fold,
)

from moodshuffle.library.analysis import (  # noqa: E402
    HOP,
    N_FFT,
    PATCHES,
    SAMPLE_RATE,
    WINDOW_S,
    key_correlations,
    peak_chroma,
    power_spectrogram,
    transition_features,
)
from moodshuffle.library.decode import decode_windows  # noqa: E402

#: the side features of one clip, in the cache's column order
SIDE = (
    "tempo_bpm",  # the index's tempo
    "mode",  # the index's mode, 1 major / 0 minor
    "energy",  # the index's energy 0..1
    "loudness_db",  # the index's loudness
    "mode_margin",  # best major-key correlation minus best minor-key correlation (clip chroma)
    "key_clarity",  # best key correlation of the 24
    "relative_margin",  # best major key's correlation minus its relative minor's (same scale, which tonic)
    "third_ratio",  # log ratio of the major third to the minor third above the best key's tonic
    "window_major_share",  # share of the windows whose own best key is major
    "window_mode_margin",  # mean over windows of each window's mode margin
    "window_key_agreement",  # share of the windows whose own best key is the clip's
    "chroma_entropy",  # entropy of the normalised chroma / log 12: 1 flat (noise, percussion), low tonal
    "centroid_hz",  # power-weighted spectral centroid
    "flux",  # mean positive log spectral flux per frame (the onset envelope _tempo reads)
    "loudness_sd_db",  # standard deviation of the windows' loudness (dynamics)
    # the same tonal cues from peak_chroma (below) instead of the index's chroma
    "peak_mode_margin",
    "peak_key_clarity",
    "peak_third_ratio",
    "peak_window_mode_margin",
    "peak_chroma_entropy",
)
#: the shipped recipe (issue 32's choice), the baseline of every comparison here
SHIPPED = next(r for r in train_music.RECIPES
               if r.name == "joint softmax, Emotify clip weight 1, clear Emotify tracks only")




def chroma(specs: list[np.ndarray]) -> np.ndarray:
    """(12,) pitch-class profile of the windows (C first): the square root of the power in
    65..2000 Hz, summed over frames and windows, binned by the nearest pitch class. The scan's
    key profile before 2026-12-08 (``analysis.peak_chroma`` replaced it), kept to reproduce the
    sixth search's "index" features."""
    freqs = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)
    band = (freqs >= 65) & (freqs <= 2000)
    pitch = np.round(12 * np.log2(freqs[band] / 440.0) + 69).astype(int) % 12
    energy = sum(spec[:, band].sum(axis=0) for spec in specs)
    return np.bincount(pitch, weights=np.sqrt(energy), minlength=12)


def _tonal(profiles: list[np.ndarray]) -> list[float]:
    """mode margin, key clarity, third ratio (of the clip's summed profile), mean per-window mode
    margin and chroma entropy of the per-window ``profiles``."""
    total = sum(profiles)
    corr = key_correlations(total)
    _, tonic = np.unravel_index(int(corr.argmax()), corr.shape)
    p = total / (total.sum() + 1e-12)
    per_window = [key_correlations(w) for w in profiles if w.sum() > 0]
    return [corr[0].max() - corr[1].max(), corr.max(),
            np.log((total[(tonic + 4) % 12] + 1e-9) / (total[(tonic + 3) % 12] + 1e-9)),
            np.mean([c[0].max() - c[1].max() for c in per_window]),
            -(p * np.log(p + 1e-12)).sum() / np.log(12)]


def side_features(windows: list[np.ndarray], specs: list[np.ndarray]) -> np.ndarray:
    """(len(SIDE),) side features of a track's decoded windows and their power spectrograms."""
    tempo, _, mode, energy, loudness = transition_features(windows, specs)
    profile = chroma(specs)
    corr = key_correlations(profile)
    best_major, best_minor = corr[0].max(), corr[1].max()
    tonic_major = int(corr[0].argmax())
    mode_row, tonic = np.unravel_index(int(corr.argmax()), corr.shape)
    p = profile / (profile.sum() + 1e-12)
    per_window = [key_correlations(chroma([s])) for s in specs]
    win_best = [np.unravel_index(int(c.argmax()), c.shape) for c in per_window]
    freqs = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)
    power = sum(s.sum(axis=0) for s in specs)
    flux = np.concatenate([np.maximum(0, np.diff(np.log1p(1000 * s[:, 2:200]), axis=0)).sum(axis=1) for s in specs])
    win_db = [10 * np.log10(np.mean(w.astype(np.float64) ** 2) + 1e-18) for w in windows]
    return np.array([
        tempo, mode, energy, loudness,
        best_major - best_minor,
        corr.max(),
        corr[0, tonic_major] - corr[1, (tonic_major + 9) % 12],
        np.log((profile[(tonic + 4) % 12] + 1e-9) / (profile[(tonic + 3) % 12] + 1e-9)),
        np.mean([b[0] == 0 for b in win_best]),
        np.mean([c[0].max() - c[1].max() for c in per_window]),
        np.mean([b == (mode_row, tonic) for b in win_best]),
        -(p * np.log(p + 1e-12)).sum() / np.log(12),
        float((power * freqs).sum() / (power.sum() + 1e-12)),
        float(flux.mean()),
        float(np.std(win_db)),
        *_tonal([peak_chroma([s]) for s in specs]),
    ])


def synth_check() -> None:
    """The mode of synthetic I-IV-V-I (major) and i-iv-v-i (minor) progressions, one triad of
    six-harmonic tones per 3 s window, 7 roots: the scan's ``analysis._key`` (on ``peak_chroma``)
    against the key the scan read before 2026-12-08 (``chroma`` correlated the same way)."""
    from moodshuffle.library.analysis import _key

    t = np.arange(int(WINDOW_S * SAMPLE_RATE)) / SAMPLE_RATE
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

    def tone(midi: int) -> np.ndarray:
        f = 440 * 2 ** ((midi - 69) / 12)
        return sum(0.6**h * np.sin(2 * np.pi * f * (h + 1) * t) for h in range(6) if f * (h + 1) < SAMPLE_RATE / 2)

    right = {"before": 0, "index": 0}
    for root in (45, 48, 50, 55, 57, 60, 64):
        for major in (True, False):
            third = 4 if major else 3
            chords = [[root, root + third, root + 7], [root + 5, root + 5 + third, root + 12],
                      [root + 7, root + 7 + third, root + 14], [root, root + third, root + 7]]
            specs = [power_spectrogram((0.05 * sum(tone(n) for n in c)).astype(np.float32)) for c in chords]
            key, mode = _key(specs)
            corr = key_correlations(chroma(specs))
            row, old_key = np.unravel_index(int(corr.argmax()), corr.shape)
            right["before"] += (row == 0) == major
            right["index"] += mode == int(major)
            print(f"{names[root % 12]}{root // 12 - 1} {'major' if major else 'minor'}: before "
                  f"{names[old_key]} {'major' if row == 0 else 'minor'}, index {names[key]} "
                  f"{'major' if mode else 'minor'}")
    print(f"mode right of 14: before {right['before']}, index {right['index']}")


def extract(work: Path) -> None:
    rows = [r for name in train_music.DATASETS for r in train_music.load_labels(name)]
    out = np.zeros((len(rows), len(SIDE)))
    scan_cpu, side_cpu = [], []
    for i, row in enumerate(rows):
        t0 = time.process_time()
        windows = decode_windows(Path(row["path"]), SAMPLE_RATE, WINDOW_S, PATCHES)
        specs = [power_spectrogram(w) for w in windows]
        t1 = time.process_time()
        transition_features(windows, specs)
        t2 = time.process_time()
        out[i] = side_features(windows, specs)
        t3 = time.process_time()
        scan_cpu.append(t2 - t0)  # what the scan pays already (decode, spectra, tempo/key/energy)
        side_cpu.append((t3 - t2) - (t2 - t1))  # the side features beyond transition_features
        if i % 100 == 0:
            print(f"{i}/{len(rows)} scan {np.mean(scan_cpu):.3f} s, extra {np.mean(side_cpu):.3f} s CPU per clip",
                  flush=True)
    np.savez(work / "side-features.npz", side=out, names=np.array(SIDE), files=np.array([r["file"] for r in rows]),
             dataset=np.array([r["dataset"] for r in rows]))
    print(json.dumps({"clips": len(rows), "hop": HOP,
                      "scan_cpu_s_per_clip": {"median": round(float(np.median(scan_cpu)), 4),
                                              "mean": round(float(np.mean(scan_cpu)), 4)},
                      "extra_cpu_s_per_clip": {"median": round(float(np.median(side_cpu)), 4),
                                               "mean": round(float(np.mean(side_cpu)), 4)}}), flush=True)


def load(work: Path) -> tuple[Labelled, np.ndarray]:
    """The union of the sets as ``train_music`` builds it, and its (N, len(SIDE)) side features."""
    feats = {name: np.load(work / f"features-{name}.npz")["feats"] for name in train_music.DATASETS}
    data, rows = train_music.labelled(feats)
    cache = np.load(work / "side-features.npz")
    if cache["files"].tolist() != [r["file"] for r in rows] or cache["names"].tolist() != list(SIDE):
        raise SystemExit(f"{work / 'side-features.npz'}: cached for other clips or features; run extract again")
    return data, cache["side"]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation, ties given their mean rank (the signs and ``mode`` are mostly ties)."""
    from scipy.stats import rankdata

    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def diagnose(work: Path, seeds: int) -> None:
    from scipy.stats import rankdata
    from sklearn.linear_model import LogisticRegression

    data, side = load(work)
    vpos = V_SIGN[data.y].astype(float)
    emo = data.dataset == "emotify"
    splits = groupings(data, seeds)
    base = out_of_fold(SHIPPED, data, splits)  # (G, N, 4)
    pv = np.clip(base[:, :, [0, 3]].sum(2), 1e-6, 1 - 1e-6)
    logit = np.log(pv / (1 - pv))
    print("feature: rho with V sign 4Q | Emotify | all; rho with Emotify continuous V; rho with the shipped "
          "head's OOF valence logit (all); then valence accuracy of LR on [OOF logit] vs [OOF logit, feature] "
          "in the same grouped folds, 4Q | Emotify (points, paired diff mean +- sd over groupings): 'joint' fitted "
          "on 4Q + Emotify's clear clips (shippable shape), 'per set' one LR per set (does the set hold the "
          "information at all; not shippable, the daemon does not know the set)")
    for j in [*range(len(SIDE)), None]:
        name = SIDE[j] if j is not None else "ALL side features"
        x = side if j is None else side[:, [j]]
        line = f"{name:22s}"
        if j is not None:
            xj = side[:, j]
            line += (f" rho V 4Q {spearman(xj[~emo], vpos[~emo]):+.2f} Emo {spearman(xj[emo], vpos[emo]):+.2f} "
                     f"all {spearman(xj, vpos):+.2f} | Emo cont {spearman(xj[emo], data.va[emo, 0]):+.2f} "
                     f"| rho logit {np.mean([spearman(xj, lg) for lg in logit]):+.2f} |")
        for how in ("joint", "per set"):
            acc = {"4q": [[], []], "emotify": [[], []]}
            for g, folds in enumerate(splits):
                pred = np.zeros((2, len(data.y)))
                for tr, te in folds:
                    parts = [(tr, te)] if how == "joint" else [
                        (tr[data.dataset[tr] == ds], te[data.dataset[te] == ds]) for ds in ("4q", "emotify")]
                    for k, with_side in enumerate((False, True)):
                        X = np.concatenate([logit[g][:, None], x], axis=1) if with_side else logit[g][:, None]
                        for ptr, pte in parts:
                            mu, sd = X[ptr].mean(0), X[ptr].std(0) + 1e-9
                            fit = ptr[data.clear[ptr]]  # 4Q and Emotify's clear clips, as the shipped recipe
                            clf = LogisticRegression(C=1.0, max_iter=2000).fit((X[fit] - mu) / sd, vpos[fit])
                            pred[k, pte] = clf.predict((X[pte] - mu) / sd)
                for ds in acc:
                    m = data.dataset == ds
                    for k in range(2):
                        acc[ds][k].append(float((pred[k, m] == vpos[m]).mean()))
            line += f" {how}:"
            for ds in ("4q", "emotify"):
                a0, a1 = np.array(acc[ds][0]) * 100, np.array(acc[ds][1]) * 100
                d = a1 - a0
                line += f" {ds} {a0.mean():.1f}->{a1.mean():.1f} ({d.mean():+.1f} ± {d.std():.1f})"
        print(line, flush=True)
    # the partial rank correlation with Emotify's continuous valence, given the shipped head's OOF logit
    print("partial Spearman with Emotify continuous valence given the OOF valence logit (mean over groupings):")
    for j, name in enumerate(SIDE):
        r = []
        for lg in logit:
            ranks = [rankdata(v) for v in (side[emo, j], data.va[emo, 0], lg[emo])]
            res = [a - np.polyval(np.polyfit(ranks[2], a, 1), ranks[2]) for a in ranks[:2]]
            r.append(np.corrcoef(*res)[0, 1])
        print(f"  {name:22s} {np.mean(r):+.3f}")


def with_side(data: Labelled, side: np.ndarray, cols: list[int]) -> Labelled:
    """``data`` with the side features ``cols`` appended to its tagger features."""
    return replace(data, X=np.concatenate([data.X, side[:, cols]], axis=1), n_side=len(cols))


def baseline(data: Labelled, seeds: int, confirm: bool) -> tuple[int, list, np.ndarray, list[str]]:
    """The groupings (seeds 0.. or the fresh ones), the shipped recipe's out-of-fold
    probabilities in them and the table's first row: (first seed, splits, base_oof, rows)."""
    first = train_music.CONFIRM_SEED if confirm else 0
    splits = groupings(data, seeds, first=first)
    base_oof = out_of_fold(SHIPPED, data, splits)
    rows = [train_music.table_row(f"{SHIPPED.name} (seeds {first}-{first + seeds - 1})",
                                  train_music.score(base_oof, data, base_oof))]
    return first, splits, base_oof, rows


def report(recipe: str, features: list[str], first: int, seeds: int, summary: dict) -> None:
    """One JSON line: the recipe against the shipped one, paired per set, and the bar's verdict."""
    diffs = {f"{ds}:{k}": (summary[ds][k]["diff"], summary[ds][k]["diff_mean"], summary[ds][k]["diff_sd"])
             for ds in train_music.DATASETS for k in ("accuracy", "valence_accuracy", "arousal_accuracy")}
    print(json.dumps({"recipe": recipe, "features": features, "seeds": [first, first + seeds - 1],
                      "beats_baseline": beats_baseline(summary), "paired": diffs,
                      "queue_precision_all": summary["queue_precision"].get("all")}), flush=True)


def cv(work: Path, seeds: int, confirm: bool, gains: list[float], subset: list[str] | None) -> None:
    data, side = load(work)
    cols = [SIDE.index(n) for n in subset] if subset else list(range(len(SIDE)))
    aug = with_side(data, side, cols)
    t0 = time.process_time()
    first, splits, base_oof, rows = baseline(data, seeds, confirm)
    for gain in gains:
        recipe = Recipe(f"shipped + {len(cols)} side features, gain {gain:g}", C=SHIPPED.C, sets=SHIPPED.sets,
                        unclear_weight=SHIPPED.unclear_weight, side_gain=gain)
        summary = train_music.score(out_of_fold(recipe, aug, splits), data, base_oof)
        report(recipe.name, [SIDE[c] for c in cols], first, seeds, summary)
        rows.append(train_music.table_row(recipe.name, summary))
    print("\n".join(rows))
    print(f"cpu {time.process_time() - t0:.0f} s", flush=True)


def valence_marginal(probs: np.ndarray, pv: np.ndarray) -> np.ndarray:
    """(N, 4) quadrant probabilities with P(valence > 0) replaced by ``pv`` (N,), each valence
    half keeping its split between high and low arousal (so arousal moves only through the mix)."""
    pos = probs[:, [0, 3]].sum(1, keepdims=True)
    out = probs.copy()
    out[:, [0, 3]] *= pv[:, None] / np.maximum(pos, 1e-9)
    out[:, [1, 2]] *= (1 - pv[:, None]) / np.maximum(1 - pos, 1e-9)
    return out


def valence_marginal_keep_arousal(probs: np.ndarray, pv: np.ndarray, steps: int = 50) -> np.ndarray:
    """(N, 4) quadrant probabilities with P(valence > 0) set to ``pv`` (N,) and P(arousal > 0)
    and the odds ratio of the 2 x 2 valence-arousal table kept (iterative proportional fitting),
    so where ``from_quadrant_probs`` puts the track's arousal does not move."""
    pa = probs[:, [0, 1]].sum(1, keepdims=True)
    out = np.maximum(probs, 1e-9)
    for _ in range(steps):
        pos = out[:, [0, 3]].sum(1, keepdims=True)
        out[:, [0, 3]] *= pv[:, None] / pos
        out[:, [1, 2]] *= (1 - pv[:, None]) / (1 - pos)
        high = out[:, [0, 1]].sum(1, keepdims=True)
        out[:, [0, 1]] *= pa / high
        out[:, [2, 3]] *= (1 - pa) / (1 - high)
    return out


def valence_logit(probs: np.ndarray) -> np.ndarray:
    pv = np.clip(probs[:, [0, 3]].sum(1), 1e-6, 1 - 1e-6)
    return np.log(pv / (1 - pv))


def posthoc_oof(data: Labelled, side: np.ndarray, splits: list, keep_arousal: bool, head: Recipe = SHIPPED,
                C: float = 1.0) -> np.ndarray:
    """(G, N, 4) out-of-fold probabilities of the shipped head followed by a post-hoc valence
    step: P(valence > 0) = sigmoid(a * head's valence logit + w . standardised side + b), fitted
    (logistic regression, 4Q and Emotify's clear clips as the head) on the training clips'
    inner out-of-fold head logits (artist-grouped 5-fold inside the training part, so the step
    sees logits as confident as the test clips' are). What the daemon could do after the model,
    with the scan's side features, without touching the TFLite graph. keep_arousal: set the
    valence marginal by ``valence_marginal_keep_arousal`` instead of ``valence_marginal``; head:
    the head's recipe (fitted on ``data.X``, which may carry side columns of its own)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    vpos = V_SIGN[data.y]
    strata = np.array([f"{d}:{q}" for d, q in zip(data.dataset, data.y, strict=True)])
    out = np.zeros((len(splits), len(data.y), 4))
    for g, folds in enumerate(splits):
        for tr, te in folds:
            inner = np.zeros((len(data.y), 4))
            inner_folds = StratifiedGroupKFold(5, shuffle=True, random_state=g).split(tr, strata[tr], data.artist[tr])
            for itr, ite in inner_folds:
                inner[tr[ite]] = head_probs(fit_head(head, data, tr[itr]), data.X[tr[ite]])
            probs = head_probs(fit_head(head, data, tr), data.X[te])
            Xtr = np.column_stack([valence_logit(inner[tr]), side[tr]])
            Xte = np.column_stack([valence_logit(probs), side[te]])
            mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-9
            fit = data.clear[tr]
            clf = LogisticRegression(C=C, max_iter=2000).fit((Xtr[fit] - mu) / sd, vpos[tr][fit])
            adjust = valence_marginal_keep_arousal if keep_arousal else valence_marginal
            out[g, te] = adjust(probs, clf.predict_proba((Xte - mu) / sd)[:, 1])
    return out


def posthoc(work: Path, seeds: int, confirm: bool, subset: list[str] | None, keep_arousal: bool,
            head_subset: list[str] | None, head_gain: float) -> None:
    data, side = load(work)
    cols = [SIDE.index(n) for n in subset] if subset else list(range(len(SIDE)))
    head, head_data, head_name = SHIPPED, data, "shipped"
    if head_subset:
        head_cols = [SIDE.index(n) for n in head_subset]
        head_data = with_side(data, side, head_cols)
        head = replace(SHIPPED, name=f"shipped + {len(head_cols)} side features, gain {head_gain:g}",
                       side_gain=head_gain)
        head_name = head.name
    t0 = time.process_time()
    first, splits, base_oof, rows = baseline(data, seeds, confirm)
    for name, x in (("no side features (recalibration only)", side[:, []]),
                    (f"{len(cols)} side features", side[:, cols])):
        summary = train_music.score(posthoc_oof(head_data, x, splits, keep_arousal, head), data, base_oof)
        recipe = f"{head_name} + post-hoc valence step{' (arousal kept)' if keep_arousal else ''}, {name}"
        report(recipe, [SIDE[c] for c in cols] if x.shape[1] else [], first, seeds, summary)
        rows.append(train_music.table_row(recipe, summary))
    print("\n".join(rows))
    print(f"cpu {time.process_time() - t0:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("synth", "extract", "diagnose", "cv", "posthoc"))
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/moodshuffle-music"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--confirm", action="store_true", help="cv on the fresh groupings (seeds 100-104)")
    parser.add_argument("--gains", type=float, nargs="+", default=[1.0, 3.0, 10.0],
                        help="factors on the standardised side features (the L2 penalty on them / gain^2)")
    parser.add_argument("--keep-arousal", action="store_true",
                        help="posthoc: keep each track's arousal marginal (and odds ratio) exactly")
    parser.add_argument("--head-features", nargs="+", choices=SIDE,
                        help="posthoc: side features the head itself takes (default: none, the shipped head)")
    parser.add_argument("--head-gain", type=float, default=1.0, help="posthoc: side_gain of --head-features")
    parser.add_argument("--features", nargs="+", choices=SIDE, help="a subset of SIDE (default: all)")
    args = parser.parse_args()
    if args.step == "synth":
        synth_check()
    elif args.step == "extract":
        extract(args.work)
    elif args.step == "diagnose":
        diagnose(args.work, args.seeds)
    elif args.step == "posthoc":
        posthoc(args.work, args.seeds, args.confirm, args.features, args.keep_arousal, args.head_features,
                args.head_gain)
    else:
        cv(args.work, args.seeds, args.confirm, args.gains, args.features)


if __name__ == "__main__":
    main()
