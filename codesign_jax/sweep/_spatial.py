"""Sweeps over MAESTRO-style spatial accelerators: a design space whose axes may be dataflow constants.

``spatial_space(num_pes=range(1, 65), KTileSz=range(1, 13), ...)`` is the AIRCHITECT-v2 space of 768 designs;
``spatial_cost_fn(dataflow, 'CONV')`` evaluates it. A constant is an accelerator field
(``SpatialAccelerator.constants``, traced), so one compiled chunk serves every design.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial import get_dataflow, make_spatial_cost
from codesign_jax.sweep._grid import DesignGrid, DesignSpace

__all__ = ["spatial_cost_fn", "spatial_space"]

_FIELDS = ("num_pes", "l1_size", "l2_size", "noc_bw", "offchip_bw", "noc_hops")


def spatial_space(num_pes, l1_size=2**31 - 1, l2_size=2**31 - 1, noc_bw=2**31 - 1, offchip_bw=70000, noc_hops=1,
                  **constants) -> DesignSpace:
    """Grid of :class:`~codesign_jax.hardware.SpatialAccelerator` designs (MAESTRO's flag defaults).

    Every argument is a scalar (fixed) or a 1-D sequence (an axis, in argument order; constants after the
    hardware fields, in keyword order). Keyword arguments name dataflow constants (``KTileSz=range(1, 13)``);
    a constant not given here takes its default or binding (``Dataflow.bind``).
    """
    given = {"num_pes": num_pes, "l1_size": l1_size, "l2_size": l2_size, "noc_bw": noc_bw,
             "offchip_bw": offchip_bw, "noc_hops": noc_hops, **constants}
    axes, fixed = {}, {}
    for name, v in given.items():
        arr = np.asarray(list(v) if isinstance(v, range) else v, np.float64)
        if arr.ndim > 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must be an integer or a non-empty 1-D sequence of integers, got {v!r}.")
        low = 0 if name == "noc_hops" else 1
        if np.any(arr < low):
            raise ValueError(f"{name} must be >= {low}, got {arr[arr < low].ravel()[0]:g}.")
        (axes if arr.ndim == 1 else fixed)[name] = arr
    grid = DesignGrid.create(axes)

    def build(v: dict) -> SpatialAccelerator:
        f = {k: (v[k] if k in v else fixed[k]) for k in given}
        return SpatialAccelerator(*(f[k] for k in _FIELDS), constants={k: f[k] for k in constants})

    def metrics(a: SpatialAccelerator) -> dict:
        return {"pes": jnp.asarray(a.num_pes, jnp.float64)}

    return DesignSpace(grid=grid, build=build, metrics=metrics)


def spatial_cost_fn(dataflow, layer_type: str = "CONV", **kw) -> Callable[[Any, SpatialAccelerator], dict]:
    """``cost_fn(layer, accel)``: every :class:`~codesign_jax.spatial.SpatialReport` field, plus
    ``total_cycles`` (the sweep's latency objective) = runtime where MAESTRO's answer is meaningful
    (``degenerate == 0``) and +inf elsewhere, so no search picks a degenerate point. ``kw`` goes to
    :func:`~codesign_jax.spatial.make_spatial_cost` (e.g. ``unit_stride=True``)."""
    cost = make_spatial_cost(get_dataflow(dataflow), layer_type, **kw)

    def fn(layer, accel):
        rep = cost(layer, accel)
        m = {k: getattr(rep, k) for k in rep.__dataclass_fields__ if getattr(rep, k) is not None}
        m["total_cycles"] = jnp.where(rep.degenerate == 0, rep.runtime_cycles, jnp.inf)
        return m

    return fn
