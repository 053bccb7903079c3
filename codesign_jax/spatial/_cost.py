"""The validated entry point of the spatial model: :func:`spatial_cost` (flat batches split by stride
class on the host, layers x accelerators grids routed to :func:`spatial_cost_grid`)."""

from __future__ import annotations

from typing import Union

import jax
import jax.numpy as jnp
import numpy as np

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial._check import _stride_groups, check_spatial
from codesign_jax.spatial._dataflow import Dataflow, get_dataflow
from codesign_jax.spatial._grid import spatial_cost_grid
from codesign_jax.spatial._model import (REPORT_FIELDS, SpatialReport, _check_kind, _jitted, columns, from_columns,
                                         layer_kind, make_spatial_cost)
from codesign_jax.workloads import SpatialLayer

__all__ = ["spatial_cost"]


def _is_grid(layer: SpatialLayer, accel: SpatialAccelerator) -> bool:
    """Leaves shaped [L, 1] (layers) and [1, A] (accelerators), scalars allowed, both axes > 1."""
    lcols, acols, _ = columns(layer, accel, layer_kind(layer))
    ls, as_ = [np.shape(c) for c in lcols], [np.shape(c) for c in acols]
    ok = all(s == () or (len(s) == 2 and s[1] == 1) for s in ls)
    ok = ok and all(s == () or (len(s) == 2 and s[0] == 1) for s in as_)
    return ok and max((s[0] for s in ls if s), default=1) > 1 and max((s[1] for s in as_ if s), default=1) > 1


def _squeeze(obj, axis: int):
    sq = lambda v: np.squeeze(np.asarray(v), axis) if np.ndim(v) else v
    return jax.tree.map(sq, obj)


def spatial_cost(layer: SpatialLayer, accel: SpatialAccelerator, dataflow: Union[str, Dataflow], *,
                 backend: str = "jax") -> SpatialReport:
    """Evaluates MAESTRO's figures for every (layer, accel) of the broadcast batch with one dataflow.

    Validates on the host first (inputs must be concrete; use :func:`make_spatial_cost` under jit).
    A layers x accelerators grid (every layer leaf of shape ``[L, 1]`` or scalar, every accelerator
    leaf ``[1, A]`` or scalar) takes the :func:`spatial_cost_grid` path (same numbers, faster).

    Raises:
      ValueError: naming the first rejected batch element, the layer type, the dataflow and the reason.
    """
    df = get_dataflow(dataflow)
    if backend == "jax" and _is_grid(layer, accel):
        rep = spatial_cost_grid(_squeeze(layer, 1), _squeeze(accel, 0), df)
        return SpatialReport(**{k: jnp.asarray(getattr(rep, k)) for k in REPORT_FIELDS})
    err = check_spatial(layer, accel, df)
    bad = np.flatnonzero(np.ravel(err != ""))
    if bad.size:
        idx = np.unravel_index(bad[0], err.shape)
        raise ValueError(f"spatial_cost: {layer_kind(layer)} layer at batch index {tuple(map(int, idx))} with "
                         f"dataflow {df.name!r} is rejected: {err[idx]} ({bad.size} element(s) rejected).")
    if backend == "numpy":
        return make_spatial_cost(df, layer_kind(layer), backend="numpy")(layer, accel)
    lt = _check_kind(layer_kind(layer))
    groups = _stride_groups(layer.stride, lt)
    if len(groups) <= 1:  # one stride class, known on the host: its specialised graph for the batch
        return _jitted(df, lt, groups[0][1] if groups else "unit")(layer, accel)
    # Mixed strides: split the (flattened, broadcast) batch on the host, stride-1 points to the
    # stride-1 graph, the rest to the strided one, and scatter the results back.
    lcols, acols, names = columns(layer, accel, lt)
    cols = lcols + acols
    shape = np.broadcast_shapes(*[np.shape(c) for c in cols])
    flat = [np.broadcast_to(np.asarray(c, np.float64), shape).reshape(-1) for c in cols]
    n = len(lcols)
    outs = {}
    for mask, u in _stride_groups(np.broadcast_to(np.asarray(layer.stride, np.float64), shape).reshape(-1), lt):
        sub = [c[mask] for c in flat]
        rep = _jitted(df, lt, u)(*from_columns(sub[:n], sub[n:], lt, names))
        for k in REPORT_FIELDS:
            outs.setdefault(k, np.empty(flat[0].shape, np.float64))[mask] = np.asarray(getattr(rep, k))
    return SpatialReport(**{k: jnp.asarray(v.reshape(shape)) for k, v in outs.items()})
