"""The joint search: the best (architecture, design) pair of a metrics table for many objectives at once.

One lexicographic argmin per goal (written once for numpy and jax.numpy; jitted with ``lax.map`` over a batch of
budget settings for large tables) runs over ``[n_arch, n_perf]`` tables; both the exhaustive baseline and the semi-decoupled stage 2 call it on their own tables. A
setting nothing meets returns an infeasible :class:`Choice` naming the binding budget and the closest pair.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from codesign_jax.codesign._metrics import PairMetrics
from codesign_jax.codesign._objective import BUDGETS, GOALS, Objective

__all__ = ["Choice", "best_of", "best_pairs"]


@dataclasses.dataclass(frozen=True)
class Choice:
    """The result of one objective: the optimum, or why there is none.

    Attributes:
      feasible: some pair meets every budget.
      arch: the architecture's index in the full space; arch_pos its position in the metrics table.
      design: flat design index in the accelerator space (perf point ``perf``, buffer option ``buffer``).
      latency, energy, area, accuracy: the pair's metrics (cycles, energy unit, mm^2, %).
      binding: '' if feasible, else the budget the closest pair misses by the most (e.g. 'max_latency').
      violation: ``{budget: relative shortfall}`` of the closest pair (0 = met); empty if feasible.
    """

    feasible: bool
    arch: int
    arch_pos: int
    design: int
    perf: int
    buffer: int
    latency: float
    energy: float
    area: float
    accuracy: float
    binding: str = ""
    violation: dict = dataclasses.field(default_factory=dict)

    def same_pair(self, other: "Choice") -> bool:
        """Both found the same optimum, or both found none (infeasible for the same binding budget)."""
        if self.feasible != other.feasible:
            return False
        if not self.feasible:
            return self.binding == other.binding
        return (self.arch, self.design) == (other.arch, other.design)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if not self.feasible:
            d["message"] = (f"infeasible: no (architecture, accelerator) pair meets the budgets; binding budget "
                            f"{self.binding} (closest pair: architecture {self.arch}, design {self.design}, misses "
                            f"it by {100 * self.violation.get(self.binding, 0):.3g}%)")
        return d


def _lex_argmin(xp, goal: str, lat, en, area, acc, b, w):
    """Flat index (arch-major) of the best pair within budgets ``b`` (4) under ``goal``'s lexicographic key, or -1.

    Written once against ``xp`` (numpy or jax.numpy)."""
    accb = xp.broadcast_to(acc[:, None], lat.shape)
    with np.errstate(invalid="ignore"):
        ok = (lat <= b[0]) & (en <= b[1]) & (area <= b[2]) & (accb >= b[3]) & ~xp.isnan(lat)
    if goal == "weighted":
        value = w[0] * lat / w[4] + w[1] * en / w[5] + w[2] * area / w[6] - w[3] * accb / 100.0
    else:
        value = {"max_accuracy": -accb, "min_latency": lat, "min_energy": en, "min_edp": lat * en}[goal]
    rest = {"max_accuracy": (lat, en, area), "min_latency": (-accb, en, area), "min_energy": (-accb, lat, area),
            "min_edp": (-accb, lat, area), "weighted": (-accb, lat, area)}[goal]
    mask = ok
    for key in (value, *rest):
        k = xp.where(mask, key, xp.inf)
        mask = mask & (k == xp.min(k))
    flat = mask.reshape(-1)
    return xp.where(xp.any(flat), xp.argmax(flat), -1)


@functools.lru_cache(maxsize=None)
def _argmin_jit(goal: str):
    """Jitted ``(lat, en, area [n, P], acc [n], budgets [R, 4], weights [R, 8]) -> flat index [R]``."""

    @jax.jit
    def run(lat, en, area, acc, budgets, weights):
        return jax.lax.map(lambda bw: _lex_argmin(jnp, goal, lat, en, area, acc, bw[0], bw[1]), (budgets, weights))

    return run


#: Tables below this many pairs are searched with numpy (no compilation), larger ones with the jitted search.
AUTO_NUMPY_PAIRS = 200_000


def _closest(m: PairMetrics, acc: np.ndarray, obj: Objective) -> tuple[int, int, str, dict]:
    """``(arch_pos, p, binding budget, violations)`` of the pair with the smallest worst relative violation."""
    vio = {}
    metric = {"latency": m.latency, "energy": m.energy, "area": m.area,
              "accuracy": np.broadcast_to(acc[:, None], m.latency.shape)}
    for name, budget in obj.budgets().items():
        key, sense = BUDGETS[name]
        x = metric[key]
        v = x / budget - 1 if sense == "max" else (budget - x) / max(abs(budget), 1e-12)
        vio[name] = np.where(m.feasible, np.maximum(v, 0.0), np.inf)
    stack = np.stack(list(vio.values())) if vio else np.where(m.feasible, 0.0, np.inf)[None]
    worst, total = np.max(stack, axis=0), np.sum(stack, axis=0)
    if not np.isfinite(worst).any():
        return -1, -1, "hardware", {}
    # smallest worst violation, then smallest total violation, then the objective's own order
    keys = [k for k in obj.keys(np, m.latency, m.energy, m.area, acc[:, None])]
    cand = worst == np.min(worst)
    for key in [total, *keys]:
        kk = np.where(cand, key, np.inf)
        cand &= kk == np.min(kk)
    i, p = np.unravel_index(int(np.argmax(cand)), worst.shape)
    v = {k: float(x[i, p]) for k, x in vio.items()}
    return int(i), int(p), max(v, key=v.get), v


def best_pairs(metrics: PairMetrics, accuracy: np.ndarray, arch_index: np.ndarray,
               objectives: Sequence[Objective], n_buffers: int) -> list[Choice]:
    """The optimum of each objective over the pairs of ``metrics``.

    Args:
      metrics: :class:`PairMetrics` of ``n`` architectures x ``P`` perf points.
      accuracy: float64 ``[n]`` accuracy (%) of the architectures ``metrics.rows``.
      arch_index: int64 ``[n]`` their indices in the full space (reported; rows must be in ascending index order
        so ties go to the lowest index in every search).
      objectives: the objectives (any mix of goals).
      n_buffers: buffer options per perf point of the accelerator space (for design indices).

    Returns:
      one :class:`Choice` per objective.
    """
    if np.any(np.diff(arch_index) <= 0):
        raise ValueError("arch_index must be strictly increasing (ties go to the lowest architecture index).")
    acc = np.asarray(accuracy, np.float64)
    use_jax = metrics.latency.size > AUTO_NUMPY_PAIRS
    args = [jnp.asarray(x) if use_jax else x for x in (metrics.latency, metrics.energy, metrics.area, acc)]
    P = metrics.perf.size
    flat = np.full(len(objectives), -1, np.int64)
    for goal in GOALS:
        sel = [i for i, o in enumerate(objectives) if o.goal == goal]
        if not sel:
            continue
        b = np.array([[objectives[i].max_latency, objectives[i].max_energy, objectives[i].max_area,
                       objectives[i].min_accuracy] for i in sel], np.float64)
        w = np.array([[dict(objectives[i].weights).get(k, 0.0) for k in ("latency", "energy", "area", "accuracy")]
                      + [dict(objectives[i].scales).get(k, 1.0) for k in ("latency", "energy", "area", "accuracy")]
                      for i in sel], np.float64)
        if use_jax:
            flat[sel] = np.asarray(_argmin_jit(goal)(*args, jnp.asarray(b), jnp.asarray(w)))
        else:
            flat[sel] = [int(_lex_argmin(np, goal, *args, bi, wi)) for bi, wi in zip(b, w)]
    out = []
    for o, f in zip(objectives, flat):
        if f >= 0:
            i, p, binding, vio = int(f // P), int(f % P), "", {}
        else:
            i, p, binding, vio = _closest(metrics, acc, o)
        if i < 0:  # no pair is buildable at all (every design rejects every network)
            out.append(Choice(False, -1, -1, -1, -1, -1, math.nan, math.nan, math.nan, math.nan, binding, vio))
            continue
        b = int(metrics.buffer[i, p])
        out.append(Choice(feasible=bool(f >= 0), arch=int(arch_index[i]), arch_pos=i, design=int(metrics.perf[p]) * n_buffers
                          + b, perf=int(metrics.perf[p]), buffer=b, latency=float(metrics.latency[i, p]),
                          energy=float(metrics.energy[i, p]), area=float(metrics.area[i, p]), accuracy=float(acc[i]),
                          binding=binding, violation=vio))
    return out


def best_of(choices: Sequence[Choice], objective: Objective) -> Choice:
    """The better of several searches' choices for one objective (e.g. one per dataflow family): feasible before
    infeasible, then the objective's order and the lowest (architecture, design); infeasible ones by their worst
    violation."""
    def key(c: Choice):
        if c.feasible:
            return (0, [float(k) for k in objective.keys(np, c.latency, c.energy, c.area, c.accuracy)], c.arch, c.design)
        worst = max(c.violation.values()) if c.violation else math.inf
        return (1, [worst], c.arch, c.design)
    return min(choices, key=key)
