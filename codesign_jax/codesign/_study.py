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
from codesign_jax.codesign._semi import Ranking

__all__ = ["random_objectives", "rank_study", "recovery", "take_rows"]


def take_rows(m: PairMetrics, rows: np.ndarray) -> PairMetrics:
    """The metrics of table rows ``rows`` (positions into ``m``), e.g. the kept architectures of a full table."""
    rows = np.asarray(rows, np.int64)
    return m.replace(rows=m.rows[rows], latency=m.latency[rows], energy=m.energy[rows], area=m.area[rows],
                     buffer=m.buffer[rows], feasible=m.feasible[rows], model_points=0, seconds=0.0)


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


def recovery(exhaustive: Sequence[Choice], semi: Sequence[Choice], ranking: Ranking, k_values: Sequence[int],
             objectives: Sequence[Objective], max_misses: int = 20) -> dict:
    """Recovery of the exhaustive optima by semi-decoupled (per setting), and the k each setting needs."""
    same = np.array([s.same_pair(e) for s, e in zip(semi, exhaustive)])
    need = np.array([ranking.position(e.arch_pos) + 1 if e.feasible else 0 for e in exhaustive])
    misses = [{"setting": i, "goal": objectives[i].goal, "budgets": objectives[i].budgets(),
               "exhaustive_arch": exhaustive[i].arch, "exhaustive_design": exhaustive[i].design,
               "semi_arch": semi[i].arch, "semi_design": semi[i].design, "k_needed": int(need[i])}
              for i in np.flatnonzero(~same)[:max_misses]]
    return {"recovery_rate": float(same.mean()), "settings": int(same.size), "misses": int((~same).sum()),
            "k_needed": {"max": int(need.max()), "median": float(np.median(need)), "p95": float(np.percentile(need, 95))},
            "recovery_vs_k": {int(k): float(np.mean(need <= k)) for k in k_values},
            "miss_examples": misses}


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
