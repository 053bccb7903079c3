"""Pieces of the semi-decoupled study: random constraint settings, recovery statistics, rank-correlation figures."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from codesign_jax.codesign._accel import AcceleratorSpace
from codesign_jax.codesign._metrics import PairMetrics
from codesign_jax.codesign._objective import GOALS, Objective
from codesign_jax.codesign._plots import correlation_heatmap, latency_scatter
from codesign_jax.codesign._rank import rank_correlation, sample_accelerators
from codesign_jax.codesign._search import Choice

__all__ = ["random_objectives", "rank_study", "recovery", "take"]


def take(m: PairMetrics, rows: np.ndarray, cols: np.ndarray | None = None) -> PairMetrics:
    """The metrics of table rows ``rows`` and perf columns ``cols`` (positions into ``m``; default all), e.g. a
    kept set on one dataflow family's designs cut from the exhaustive table."""
    rows = np.asarray(rows, np.int64)
    cols = np.arange(m.perf.size) if cols is None else np.asarray(cols, np.int64)
    cut = lambda x: x[np.ix_(rows, cols)]
    return m.replace(rows=m.rows[rows], perf=m.perf[cols], latency=cut(m.latency), energy=cut(m.energy),
                     area=cut(m.area), buffer=cut(m.buffer), feasible=cut(m.feasible), model_points=0, seconds=0.0)


def random_objectives(m: PairMetrics, accuracy: np.ndarray, n: int, seed: int, goals: Sequence[str]) -> list:
    """``n`` feasible constraint settings drawn across the feasible range.

    Setting ``i`` has goal ``goals[i % len(goals)]`` and the budgets of an anchor pair: a uniformly random
    architecture with some feasible design, and a uniformly random feasible design of it. ``max_accuracy``
    gets the anchor's latency, energy and area as budgets; the minimizing goals its accuracy (as a floor) and
    area. The anchor meets its own budgets, so every setting is feasible and budgets follow the distribution
    of buildable pairs.
    """
    bad = [g for g in goals if g not in GOALS or g == "weighted"]
    if bad or not goals:
        raise ValueError(f"random.goals={tuple(goals)} must be non-empty, from {GOALS[:4]}.")
    if n < 1:
        raise ValueError(f"random.n={n} must be >= 1.")
    rng = np.random.default_rng(seed)
    archs = np.flatnonzero(m.feasible.any(axis=1))
    out = []
    for i in range(n):
        a = int(rng.choice(archs))
        p = int(rng.choice(np.flatnonzero(m.feasible[a])))
        goal = goals[i % len(goals)]
        if goal == "max_accuracy":
            out.append(Objective(goal, max_latency=float(m.latency[a, p]), max_energy=float(m.energy[a, p]),
                                 max_area=float(m.area[a, p])))
        else:
            out.append(Objective(goal, min_accuracy=float(accuracy[a]), max_area=float(m.area[a, p])))
    return out


def recovery(exhaustive: Sequence[Choice], semi: Sequence[Choice], need: Sequence, k_values: Sequence[int],
             objectives: Sequence[Objective], max_misses: int = 20) -> dict:
    """Recovery of the exhaustive optima by semi-decoupled (per setting), and the k each setting needs
    (``need[i]``: :func:`~codesign_jax.codesign._semi.smallest_k` of setting ``i``)."""
    same = np.array([s.same_pair(e) for s, e in zip(semi, exhaustive)])
    need = np.array([0 if n is None else n for n in need])
    goals = np.array([o.goal for o in objectives])
    gap = np.array([_gap(e, c, o) for e, c, o in zip(exhaustive, semi, objectives)])
    misses = [{"setting": int(i), "goal": objectives[i].goal, "budgets": objectives[i].budgets(),
               "exhaustive_arch": exhaustive[i].arch, "exhaustive_design": exhaustive[i].design,
               "semi_arch": semi[i].arch, "semi_design": semi[i].design, "k_needed": int(need[i]),
               "primary_gap": float(gap[i])}
              for i in np.flatnonzero(~same)[:max_misses]]
    miss_gap = gap[~same]
    return {"recovery_rate": float(same.mean()), "settings": int(same.size), "misses": int((~same).sum()),
            "miss_primary_gap": {"median": float(np.median(miss_gap)), "max": float(np.max(miss_gap))}
            if miss_gap.size else None,
            "recovery_by_goal": {g: float(same[goals == g].mean()) for g in np.unique(goals)},
            "k_needed": {"max": int(need.max()), "median": float(np.median(need)), "p95": float(np.percentile(need, 95))},
            "recovery_vs_k": {int(k): float(np.mean(need <= k)) for k in k_values},
            "miss_examples": misses}


