"""Sweep objectives (named metrics or functions of them) and ready-made cost functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax.numpy as jnp

from codesign_jax.systolic import compute_cycles, default_energy_table, systolic_energy, systolic_metrics

__all__ = [
    "BUILTIN_OBJECTIVES",
    "compute_cycles_cost_fn",
    "resolve_objectives",
    "systolic_cost_fn",
    "systolic_energy_cost_fn",
]

#: Built-in objective names -> functions of (summed) metrics.
BUILTIN_OBJECTIVES = {
    "latency": lambda m: _get(m, "total_cycles"),
    "energy": lambda m: _get(m, "total_energy_pj"),
    "edp": lambda m: _get(m, "total_cycles") * _get(m, "total_energy_pj"),
    "area": lambda m: _get(m, "area_mm2"),
}


def _get(m: dict, key: str):
    if key not in m:
        raise ValueError(f"objective needs metric {key!r}, which the cost function and design "
                         f"space do not provide; available: {sorted(m)}.")
    return m[key]


def systolic_cost_fn() -> Callable:
    """``cost_fn(gemm, array)`` = the SCALE-Sim-exact :func:`~codesign_jax.systolic.
    systolic_metrics` (all report fields, float64 exact counts)."""
    return lambda g, a: systolic_metrics(jnp, g, a)


def systolic_energy_cost_fn(table=None) -> Callable:
    """``cost_fn(gemm, array)``: :func:`systolic_cost_fn` metrics plus energy (pJ), area and
    EDP from :func:`~codesign_jax.systolic.systolic_energy` (``table``: default cited)."""
    table = default_energy_table() if table is None else table

    def cost(g, a):
        m = systolic_metrics(jnp, g, a)
        m.update(systolic_energy(jnp, m, a, table))
        return m

    return cost


def compute_cycles_cost_fn() -> Callable:
    """``cost_fn(gemm, array) -> {'total_cycles', 'macs'}``: SCALE-Sim compute cycles only
    (no memory stalls; :func:`~codesign_jax.systolic.compute_cycles`)."""
    def cost(g, a):
        cyc = compute_cycles(jnp, g.M, g.N, g.K, a.rows, a.cols, a.dataflow)
        return {"total_cycles": cyc, "macs": jnp.asarray(g.M * g.N * g.K, jnp.float64)}

    return cost


def resolve_objectives(objectives) -> tuple[tuple[str, ...], tuple[Callable, ...]]:
    """Normalizes objectives to ``(names, fns)``.

    Accepts a string, a sequence of strings / ``(name, fn)`` pairs, or a ``{name: fn}``
    mapping. A string is a built-in (``'latency'`` = ``total_cycles``, ``'energy'`` =
    ``total_energy_pj``, ``'edp'`` = their product, ``'area'`` = ``area_mm2``) or a metric key
    of the cost function or design space. With ``segment_ids`` the objectives see per-network
    sums, so ``'edp'`` is network latency x network energy.
    """
    if isinstance(objectives, str):
        objectives = [objectives]
    items = list(objectives.items()) if isinstance(objectives, Mapping) else list(objectives)
    if not 1 <= len(items) <= 8:
        raise ValueError(f"objectives must name 1 to 8 objectives, got {len(items)}: {items}.")
    names, fns = [], []
    for it in items:
        if isinstance(it, str):
            name = it
            fn = BUILTIN_OBJECTIVES.get(it, lambda m, k=it: _get(m, k))
        elif isinstance(it, tuple) and len(it) == 2 and callable(it[1]):
            name, fn = it
        else:
            raise ValueError(f"objectives entries must be names or (name, fn) pairs, got {it!r}.")
        names.append(str(name))
        fns.append(fn)
    if len(set(names)) != len(names):
        raise ValueError(f"objective names must be unique, got {names}.")
    return tuple(names), tuple(fns)
