"""Semi-decoupled co-design (Lu, Yan, Shi, Ren, tinyML 2022) and the exhaustive joint baseline.

Stage 1 evaluates every architecture on one reference accelerator per dataflow family and ranks them by how
many others dominate them in (accuracy up, latency down, energy down) on that reference (0 = the Pareto
front; a relative ``tolerance`` widens the front: a dominator must beat latency and energy by that factor);
with several references an architecture's rank is its best rank on any of them. The kept set is the first
``k``. Stage 2 evaluates only the kept architectures on every design and runs the joint search
(:func:`~codesign_jax.codesign._search.best_pairs`); the exhaustive baseline runs the same evaluation and
search on every architecture. With the search's total order, semi-decoupled returns the exhaustive optimum
exactly when that optimum's architecture is kept, so the smallest sufficient ``k`` is its stage-1 rank + 1.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from codesign_jax.codesign._accel import AcceleratorSpace
from codesign_jax.codesign._metrics import PairMetrics, evaluate_pairs
from codesign_jax.codesign._objective import Objective
from codesign_jax.codesign._search import Choice, best_pairs
from codesign_jax.nas import ArchSpace, DistinctLayers

__all__ = ["Ranking", "SearchRun", "dominated_counts", "exhaustive_search", "reference_points", "semi_decoupled",
           "smallest_k", "stage1_ranking"]


@dataclasses.dataclass(frozen=True)
class Ranking:
    """Stage 1: architecture positions in keep order, from the reference accelerators ``perf``."""

    order: np.ndarray
    perf: np.ndarray
    dominated: np.ndarray
    metrics: PairMetrics
    seconds: float

    def kept(self, k: int) -> np.ndarray:
        """The first ``k`` architectures, in ascending position order."""
        if not 1 <= k <= self.order.size:
            raise ValueError(f"k={k} must lie in [1, {self.order.size}].")
        return np.sort(self.order[:k])

    def position(self, arch_pos: int) -> int:
        """Rank of an architecture position (0 = kept first)."""
        return int(np.flatnonzero(self.order == arch_pos)[0])


@dataclasses.dataclass(frozen=True)
class SearchRun:
    """One search: its choices (one per objective), the pairs it evaluated and its wall times."""

    choices: list
    metrics: PairMetrics
    points: int
    model_points: int
    seconds: dict


def reference_points(space: AcceleratorSpace, reference: Mapping[str, Any], per_dataflow: bool) -> np.ndarray:
    """Perf-point indices of the reference accelerator(s): ``reference`` gives a value per perf axis (dataflow by
    name); with ``per_dataflow`` one reference per dataflow of the space, the other axes as given."""
    pts = space.perf_points()
    unknown = sorted(set(reference) - set(pts))
    if unknown:
        raise ValueError(f"reference: unknown axis {unknown}; expected {sorted(pts)}.")
    missing = sorted(set(pts) - set(reference) - ({"dataflow"} if per_dataflow else set()))
    if missing:
        raise ValueError(f"reference: missing axis {missing}.")
    flows = list(space.dataflows if per_dataflow else [reference["dataflow"]])
    out = []
    for df in flows:
        m = np.ones(space.n_perf, bool)
        for k, v in {**reference, "dataflow": df}.items():
            if v not in set(pts[k].tolist()):
                raise ValueError(f"reference.{k}={v!r} is not a value of the accelerator grid: {sorted(set(pts[k]))}.")
            m &= pts[k] == v
        if per_dataflow and df not in set(pts["dataflow"].tolist()):
            continue
        out.append(int(np.flatnonzero(m)[0]))
    return np.asarray(out, np.int64)


def dominated_counts(accuracy, latency, energy, tolerance: float = 0.0, block: int = 512) -> np.ndarray:
    """int64 ``[n]``: for each architecture, how many others dominate it (accuracy >=, latency and energy
    <= with the ``tolerance`` factor, one strictly better); NaN metrics (rejected) count as dominated by all."""
    acc, lat, en = (np.asarray(x, np.float64) for x in (accuracy, latency, energy))
    ok = ~(np.isnan(lat) | np.isnan(en))
    n = acc.size
    out = np.full(n, n, np.int64)
    a, l, e = acc[ok], lat[ok] * (1 + tolerance), en[ok] * (1 + tolerance)
    la, ea = lat[ok], en[ok]
    cnt = np.empty(a.size, np.int64)
    for lo in range(0, a.size, block):
        i = slice(lo, lo + block)
        ge = a[None, :] >= a[i, None]
        le = (l[None, :] <= la[i, None]) & (e[None, :] <= ea[i, None])
        strict = (a[None, :] > a[i, None]) | (l[None, :] < la[i, None]) | (e[None, :] < ea[i, None])
        cnt[i] = np.sum(ge & le & strict, axis=1)
    out[ok] = cnt
    return out


def stage1_ranking(space: AcceleratorSpace, distinct: DistinctLayers, accuracy: np.ndarray, perf: Sequence[int], *,
                   tolerance: float = 0.0, backend: str = "auto") -> Ranking:
    """Evaluates every architecture on the reference perf points and orders them for keeping."""
    if tolerance < 0:
        raise ValueError(f"tolerance={tolerance} must be >= 0.")
    t0 = time.perf_counter()
    m = evaluate_pairs(space, distinct, perf=np.asarray(perf, np.int64), backend=backend)
    n = accuracy.size
    ranks, dom = [], []
    for r in range(m.perf.size):
        # a reference has no buffer limit: rank on the model's figures where it accepts the network
        d = dominated_counts(accuracy, m.latency[:, r], m.energy[:, r], tolerance)
        order = np.lexsort((np.arange(n), -accuracy, d))
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n)
        ranks.append(rank)
        dom.append(d)
    best = np.min(np.stack(ranks), axis=0)
    order = np.lexsort((np.arange(n), -accuracy, best))
    return Ranking(order=order, perf=m.perf, dominated=np.stack(dom), metrics=m, seconds=time.perf_counter() - t0)


def exhaustive_search(space: AcceleratorSpace, arch: ArchSpace, distinct: DistinctLayers,
                      objectives: Sequence[Objective], *, backend: str = "auto") -> SearchRun:
    """Every architecture on every design (the joint optimum of each objective)."""
    t0 = time.perf_counter()
    m = evaluate_pairs(space, distinct, backend=backend)
    t1 = time.perf_counter()
    choices = best_pairs(m, arch.accuracy, arch.arch_index, objectives, space.n_buffers)
    t2 = time.perf_counter()
    return SearchRun(choices, m, len(arch) * space.size, m.model_points,
                     {"evaluate": t1 - t0, "search": t2 - t1, "total": t2 - t0})


def semi_decoupled(space: AcceleratorSpace, arch: ArchSpace, distinct: DistinctLayers,
                   objectives: Sequence[Objective], ranking: Ranking, k: int, *, backend: str = "auto") -> SearchRun:
    """Stage 2 on the ``k`` architectures stage 1 keeps (``ranking``, whose time is counted here too)."""
    t0 = time.perf_counter()
    rows = ranking.kept(k)
    m = evaluate_pairs(space, distinct, rows=rows, backend=backend)
    t1 = time.perf_counter()
    choices = best_pairs(m, arch.accuracy[rows], arch.arch_index[rows], objectives, space.n_buffers)
    choices = [dataclasses.replace(c, arch_pos=int(rows[c.arch_pos])) if c.arch_pos >= 0 else c for c in choices]
    t2 = time.perf_counter()
    points = len(arch) * ranking.perf.size + k * space.size
    return SearchRun(choices, m, points, ranking.metrics.model_points + m.model_points,
                     {"stage1": ranking.seconds, "evaluate": t1 - t0, "search": t2 - t1,
                      "total": ranking.seconds + t2 - t0})


def smallest_k(ranking: Ranking, optimum: Choice) -> int | None:
    """The smallest ``k`` whose kept set holds the exhaustive optimum's architecture (None if infeasible)."""
    return ranking.position(optimum.arch_pos) + 1 if optimum.feasible else None
