"""The taste model's group terms: the mean reward of each artist and genre, per mood region
(pure numpy; ``taste.py`` explains what they add to the per-region linear model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np

_K = TypeVar("_K")


def close_dicts(a: Mapping[_K, float], b: Mapping[_K, float]) -> bool:
    return a.keys() == b.keys() and all(np.isclose(a[k], b[k]) for k in a)


class Groups:
    """The tracks of a table grouped by a tag (artist, genres), a track in every group it names:
    membership m of row ``rows[m]`` in group ``codes[m]`` weighs ``weights[m]``, 1/k for a track
    in k groups, so that a row's term is the mean over its groups; ``code_of`` maps names to codes."""

    def __init__(self, n_rows: int, rows: np.ndarray, codes: np.ndarray, weights: np.ndarray,
                 code_of: dict[str, int]) -> None:
        self.n_rows, self.rows, self.codes, self.weights, self.code_of = n_rows, rows, codes, weights, code_of

    @staticmethod
    def of(values: Sequence[tuple[str, ...]]) -> Groups:
        """Groups of ``values``, each row's group names (() for none)."""
        code_of: dict[str, int] = {}
        rows: list[int] = []
        codes: list[int] = []
        weights: list[float] = []
        for row, names in enumerate(values):
            for name in names:
                rows.append(row)
                codes.append(code_of.setdefault(name, len(code_of)))
                weights.append(1.0 / len(names))
        return Groups(len(values), np.array(rows, np.intp), np.array(codes, np.intp), np.array(weights), code_of)


class GroupMeans:
    """The mean reward of each group (an artist, a genre) per region, shrunk toward the group's
    mean over every region, itself shrunk toward 0; ``prior_n`` neutral rewards come first. A
    reward of a track in several groups counts in full for each of them (see the module docstring)."""

    def __init__(self, prior_n: float) -> None:
        self._prior_n = prior_n
        self._sum: dict[str, float] = {}
        self._n: dict[str, int] = {}
        self._region_sum: dict[tuple[str, str], float] = {}
        self._region_n: dict[tuple[str, str], int] = {}

    def learn(self, region: str, names: tuple[str, ...], reward: float) -> None:
        """One reward for a track in groups ``names`` in ``region`` (() is no group: nothing learned)."""
        for name in names:
            self._sum[name] = self._sum.get(name, 0.0) + reward
            self._n[name] = self._n.get(name, 0) + 1
            key = (region, name)
            self._region_sum[key] = self._region_sum.get(key, 0.0) + reward
            self._region_n[key] = self._region_n.get(key, 0) + 1

    def term(self, groups: Groups, region: str) -> np.ndarray:
        """(N,) the mean over each row's groups of their shrunk mean reward in ``region`` (a group
        never heard counts 0; a row in no group gets 0)."""
        if not self._n or not len(groups.codes):
            return np.zeros(groups.n_rows)
        # only the groups heard have a term: the work follows the listening, not the library's size
        per_group = np.zeros(len(groups.code_of))
        for name, n in self._n.items():
            i = groups.code_of.get(name)
            if i is None:
                continue
            shared = self._sum[name] / (n + self._prior_n)
            key = (region, name)
            per_group[i] = ((self._region_sum.get(key, 0.0) + self._prior_n * shared)
                            / (self._region_n.get(key, 0) + self._prior_n))
        return np.bincount(groups.rows, groups.weights * per_group[groups.codes], minlength=groups.n_rows)

    def same_as(self, other: GroupMeans) -> bool:
        return (self._n == other._n and self._region_n == other._region_n and close_dicts(self._sum, other._sum)
                and close_dicts(self._region_sum, other._region_sum))