def _gap(ex: Choice, semi: Choice, o: Objective) -> float:
    """How much worse semi-decoupled's pair is on the goal's primary value: relative excess latency / energy /
    EDP / weighted value, or accuracy points lost for ``max_accuracy`` (0 when it found the optimum)."""
    if not (ex.feasible and semi.feasible):
        return 0.0 if ex.feasible == semi.feasible else float("inf")
    if o.goal == "max_accuracy":
        return ex.accuracy - semi.accuracy
    e, c = (float(x.keys(np, y.latency, y.energy, y.area, y.accuracy)[0]) for x, y in ((o, ex), (o, semi)))
    return c / e - 1 if e > 0 else c - e


def _summary(rc: dict) -> dict:
    return {k: v for k, v in rc.items() if k != "matrices"}


def rank_study(m: PairMetrics, space: AcceleratorSpace, per_group: int, seed: int, kendall: bool, top_k: tuple,
               workdir: str, tag: str = "") -> dict:
    """Rank correlation over a sample of the accelerator grid (``per_group`` perf points per dataflow among those
    accepting every architecture), with a heatmap and a scatter PNG in ``workdir``."""
    ok = m.feasible.all(axis=0)
    groups = np.asarray(space.perf_points(m.perf)["dataflow"], str)
    cols = np.flatnonzero(ok)
    pick = cols[sample_accelerators(groups[cols], per_group, seed)]
    rc = rank_correlation(m.latency[:, pick], m.energy[:, pick], groups[pick], kendall=kendall, top_k=top_k)
    pts = space.perf_points(m.perf[pick])
    labels = [f"{pts['dataflow'][i]}/{pts['num_pes'][i] if 'num_pes' in pts else pts['rows'][i]}"
              for i in range(pick.size)]
    rc["accelerators"] = [labels[i] for i in rc["accelerators"]]
    heat = correlation_heatmap(os.path.join(workdir, f"rank_heatmap{tag}.png"),
                               {k: v for k, v in rc["matrices"].items() if k.startswith("spearman")}, labels,
                               f"Spearman rank correlation across {pick.size} accelerators")
    scatter = latency_scatter(os.path.join(workdir, f"rank_scatter{tag}.png"),
                              _scatter_pairs(m.latency[:, pick], rc["matrices"]["spearman_latency"], groups[pick],
                                             labels), "Architecture latency (cycles) on two accelerators")
    out = _summary(rc)
    out["figures"] = [os.path.basename(heat), os.path.basename(scatter)]
    return out


def _scatter_pairs(lat: np.ndarray, rho: np.ndarray, groups: np.ndarray, labels: list) -> list:
    """The least-correlated pair within one dataflow and across dataflows, as scatter panels."""
    same = groups[:, None] == groups[None, :]
    panels = []
    for name, mask in (("within a dataflow", same), ("across dataflows", ~same)):
        m = np.where(mask & ~np.eye(len(groups), dtype=bool), rho, np.inf)
        if not np.isfinite(m).any():
            continue
        i, j = np.unravel_index(int(np.argmin(m)), m.shape)
        panels.append((lat[:, i], lat[:, j], labels[i], labels[j], f"least correlated {name}: rho={rho[i, j]:.3f}"))
    return panels
