"""Semi-decoupled co-design (Lu, Yan, Shi, Ren, tinyML 2022) and the exhaustive joint baseline.

Stage 1 evaluates every architecture on a reference accelerator and ranks them by how many others dominate
them in (accuracy up, latency down, energy down) there (0 = the Pareto front; ties by accuracy; a relative
``tolerance`` widens the front: a dominator must beat latency and energy by that factor). The kept set is the
first ``k``. With one reference, stage 2 evaluates the kept architectures on every design; with one reference
per dataflow family, each family's designs are searched with that family's kept set and the best pair over
families wins. Family references (:func:`family_references`) give each family its own reference point and its
own ``k`` (a per-reference sequence of ``k``); the points count is then exact per family:
``n_arch * n_refs + sum_r k_r * n_designs(family r)``. The joint search is
:func:`~codesign_jax.codesign._search.best_pairs`; the exhaustive baseline runs the same evaluation and search
on every architecture. With the search's total order, semi-decoupled returns the exhaustive optimum exactly
when the optimum's architecture is kept by the reference standing for the optimum's design, so the smallest
sufficient ``k`` is its rank there + 1.
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
from codesign_jax.codesign._search import Choice, best_of, best_pairs
from codesign_jax.nas import ArchSpace, DistinctLayers

__all__ = ["Ranking", "SearchRun", "dominated_counts", "exhaustive_search", "family_references", "per_reference_k",
           "reference_points", "semi_decoupled", "semi_points", "smallest_k", "stage1_ranking"]


@dataclasses.dataclass(frozen=True)
class Ranking:
    """Stage 1: for each reference accelerator ``perf[r]``, architecture positions in keep order ``order[r]``.

    ``family[r]`` is the dataflow index whose designs reference ``r`` stands for (per-family mode: stage 2
    searches each family's designs with that family's kept set), or -1 (one reference for every design).
    """

    order: np.ndarray
    perf: np.ndarray
    family: np.ndarray
    dominated: np.ndarray
    metrics: PairMetrics
    seconds: float

    def kept(self, k: int, r: int = 0) -> np.ndarray:
        """The first ``k`` architectures of reference ``r``, in ascending position order."""
        if not 1 <= k <= self.order.shape[1]:
            raise ValueError(f"k={k} must lie in [1, {self.order.shape[1]}].")
        return np.sort(self.order[r, :k])

    def position(self, arch_pos: int, r: int = 0) -> int:
        """Rank of an architecture position for reference ``r`` (0 = kept first)."""
        return int(np.flatnonzero(self.order[r] == arch_pos)[0])

    def reference_for(self, space: AcceleratorSpace, perf: int) -> int:
        """The reference whose kept set stage 2 pairs with designs of perf point ``perf``."""
        if self.family[0] < 0:
            return 0
        return int(np.flatnonzero(self.family == space.perf.points([perf])["dataflow"][0])[0])

    def perf_of(self, space: AcceleratorSpace, r: int) -> np.ndarray:
        """The perf points stage 2 searches with reference ``r``'s kept set."""
        if self.family[r] < 0:
            return np.arange(space.n_perf)
        return np.flatnonzero(space.perf.points(np.arange(space.n_perf))["dataflow"] == self.family[r])


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


