"""The validated entry point of the spatial model: :func:`spatial_cost` (flat batches split by stride
class on the host, layers x accelerators grids routed to :func:`spatial_cost_grid`)."""

from __future__ import annotations

from typing import Union

import jax.numpy as jnp
import numpy as np

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial._check import _stride_groups, check_spatial
from codesign_jax.spatial._dataflow import Dataflow, get_dataflow
from codesign_jax.spatial._grid import spatial_cost_grid
from codesign_jax.spatial._model import (_ACCEL_KEYS, _LAYER_KEYS, REPORT_FIELDS, SpatialReport, _jitted,
                                         make_spatial_cost)
from codesign_jax.workloads import SpatialLayer

__all__ = ["spatial_cost"]


def _is_grid(layer: SpatialLayer, accel: SpatialAccelerator) -> bool:
    """Leaves shaped [L, 1] (layers) and [1, A] (accelerators), scalars allowed, both axes > 1."""
    ls = [np.shape(getattr(layer, k)) for k in _LAYER_KEYS]
    as_ = [np.shape(getattr(accel, k)) for k in _ACCEL_KEYS]
    ok = all(s == () or (len(s) == 2 and s[1] == 1) for s in ls)
    ok = ok and all(s == () or (len(s) == 2 and s[0] == 1) for s in as_)
    return ok and max((s[0] for s in ls if s), default=1) > 1 and max((s[1] for s in as_ if s), default=1) > 1


def _squeeze(obj, axis: int):
    keys = _LAYER_KEYS if isinstance(obj, SpatialLayer) else _ACCEL_KEYS
    vals = {k: np.squeeze(np.asarray(getattr(obj, k)), axis) if np.ndim(getattr(obj, k)) else getattr(obj, k)
            for k in keys}
    return obj.replace(**vals)


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
        raise ValueError(f"spatial_cost: {layer.layer_type} layer at batch index {tuple(map(int, idx))} with "
                         f"dataflow {df.name!r} is rejected: {err[idx]} ({bad.size} element(s) rejected).")
    if backend == "numpy":
        return make_spatial_cost(df, layer.layer_type, backend="numpy")(layer, accel)
    lt = layer.layer_type
    groups = _stride_groups(layer.stride, lt)
    if len(groups) <= 1:  # one stride class, known on the host: its specialised graph for the batch
        return _jitted(df, lt, groups[0][1] if groups else "unit")(layer, accel)
    # Mixed strides: split the (flattened, broadcast) batch on the host, stride-1 points to the
    # stride-1 graph, the rest to the strided one, and scatter the results back.
    cols = [getattr(layer, k) for k in _LAYER_KEYS] + [getattr(accel, k) for k in _ACCEL_KEYS]
    shape = np.broadcast_shapes(*[np.shape(c) for c in cols])
    flat = [np.broadcast_to(np.asarray(c, np.float64), shape).reshape(-1) for c in cols]
    n = len(_LAYER_KEYS)
    outs = {}
    for mask, u in _stride_groups(flat[_LAYER_KEYS.index("stride")], lt):
        sub = [c[mask] for c in flat]
        rep = _jitted(df, lt, u)(SpatialLayer(*sub[:n], lt), SpatialAccelerator(*sub[n:]))
        for k in REPORT_FIELDS:
            outs.setdefault(k, np.empty(flat[0].shape, np.float64))[mask] = np.asarray(getattr(rep, k))
    return SpatialReport(**{k: jnp.asarray(v.reshape(shape)) for k, v in outs.items()})
