"""Design spaces for sweeps: a lazy Cartesian grid of axes, decoded from flat indices.

A grid with axes ``a_0, ..., a_{n-1}`` of lengths ``n_0, ..., n_{n-1}`` has
``prod(n_i)`` designs. Design ``i`` is the mixed-radix decoding of ``i`` with the LAST axis
fastest (C order, as :func:`numpy.unravel_index`). Decoding happens inside the jitted sweep
chunk on a ``[chunk]`` vector of int64 indices: the product is never materialized.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import struct

from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic import EnergyTable, default_energy_table, systolic_area_mm2

__all__ = ["DesignGrid", "DesignSpace", "systolic_space"]


def _axis_values(name: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"grid axis {name!r} must be a non-empty 1-D sequence, got shape "
                         f"{np.shape(values)}.")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"grid axis {name!r} must be numeric, got dtype {arr.dtype} "
                         f"({values!r}).")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"grid axis {name!r} must be finite, got {arr[~np.isfinite(arr)][0]}.")
        return arr.astype(np.float64)
    return arr.astype(np.int64)


@struct.dataclass
class DesignGrid:
    """Lazy Cartesian product of named 1-D axes (a pytree: the axis values are its leaves).

    Attributes:
      values: tuple of 1-D arrays (int64 or float64), one per axis, in ``names`` order.
      names: axis names (static).
    """

    values: tuple
    names: tuple = struct.field(pytree_node=False, default=())

    @classmethod
    def create(cls, axes: Mapping[str, Any] | None = None, **kw) -> DesignGrid:
        """Validated constructor from ``{name: 1-D values}`` (insertion order = axis order)."""
        axes = dict(axes or {}, **kw)
        if not axes:
            raise ValueError("a DesignGrid needs at least one axis, got none.")
        for name in axes:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"grid axis names must be identifiers, got {name!r}.")
        vals = tuple(_axis_values(k, v) for k, v in axes.items())
        return cls(values=vals, names=tuple(axes))

    @property
    def shape(self) -> tuple:
        """Axis lengths ``(n_0, ..., n_{n-1})``."""
        return tuple(int(np.shape(v)[0]) for v in self.values)

    @property
    def size(self) -> int:
        """Number of designs ``prod(shape)`` (a Python int; may exceed 2**31)."""
        return math.prod(self.shape)

    def decode(self, index, xp=jnp) -> dict:
        """Axis values of designs ``index`` (int64 array ``[...]``) -> ``{name: [...]}``.

        Last axis fastest. Indices outside ``[0, size)`` wrap around (callers mask them).
        """
        out = {}
        rest = xp.asarray(index, dtype=xp.int64)
        for name, vals, n in reversed(list(zip(self.names, self.values, self.shape))):
            digit = rest % n
            rest = rest // n
            out[name] = xp.asarray(vals)[digit]
        return {k: out[k] for k in self.names}

    def points(self, index) -> dict:
        """Host-side :meth:`decode` with numpy (e.g. to report winners); ``index`` int array."""
        return self.decode(np.asarray(index, np.int64), xp=np)


@dataclasses.dataclass(frozen=True)
class DesignSpace:
    """A design grid plus how to turn decoded axis values into a cost function's design.

    Attributes:
      grid: the axes.
      build: ``{axis: [c]} -> design pytree`` (broadcasting), traced inside the sweep chunk.
      feasible: optional ``{axis: [c]} -> bool [c]``; infeasible designs get objective ``+inf``
        (e.g. a MAC or area budget).
      metrics: optional ``design -> {name: [c]}``: per-design metrics (area, PEs) merged into
        the cost metrics after any per-network sum (they are never summed over layers).
    """

    grid: DesignGrid
    build: Callable[[dict], Any]
    feasible: Callable[[dict], Any] | None = None
    metrics: Callable[[Any], dict] | None = None

    @property
    def size(self) -> int:
        return self.grid.size


_SYSTOLIC_FIELDS = ("rows", "cols", "dataflow", "ifmap_sram_kb", "filter_sram_kb",
                    "ofmap_sram_kb", "bw_mode", "bandwidth", "ifmap_dram_bw", "filter_dram_bw")


def systolic_space(rows, cols, dataflow=("os", "ws", "is"), ifmap_sram_kb=1024,
                   filter_sram_kb=1024, ofmap_sram_kb=1024, bw_mode="CALC", bandwidth=10,
                   ifmap_dram_bw=None, filter_dram_bw=None, *, max_macs: int | None = None,
                   min_macs: int | None = None, max_area_mm2: float | None = None,
                   energy_table: EnergyTable | None = None) -> DesignSpace:
    """Grid of :class:`~codesign_jax.hardware.SystolicArray` designs.

    Every argument is a scalar (fixed) or a 1-D sequence (an axis of the grid; a 1-element
    sequence other than rows/cols counts as fixed). Fixed fields reach the cost function as
    0-d NumPy values, so models can specialise on them at trace time. Values are
    validated with :meth:`SystolicArray.create` (dataflow names 'os'/'ws'/'is' or codes
    0/1/2; bw_mode 'CALC'/'USER' or 0/1). ``ifmap_dram_bw``/``filter_dram_bw`` default to
    ``bandwidth`` (per design, also when ``bandwidth`` is an axis).

    Args:
      max_macs, min_macs: optional bounds on ``rows * cols`` (PEs); designs outside are
        infeasible (objective ``+inf``), as in AIRCHITECT case study 1 (MAC budget).
      max_area_mm2: optional area budget (mm^2, :func:`~codesign_jax.systolic._energy.
        systolic_area_mm2`: PEs + the three SRAMs).
      energy_table: unit areas for ``area_mm2`` (default: the cited defaults).

    Returns:
      :class:`DesignSpace` whose axes are the sequence-valued arguments, in argument order,
      with per-design metrics ``pes`` (rows x cols) and ``area_mm2``.
    """
    given = {"rows": rows, "cols": cols, "dataflow": dataflow, "ifmap_sram_kb": ifmap_sram_kb,
                 "filter_sram_kb": filter_sram_kb, "ofmap_sram_kb": ofmap_sram_kb, "bw_mode": bw_mode,
                 "bandwidth": bandwidth, "ifmap_dram_bw": ifmap_dram_bw, "filter_dram_bw": filter_dram_bw}
    axes, fixed = {}, {}
    for name in _SYSTOLIC_FIELDS:
        v = given[name]
        if v is None:
            continue
        is_axis = not isinstance(v, (str, bytes)) and np.ndim(v) == 1
        if is_axis and len(v) == 1:
            # a one-value axis is a fixed field: it stays static in the traced model (a static
            # CALC bw_mode skips the USER-mode recurrence entirely)
            v, is_axis = v[0], False
        if not is_axis and np.ndim(v) != 0:
            raise ValueError(f"{name} must be a scalar or a 1-D sequence, got shape {np.shape(v)}.")
        if is_axis and len(v) == 1 and name not in ("rows", "cols"):
            v, is_axis = v[0], False  # a 1-value axis is a fixed field (static in the model)
        # validate (and convert names to codes) with the hardware constructor, one field at a time
        probe = {k: 1 for k in ("rows", "cols")}
        probe[name] = v
        code = getattr(SystolicArray.create(**probe), name)
        (axes if is_axis else fixed)[name] = code.reshape(-1) if is_axis else code.reshape(())
    for name, bound in (("max_macs", max_macs), ("min_macs", min_macs)):
        if bound is not None and (not float(bound).is_integer() or bound < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {bound!r}.")
    if max_area_mm2 is not None and not (np.isfinite(max_area_mm2) and max_area_mm2 > 0):
        raise ValueError(f"max_area_mm2 must be a positive number or None, got {max_area_mm2!r}.")
    table = default_energy_table() if energy_table is None else energy_table
    grid = DesignGrid.create(axes)
    fixed_np = {k: np.asarray(v) for k, v in fixed.items()}
    field = lambda v, k: v[k] if k in v else fixed_np[k]

    def area(a) -> Any:
        return systolic_area_mm2(jnp, a.rows, a.cols, a.ifmap_sram_kb, a.filter_sram_kb,
                                 a.ofmap_sram_kb, table)

    def metrics(a: SystolicArray) -> dict:
        return {"pes": jnp.asarray(a.rows * a.cols, jnp.float64), "area_mm2": area(a)}

    def build(v: dict) -> SystolicArray:
        # fixed fields stay 0-d NumPy values: systolic_metrics specialises on a static
        # dataflow / bandwidth mode (e.g. CALC never traces the USER-mode recurrence)
        f = {k: (v[k] if k in v else fixed_np[k]) for k in
             _SYSTOLIC_FIELDS if k in v or k in fixed_np}
        bw = f["bandwidth"]
        f.setdefault("ifmap_dram_bw", bw)
        f.setdefault("filter_dram_bw", bw)
        return SystolicArray(**f)

    feasible = None
    if max_macs is not None or min_macs is not None or max_area_mm2 is not None:
        lo = 1 if min_macs is None else int(min_macs)

        def feasible(v: dict):
            pes = field(v, "rows") * field(v, "cols")
            ok = pes >= lo
            if max_macs is not None:
                ok = ok & (pes <= int(max_macs))
            if max_area_mm2 is not None:
                ok = ok & (area(build(v)) <= max_area_mm2)
            return ok

    return DesignSpace(grid=grid, build=build, feasible=feasible, metrics=metrics)