def family_references(space: AcceleratorSpace, spec: Mapping[str, Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """One reference per dataflow family, each with its own perf axes and kept-set size.

    ``spec`` maps every dataflow of the space to ``{axis: value, ..., "k": int}`` (the perf axes but the
    dataflow). Returns int64 ``[n_refs]`` perf points (in the space's dataflow order) and int64 ``[n_refs]`` k."""
    flows = list(space.dataflows)
    unknown, missing = sorted(set(spec) - set(flows)), [f for f in flows if f not in spec]
    if unknown or missing:
        raise ValueError(f"family_references: dataflows {unknown} are not in the space and {missing} have no "
                         f"reference; expected one entry per dataflow of {flows}.")
    perf, ks = [], []
    for f in flows:
        entry = dict(spec[f])
        if not isinstance(entry.get("k"), int) or entry["k"] < 1:
            raise ValueError(f"family_references.{f}.k={entry.get('k')!r} must be an int >= 1.")
        ks.append(entry.pop("k"))
        perf.append(int(reference_points(space, {**entry, "dataflow": f}, per_dataflow=False)[0]))
    return np.asarray(perf, np.int64), np.asarray(ks, np.int64)


def per_reference_k(k, n_refs: int) -> np.ndarray:
    """int64 ``[n_refs]``: ``k`` for every reference (an int) or as given (a sequence of ``n_refs``)."""
    ks = np.full(n_refs, k, np.int64) if np.ndim(k) == 0 else np.asarray(k, np.int64)
    if ks.shape != (n_refs,):
        raise ValueError(f"k={k!r} must be an int or one value per reference ({n_refs}).")
    return ks


def semi_points(ranking: "Ranking", space: AcceleratorSpace, k) -> int:
    """(architecture, design) pairs semi-decoupled evaluates: every architecture on every reference, then each
    reference's ``k_r`` kept architectures on the designs it stands for (``n_buffers`` designs per perf point)."""
    ks = per_reference_k(k, ranking.perf.size)
    n = ranking.order.shape[1]
    return int(n * ranking.perf.size + sum(int(ks[r]) * ranking.perf_of(space, r).size * space.n_buffers
                                           for r in range(ranking.perf.size)))


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
                   per_family: bool = False, tolerance: float = 0.0, backend: str = "auto") -> Ranking:
    """Evaluates every architecture on the reference perf points and orders them for keeping, per reference.

    ``per_family``: each reference stands for the designs of its own dataflow (one reference per family);
    otherwise there must be one reference, standing for every design."""
    if tolerance < 0:
        raise ValueError(f"tolerance={tolerance} must be >= 0.")
    perf = np.asarray(perf, np.int64)
    if not per_family and perf.size != 1:
        raise ValueError(f"one reference stands for every design: got {perf.size} reference points.")
    t0 = time.perf_counter()
    m = evaluate_pairs(space, distinct, perf=perf, backend=backend)
    n = accuracy.size
    orders, dom = [], []
    for r in range(m.perf.size):
        # a reference has no buffer limit: rank on the model's figures where it accepts the network
        d = dominated_counts(accuracy, m.latency[:, r], m.energy[:, r], tolerance)
        orders.append(np.lexsort((np.arange(n), -accuracy, d)))
        dom.append(d)
    family = space.perf.points(perf)["dataflow"] if per_family else np.array([-1])
    if per_family and np.unique(family).size != family.size:
        raise ValueError("per-family references need one reference per dataflow.")
    return Ranking(order=np.stack(orders), perf=m.perf, family=np.asarray(family, np.int64), dominated=np.stack(dom),
                   metrics=m, seconds=time.perf_counter() - t0)


def _evaluate_all_pairs(space: AcceleratorSpace, distinct: DistinctLayers, backend: str) -> PairMetrics:
    """Every architecture on every perf point; on ``P`` processes (``jax.distributed``) each evaluates perf
    points ``p, p + P, ...`` and the columns are exchanged once (every process gets the whole table, the same
    numbers: each column is evaluated independently of the others). ``model_points`` counts every process's."""
    import jax

    n_proc, me = jax.process_count(), jax.process_index()
    if n_proc == 1:
        return evaluate_pairs(space, distinct, backend=backend)
    from codesign_jax.sweep._distributed import process_allgather_ragged

    mine = np.arange(space.n_perf)[me::n_proc]
    m = evaluate_pairs(space, distinct, perf=mine, backend=backend)
    out = {}
    for f in ("latency", "energy", "area", "buffer", "feasible"):
        cols = process_allgather_ragged(np.ascontiguousarray(np.asarray(getattr(m, f)).T))   # P x [n_p, n]
        full = np.empty((m.rows.size, space.n_perf), np.asarray(getattr(m, f)).dtype)
        for q, c in enumerate(cols):
            full[:, q::n_proc] = c.T
        out[f] = full
    total = int(sum(process_allgather_ragged(np.asarray([m.model_points], np.int64))).sum())
    return PairMetrics(rows=m.rows, perf=np.arange(space.n_perf), **out, model_points=total, seconds=m.seconds)


def exhaustive_search(space: AcceleratorSpace, arch: ArchSpace, distinct: DistinctLayers,
                      objectives: Sequence[Objective], *, backend: str = "auto") -> SearchRun:
    """Every architecture on every design (the joint optimum of each objective). Under ``jax.distributed``
    each process evaluates its share of the perf points (:func:`_evaluate_all_pairs`); the result is the same."""
    t0 = time.perf_counter()
    m = _evaluate_all_pairs(space, distinct, backend)
    t1 = time.perf_counter()
    choices = best_pairs(m, arch.accuracy, arch.arch_index, objectives, space.n_buffers)
    t2 = time.perf_counter()
    return SearchRun(choices, m, len(arch) * space.size, m.model_points,
                     {"evaluate": t1 - t0, "search": t2 - t1, "total": t2 - t0})


def semi_decoupled(space: AcceleratorSpace, arch: ArchSpace, distinct: DistinctLayers,
                   objectives: Sequence[Objective], ranking: Ranking, k, *, backend: str = "auto") -> SearchRun:
    """Stage 2: each reference's ``k`` kept architectures (an int, or one per reference) on the designs it stands
    for, best pair over references (``ranking``'s stage-1 time is counted here too). ``metrics`` is the list of
    per-reference tables."""
    ks = per_reference_k(k, ranking.perf.size)
    t0 = time.perf_counter()
    parts, per_ref = [], []
    for r in range(ranking.perf.size):
        rows = ranking.kept(int(ks[r]), r)
        m = evaluate_pairs(space, distinct, rows=rows, perf=ranking.perf_of(space, r), backend=backend)
        parts.append(m)
        cs = best_pairs(m, arch.accuracy[rows], arch.arch_index[rows], objectives, space.n_buffers)
        per_ref.append([dataclasses.replace(c, arch_pos=int(rows[c.arch_pos])) if c.arch_pos >= 0 else c for c in cs])
    t1 = time.perf_counter()
    choices = [best_of([cs[i] for cs in per_ref], o) for i, o in enumerate(objectives)]
    t2 = time.perf_counter()
    points = semi_points(ranking, space, ks)
    return SearchRun(choices, parts, points, ranking.metrics.model_points + sum(m.model_points for m in parts),
                     {"stage1": ranking.seconds, "stage2": t2 - t0, "total": ranking.seconds + t2 - t0})


def smallest_k(ranking: Ranking, space: AcceleratorSpace, optimum: Choice) -> int | None:
    """The smallest ``k`` whose kept set (of the reference standing for the optimum's design) holds the exhaustive
    optimum's architecture (None if infeasible)."""
    if not optimum.feasible:
        return None
    return ranking.position(optimum.arch_pos, ranking.reference_for(space, optimum.perf)) + 1
