"""Sweeps for a whole :class:`~codesign_jax.workloads.LayerTable` (e.g. a traced model): its lowered
rows, each weighted by how many times it runs, summed per network."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from codesign_jax.sweep._engine import sweep
from codesign_jax.sweep._grid import DesignSpace
from codesign_jax.sweep._objectives import systolic_energy_cost_fn
from codesign_jax.sweep._result import SweepResult
from codesign_jax.workloads import LayerTable

__all__ = ["counted_cost_fn", "sweep_table"]


def counted_cost_fn(cost_fn: Callable) -> Callable:
    """``cost_fn`` over ``(layers, count)`` workloads: every metric of a layer times its run count
    ``count`` (float64, one per layer), so per-network sums count repeats, batches and loop trips."""
    def cost(workloads, designs):
        layers, count = workloads
        return {k: v * count for k, v in cost_fn(layers, designs).items()}

    return cost


def sweep_table(table: LayerTable, space: DesignSpace, objectives="latency", *,
                cost_fn: Callable | None = None, **sweep_kwargs) -> SweepResult:
    """:func:`sweep` of every network of ``table`` (its ``network`` ids) over ``space``.

    The table is lowered as SCALE-Sim runs it (:meth:`LayerTable.lower_gemm`); each GEMM's metrics
    (``cost_fn``, default :func:`systolic_energy_cost_fn`: every SCALE-Sim report field, energy, EDP
    inputs) are weighted by its run count and summed per network, so objectives such as
    ``'latency'``, ``'energy'`` or ``'edp'`` are whole-network figures. ``sweep_kwargs`` go to
    :func:`sweep` (``top_k``, ``pareto``, ``chunk_size``, ...).

    Returns:
      :class:`SweepResult` with one row per network id ``0..max(table.network)``.
    """
    low = table.lower_gemm()
    cost_fn = systolic_energy_cost_fn() if cost_fn is None else cost_fn
    seg = np.asarray(table.network)[low.index]
    return sweep(counted_cost_fn(cost_fn), (low.layers, np.asarray(low.count, np.float64)), space, objectives,
                 segment_ids=seg, num_segments=int(np.max(table.network)) + 1, **sweep_kwargs)
