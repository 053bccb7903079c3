"""A whole :class:`~codesign_jax.workloads.LayerTable` on systolic arrays in one call."""

from __future__ import annotations

import jax
import numpy as np

from codesign_jax._network import NetworkCost, per_row
from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic._cost import systolic_cost
from codesign_jax.systolic._energy import EnergyTable, default_energy_table, systolic_energy
from codesign_jax.systolic._model import systolic_metrics
from codesign_jax.workloads import LayerTable

__all__ = ["NUMPY_MAX_POINTS", "SYSTOLIC_ADDITIVE_FIELDS", "systolic_network_cost"]

#: Report and energy fields that add up over layers run one after another.
SYSTOLIC_ADDITIVE_FIELDS = (
    "total_cycles", "total_cycles_incl_prefetch", "stall_cycles", "macs", "sram_ifmap_reads",
    "sram_filter_reads", "sram_ofmap_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
    "mac_energy_pj", "sram_ifmap_energy_pj", "sram_filter_energy_pj", "sram_ofmap_energy_pj", "dram_energy_pj",
    "static_energy_pj", "total_energy_pj")


#: Most (lowered row, design) points the ``'auto'`` backend evaluates with numpy (no compile; about
#: 1e5 points/s on this project's 2-core CPU) before it compiles the jitted model.
NUMPY_MAX_POINTS = 500_000


def systolic_network_cost(table: LayerTable, array: SystolicArray, *, exact: bool = False,
                          energy_table: EnergyTable | None = None, backend: str = "auto") -> NetworkCost:
    """Every layer of ``table`` on every design of ``array`` (any batch shape ``[*designs]``).

    The table is lowered as SCALE-Sim runs it (:meth:`LayerTable.lower_gemm`: im2col GEMMs, depthwise
    layers one GEMM per channel); each GEMM is costed with :func:`systolic_cost` (``exact`` as there)
    and :func:`systolic_energy` (``energy_table``, default cited), times its run count.
    ``backend``: ``'jax'`` (:func:`systolic_cost`, compiled: seconds to start), ``'numpy'``
    (:func:`systolic_metrics` with numpy: the same formulas, no compile, CALC designs only) or
    ``'auto'``: numpy for CALC designs up to :data:`NUMPY_MAX_POINTS` points without ``exact``.

    Returns:
      :class:`NetworkCost` with :data:`SYSTOLIC_ADDITIVE_FIELDS` per row ``[n, *designs]`` and in
      ``total`` ``[*designs]``, plus network-level ``overall_util_pct`` (MACs / (cycles x PEs), %),
      ``edp_pj_cycles`` (total energy x total cycles) and ``area_mm2``.
    """
    low = table.lower_gemm()
    dshape = array.shape
    gemm = jax.tree.map(lambda x: np.reshape(np.asarray(x), (-1,) + (1,) * len(dshape)), low.layers)
    if backend not in ("auto", "jax", "numpy"):
        raise ValueError(f"backend must be 'auto', 'jax' or 'numpy', got {backend!r}.")
    calc = not np.any(np.asarray(array.bw_mode))
    if backend == "numpy" and (exact or not calc):
        raise ValueError("backend='numpy' evaluates CALC designs without exact=True only; use 'jax'.")
    points = len(low.index) * int(np.prod(dshape))
    if backend == "numpy" or (backend == "auto" and calc and not exact and points <= NUMPY_MAX_POINTS):
        m = systolic_metrics(np, gemm, array)
    else:
        m = systolic_cost(gemm, array, exact=exact).fields
    m = {k: np.asarray(v) for k, v in m.items()}
    m.update({k: np.asarray(v) for k, v in systolic_energy(
        np, m, array, default_energy_table() if energy_table is None else energy_table).items()})
    layers = per_row(len(table), low.index, low.count, {k: m[k] for k in SYSTOLIC_ADDITIVE_FIELDS})
    total = {k: v.sum(axis=0) for k, v in layers.items()}
    pes = np.asarray(array.rows, np.float64) * np.asarray(array.cols)
    total["overall_util_pct"] = total["macs"] * 100.0 / (total["total_cycles"] * pes)
    total["edp_pj_cycles"] = total["total_energy_pj"] * total["total_cycles"]
    total["area_mm2"] = np.broadcast_to(m["area_mm2"][0], dshape).copy()
    return NetworkCost(layers=layers, total=total, names=table.names, network=table.network.copy())
