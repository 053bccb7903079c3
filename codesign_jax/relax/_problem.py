"""Hardware search problems in both numerics: a relaxed objective for gradients, the exact one to report.

A :class:`Problem` is what :func:`~codesign_jax.relax.optimize` and the baselines search: named
hardware parameters, each with its legal values (:class:`Param`; searched in log space between the
smallest and the largest), a set of dataflows, budgets, and three pure functions of one workload:

* ``relaxed_costs(w, x, t, dataflows=None) -> [D]``: the objective of every dataflow (or of the
  static index tuple ``dataflows``) at the continuous point ``x`` (``{name: float64 []}``) at
  temperature ``t`` (the relaxed model);
* ``exact_cost(w, x, d) -> []``: the exact model's objective of the legal point ``x`` with dataflow
  index ``d`` (budgets not applied);
* ``violations(x) -> [C]``: ``log(used / budget)`` per budget (``<= 0``: within budget; smooth), and
  ``feasible(x) -> bool``: every budget met (``used <= budget``, exactly).

:func:`systolic_problem` builds one on the systolic model; ``sweep_space`` gives the same legal
grid as a :class:`~codesign_jax.sweep.DesignSpace` so :func:`codesign_jax.sweep.sweep` finds the
exhaustive optimum of the same objective.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from codesign_jax.hardware import DATAFLOWS, SystolicArray, dataflow_code
from codesign_jax.relax._models import relaxed_systolic_cost
from codesign_jax.sweep import DesignSpace, systolic_energy_cost_fn, systolic_space
from codesign_jax.systolic import EnergyTable, default_energy_table, systolic_area_mm2, systolic_energy, systolic_metrics
from codesign_jax.workloads import Gemm

__all__ = ["OBJECTIVES", "Param", "Problem", "SystolicWorkload", "systolic_problem", "systolic_workloads"]

#: Objectives of :func:`systolic_problem`: network cycles, energy (pJ), or their product (pJ x cycles).
OBJECTIVES = ("latency", "energy", "edp")


@dataclasses.dataclass(frozen=True)
class Param:
    """A hardware parameter: ``name`` and its legal ``values`` (sorted, distinct, > 0)."""

    name: str
    values: tuple

    @classmethod
    def create(cls, name: str, values) -> "Param":
        v = np.unique(np.asarray(values, np.float64).reshape(-1))
        if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0):
            raise ValueError(f"parameter {name!r} needs finite positive legal values, got {values!r}.")
        return cls(name, tuple(float(x) for x in v))

    @property
    def log_bounds(self) -> tuple:
        return float(np.log(self.values[0])), float(np.log(self.values[-1]))


@dataclasses.dataclass(frozen=True)
class Problem:
    """A search problem (see the module doc); hashable, so it can be a static jit argument."""

    params: tuple
    dataflows: tuple
    relaxed_costs: Callable
    exact_cost: Callable
    violations: Callable
    feasible: Callable
    sweep_space: Optional[Callable] = None

    @property
    def names(self) -> tuple:
        return tuple(p.name for p in self.params)

    @property
    def grid_size(self) -> int:
        """Legal (point, dataflow) combinations (budgets not applied)."""
        return int(np.prod([len(p.values) for p in self.params])) * len(self.dataflows)


@struct.dataclass
class SystolicWorkload:
    """The layers one objective sums over: GEMM fields ``[..., L]`` and a repeat ``count [..., L]``
    (0 pads a short network to a common ``L``; depthwise layers run ``channels`` GEMMs)."""

    gemm: Gemm
    count: Any


def systolic_workloads(gemm: Gemm, count=None) -> SystolicWorkload:
    """One workload per GEMM row (``[S]`` -> fields ``[S, 1]``), e.g. the cases of a study."""
    g = jax.tree.map(lambda x: np.asarray(x, np.float64).reshape(-1, 1), gemm)
    c = np.ones_like(g.M) if count is None else np.asarray(count, np.float64).reshape(-1, 1)
    return SystolicWorkload(g, c)


def _objective(name: str, cycles, energy):
    return {"latency": cycles, "energy": energy, "edp": cycles * energy}[name]


def systolic_problem(*, rows: Sequence, cols: Sequence, ifmap_sram_kb: Sequence, filter_sram_kb: Sequence,
                     ofmap_sram_kb: Sequence, dataflows: Sequence = DATAFLOWS, objective: str = "edp",
                     max_pes: Optional[float] = None, max_area_mm2: Optional[float] = None,
                     max_sram_kb: Optional[float] = None, table: Optional[EnergyTable] = None) -> Problem:
    """The systolic model (CALC mode) as a :class:`Problem`.

    Args:
      rows, cols, ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb: legal values of each parameter.
      dataflows: names or codes among 'os', 'ws', 'is' (static: each is its own traced formula).
      objective: 'latency' (sum of cycles), 'energy' (sum of pJ) or 'edp' (their product), over the
        workload's layers weighted by ``count``.
      max_pes, max_area_mm2, max_sram_kb: budgets on ``rows * cols``, the area of PEs + SRAMs (mm^2,
        :func:`~codesign_jax.systolic.systolic_area_mm2`) and the total SRAM (KB).
      table: energy / area constants (default: the cited ones).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} must be one of {OBJECTIVES}.")
    for name, b in (("max_pes", max_pes), ("max_area_mm2", max_area_mm2), ("max_sram_kb", max_sram_kb)):
        if b is not None and not (np.isfinite(b) and b > 0):
            raise ValueError(f"{name} must be a positive number or None, got {b!r}.")
    table = default_energy_table() if table is None else table
    axes = {"rows": rows, "cols": cols, "ifmap_sram_kb": ifmap_sram_kb, "filter_sram_kb": filter_sram_kb,
            "ofmap_sram_kb": ofmap_sram_kb}
    params = tuple(Param.create(k, v) for k, v in axes.items())
    codes = tuple(int(c) for c in dataflow_code(list(dataflows)))
    if len(set(codes)) != len(codes):
        raise ValueError(f"dataflows must be distinct, got {dataflows!r}.")

    def design(x, df):
        return SystolicArray(rows=x["rows"], cols=x["cols"], dataflow=df, ifmap_sram_kb=x["ifmap_sram_kb"],
                             filter_sram_kb=x["filter_sram_kb"], ofmap_sram_kb=x["ofmap_sram_kb"], bw_mode=0,
                             bandwidth=10.0, ifmap_dram_bw=10.0, filter_dram_bw=10.0)

    def total(w, m, e):
        return _objective(objective, jnp.sum(w.count * m["total_cycles"], -1),
                          jnp.sum(w.count * e["total_energy_pj"], -1))

    def relaxed_costs(w: SystolicWorkload, x: dict, t, dataflows=None):
        out = []
        for c in (codes if dataflows is None else [codes[i] for i in dataflows]):
            # a static dataflow per formula: the soft choice mixes these
            m = relaxed_systolic_cost(w.gemm, design(x, c), t, table)
            out.append(total(w, m, m))
        return jnp.stack(out, -1)

    def used(x):
        area = systolic_area_mm2(jnp, x["rows"], x["cols"], x["ifmap_sram_kb"], x["filter_sram_kb"],
                                 x["ofmap_sram_kb"], table)
        sram = x["ifmap_sram_kb"] + x["filter_sram_kb"] + x["ofmap_sram_kb"]
        return [(u, b) for u, b in ((x["rows"] * x["cols"], max_pes), (area, max_area_mm2), (sram, max_sram_kb))
                if b is not None]

    def violations(x: dict):
        terms = [jnp.log(u / b) for u, b in used(x)]
        return jnp.stack(terms, -1) if terms else jnp.zeros(jnp.shape(x["rows"]) + (0,))

    def exact_cost(w: SystolicWorkload, x: dict, d):
        a = design(x, jnp.asarray(codes)[d])
        m = systolic_metrics(jnp, w.gemm, a)
        return total(w, m, systolic_energy(jnp, m, a, table))

    def feasible(x: dict):
        ok = jnp.ones(jnp.shape(x["rows"]), bool)
        for u, b in used(x):
            ok = ok & (u <= b)
        return ok

    def sweep_space():
        """(DesignSpace of the same legal grid and budgets, its cost_fn, the sweep objective)."""
        vals = {p.name: np.asarray(p.values) for p in params}
        space = systolic_space(dataflow=list(codes), max_macs=None if max_pes is None else int(max_pes),
                               max_area_mm2=max_area_mm2, energy_table=table, **vals)
        if max_sram_kb is not None:
            inner = space.feasible

            def feasible(v):
                sram = v["ifmap_sram_kb"] + v["filter_sram_kb"] + v["ofmap_sram_kb"]
                ok = sram <= max_sram_kb
                return ok if inner is None else ok & inner(v)

            space = dataclasses.replace(space, feasible=feasible)
        return space, systolic_energy_cost_fn(table), objective

    return Problem(params, tuple(DATAFLOWS[c] for c in codes), relaxed_costs, exact_cost, violations, feasible,
                   sweep_space)
