"""Network metrics of (architecture, accelerator) pairs: ``[n_arch, n_perf]`` latency, energy, area, feasibility.

The cost model runs once per (distinct layer row, perf point) and networks are summed through the count
matrix (:class:`~codesign_jax.nas.DistinctLayers`); a subset of architectures evaluates only the distinct
rows it uses, with the full space's summation order (bit-identical sums). The buffer axes are then resolved
exactly: every objective prefers less area and nothing else depends on the buffers, so for each
(architecture, perf point) the design that matters is the smallest-area buffer option that holds the
network's largest L1 / L2 requirement (ties: the lowest buffer index); no option fitting = infeasible.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from codesign_jax.codesign._accel import AcceleratorSpace
from codesign_jax.nas import DistinctLayers, spatial_network_cost
from codesign_jax.nas._cost import AUTO_NUMPY_POINTS
from codesign_jax.systolic import default_energy_table, systolic_energy, systolic_metrics

__all__ = ["PairMetrics", "evaluate_pairs"]


@struct.dataclass
class PairMetrics:
    """Metrics of architectures ``rows`` x perf points ``perf`` (host numpy arrays).

    Attributes:
      rows: int64 ``[n]`` architecture positions in the space. perf: int64 ``[P]`` perf points.
      latency: float64 ``[n, P]`` network latency (cycles); NaN where not ``feasible``.
      energy: float64 ``[n, P]`` network energy (spatial: MAESTRO's x MAC energy; systolic: pJ).
      area: float64 ``[n, P]`` area (mm^2) of the design chosen for the pair (its smallest fitting buffers).
      buffer: int64 ``[n, P]`` that buffer option (-1: none fits or the model rejects the pair).
      feasible: bool ``[n, P]``: the model accepts every layer and some buffer option fits.
      model_points: (distinct layer row, perf point) evaluations made.
      seconds: wall time of the evaluation.
    """

    rows: np.ndarray
    perf: np.ndarray
    latency: np.ndarray
    energy: np.ndarray
    area: np.ndarray
    buffer: np.ndarray
    feasible: np.ndarray
    model_points: int = struct.field(pytree_node=False, default=0)
    seconds: float = struct.field(pytree_node=False, default=0.0)

    def design(self, n_buffers: int) -> np.ndarray:
        """int64 ``[n, P]`` flat design index of each pair's chosen design (-1 where infeasible)."""
        return np.where(self.buffer >= 0, self.perf[None, :] * n_buffers + self.buffer, -1)


def _spatial(space: AcceleratorSpace, d: DistinctLayers, perf: np.ndarray, backend: str):
    lat, en = np.full((d.n_networks, perf.size), np.nan), np.full((d.n_networks, perf.size), np.nan)
    l1, l2 = np.full_like(lat, np.nan), np.full_like(lat, np.nan)
    ok = np.zeros(lat.shape, bool)
    df_of = space.perf.points(perf)["dataflow"]
    for f in np.unique(df_of):
        cols = np.flatnonzero(df_of == f)
        c = spatial_network_cost(d, space.spatial_accelerators(perf[cols]), conv_dataflow=space.dataflows[f],
                                 dw_dataflow=space.dw_dataflow, fc=space.fc, requirements=True, backend=backend)
        lat[:, cols], en[:, cols], ok[:, cols] = c.runtime_cycles, c.energy_total_xmac, c.ok
        l1[:, cols], l2[:, cols] = c.l1_req, c.l2_req
    return lat, en, ok, {"l1_size": l1, "l2_size": l2}


@functools.lru_cache(maxsize=None)
def _systolic_fn():
    table = default_energy_table()

    @jax.jit
    def run(g, a):
        m = systolic_metrics(jnp, g, a)
        e = systolic_energy(jnp, m, a, table)
        return m["total_cycles"], e["total_energy_pj"]

    return run


def _systolic(space: AcceleratorSpace, d: DistinctLayers, perf: np.ndarray, backend: str):
    low = d.layers.lower_gemm(expand_groups=False)  # SCALE-Sim runs a depthwise layer as one GEMM per channel
    arrays = space.systolic_arrays(perf)
    g = jax.tree.map(lambda x: np.asarray(x)[:, None], low.layers)
    a = jax.tree.map(lambda x: np.asarray(x)[None, :], arrays)
    if backend == "jax" or (backend == "auto" and len(low.index) * perf.size > AUTO_NUMPY_POINTS):
        cyc, pj = (np.asarray(x) for x in _systolic_fn()(g, a))
    else:  # the same closed forms on numpy: no compilation for small tables
        m = systolic_metrics(np, g, a)
        cyc, pj = m["total_cycles"], systolic_energy(np, m, a, default_energy_table())["total_energy_pj"]
    per_c, per_e = np.zeros((len(d.layers), perf.size)), np.zeros((len(d.layers), perf.size))
    np.add.at(per_c, low.index, low.count[:, None] * cyc)
    np.add.at(per_e, low.index, low.count[:, None] * pj)
    return d.network_sum(per_c), d.network_sum(per_e), np.ones((d.n_networks, perf.size), bool), {}


def _smallest_buffers(space: AcceleratorSpace, perf: np.ndarray, ok: np.ndarray, req: dict) -> np.ndarray:
    """int64 ``[n, P]``: the smallest-area buffer option holding each pair's requirements (-1: none / not ok).

    Which options fit depends only on, per buffer axis, the smallest axis value >= the requirement; so the
    best option is tabulated per (perf point, those positions) over all options (any area model), then
    gathered. Ties in area go to the lowest option index."""
    if space.buffers is None:
        return np.where(ok, 0, -1)
    names, vals = space.buffers.names, [np.asarray(v, np.float64) for v in space.buffers.values]
    area = space.area_mm2(perf)                                                        # [P, B]
    opts = np.stack(np.unravel_index(np.arange(space.n_buffers), space.buffers.shape))  # [n_axes, B]
    pos, shape = [], []
    for k, v in zip(names, vals):
        order = np.argsort(v, kind="stable")
        r = np.where(ok, req[k], np.inf)
        pos.append(np.searchsorted(v[order], r, side="left"))  # sorted position of the smallest fitting value
        shape.append(v.size + 1)
    table = np.full((perf.size, int(np.prod(shape))), -1, np.int64)
    for cell in range(table.shape[1]):                         # each combination of smallest fitting positions
        lo = np.unravel_index(cell, shape)
        fits = np.ones(space.n_buffers, bool)
        for ax, v in enumerate(vals):
            rank = np.argsort(np.argsort(v, kind="stable"), kind="stable")   # sorted position of each value
            fits &= rank[opts[ax]] >= lo[ax]
        if fits.any():
            a = np.where(fits[None, :], area, np.inf)
            table[:, cell] = np.argmin(a, axis=1)
    flat = np.ravel_multi_index(tuple(pos), shape)
    return np.where(ok, table[np.arange(perf.size)[None, :], flat], -1)


def evaluate_pairs(space: AcceleratorSpace, distinct: DistinctLayers, rows=None, perf=None, *,
                   backend: str = "auto") -> PairMetrics:
    """Latency, energy, area and feasibility of architectures ``rows`` x perf points ``perf``.

    Args:
      space: the accelerator space.
      distinct: :func:`~codesign_jax.nas.distinct_layers` of the whole architecture space.
      rows: architecture positions (default all), kept in this order. perf: perf points (default all).
      backend: spatial model backend ('auto', 'jax', 'numpy'; see :func:`~codesign_jax.nas.spatial_network_cost`).
    """
    import time

    t0 = time.perf_counter()
    rows = np.arange(distinct.n_networks) if rows is None else np.asarray(rows, np.int64)
    perf = np.arange(space.n_perf) if perf is None else np.asarray(perf, np.int64)
    d, _ = distinct.subset(rows)
    if space.kind == "spatial":
        lat, en, ok, req = _spatial(space, d, perf, backend)
    else:
        lat, en, ok, req = _systolic(space, d, perf, backend)
    buffer = _smallest_buffers(space, perf, ok, req)
    feasible = buffer >= 0
    area = np.take_along_axis(space.area_mm2(perf)[None, :, :], np.maximum(buffer, 0)[:, :, None], axis=2)[:, :, 0]
    nan = lambda x: np.where(feasible, x, np.nan)
    return PairMetrics(rows=rows, perf=perf, latency=nan(lat), energy=nan(en), area=nan(area), buffer=buffer,
                       feasible=feasible, model_points=len(d.layers) * perf.size,
                       seconds=time.perf_counter() - t0)
