"""Accelerator spaces for co-design: spatial (MAESTRO) and systolic (SCALE-Sim) grids with an area model.

A space is ``perf`` x ``buffers``: the ``perf`` axes change a network's latency / energy (and are what the
cost model evaluates), the ``buffers`` axes only decide whether the network's buffer requirements fit and
the area. Design ``d = p * n_buffers + b`` (perf-major; both grids decode last-axis-fastest, as
:class:`~codesign_jax.sweep.DesignGrid`).

* Spatial: perf = ``num_pes x noc_bw x offchip_bw x dataflow`` (the CONV dataflow; depthwise layers run on
  ``dw_dataflow``), buffers = ``l1_size x l2_size`` (elements; MAESTRO's runtime and energy do not depend on
  them, its L1 / L2 requirements must fit). Area: MAESTRO's DSE cost database
  (:func:`~codesign_jax.spatial.spatial_area_power`) with the design's L1 (per PE) and L2 sizes.
* Systolic: perf = ``rows x cols x dataflow x ifmap / filter / ofmap SRAM (KB)`` (SCALE-Sim CALC mode), no
  buffer axes. Area: :func:`~codesign_jax.systolic.systolic_area_mm2` (PEs + SRAM).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from codesign_jax.hardware import DATAFLOWS as SYSTOLIC_DATAFLOWS
from codesign_jax.hardware import SpatialAccelerator, SystolicArray
from codesign_jax.spatial import DATAFLOWS as SPATIAL_DATAFLOWS
from codesign_jax.spatial import spatial_area_power
from codesign_jax.sweep import DesignGrid
from codesign_jax.systolic import default_energy_table, systolic_area_mm2

__all__ = ["AcceleratorSpace", "SPATIAL_DEFAULTS", "SYSTOLIC_DEFAULTS", "accelerator_space", "spatial_accelerator_space",
           "systolic_array_space"]

#: Default spatial grid: 8 x 6 x 6 x 4 = 1,152 perf points x 3 x 4 buffers = 13,824 designs (>= 1e4).
SPATIAL_DEFAULTS = dict(num_pes=(16, 32, 64, 128, 256, 512, 1024, 2048), noc_bw=(64, 128, 256, 512, 1000, 2000),
                        offchip_bw=(25, 50, 100, 150, 250, 350), dataflow=("kcp_ws", "rs", "ykp_os", "xp_ws"),
                        l1_size=(64, 256, 512), l2_size=(4096, 16384, 65536, 262144), dw_dataflow="dpt", fc="conv")
#: Default systolic grid: 12 x 12 x 3 x 3 x 3 x 3 = 11,664 designs.
SYSTOLIC_DEFAULTS = dict(rows=(4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256),
                         cols=(4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256),
                         dataflow=("os", "ws", "is"), ifmap_sram_kb=(64, 256, 1024), filter_sram_kb=(64, 256, 1024),
                         ofmap_sram_kb=(32, 128, 512))


def _axis(kind: str, name: str, values, *, positive=True, choices=None) -> tuple:
    vals = tuple(values) if isinstance(values, (list, tuple, np.ndarray)) else (values,)
    if not vals:
        raise ValueError(f"{kind} space: {name} is empty.")
    if choices is not None:
        bad = [v for v in vals if v not in choices]
        if bad:
            raise ValueError(f"{kind} space: {name}={bad[0]!r} is not one of {tuple(choices)}.")
    elif positive:
        for v in vals:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not v > 0 \
                    or float(v) != int(v):
                raise ValueError(f"{kind} space: {name}={v!r} must be a positive integer.")
    if len(set(vals)) != len(vals):
        raise ValueError(f"{kind} space: {name}={vals} has repeated values.")
    return vals


@dataclasses.dataclass(frozen=True)
class AcceleratorSpace:
    """A grid of accelerator designs (see the module docstring for the layout).

    Attributes:
      kind: 'spatial' or 'systolic'.
      perf: :class:`DesignGrid` of the axes the cost model evaluates (dataflow as an index into
        ``dataflows``).
      buffers: :class:`DesignGrid` of buffer sizes (spatial: ``l1_size``, ``l2_size``), or None.
      dataflows: dataflow names the ``dataflow`` axis indexes.
      dw_dataflow, fc: spatial only: the depthwise dataflow and how fully connected layers run.
    """

    kind: str
    perf: DesignGrid
    buffers: DesignGrid | None
    dataflows: tuple
    dw_dataflow: str = "dpt"
    fc: str = "conv"

    @property
    def n_perf(self) -> int:
        return self.perf.size

    @property
    def n_buffers(self) -> int:
        return 1 if self.buffers is None else self.buffers.size

    @property
    def size(self) -> int:
        """Number of designs ``n_perf * n_buffers``."""
        return self.n_perf * self.n_buffers

    def perf_points(self, p=None) -> dict:
        """``{axis: [n]}`` values of perf points ``p`` (default all), dataflow as a name."""
        p = np.arange(self.n_perf) if p is None else np.asarray(p, np.int64)
        v = self.perf.points(p)
        v["dataflow"] = np.asarray(self.dataflows, object)[v["dataflow"]]
        return v

    def buffer_values(self) -> dict:
        """``{axis: [n_buffers]}`` (spatial: ``l1_size``, ``l2_size``; systolic: empty)."""
        return {} if self.buffers is None else self.buffers.points(np.arange(self.n_buffers))

    def design(self, d) -> dict:
        """``{axis: [n]}`` of designs ``d`` (perf and buffer axes)."""
        d = np.asarray(d, np.int64)
        out = self.perf_points(d // self.n_buffers)
        if self.buffers is not None:
            out.update(self.buffers.points(d % self.n_buffers))
        return out

    def area_mm2(self, p=None) -> np.ndarray:
        """float64 ``[n_p, n_buffers]`` area (mm^2) of perf points ``p`` (default all) x every buffer option."""
        v = self.perf.points(np.arange(self.n_perf) if p is None else np.asarray(p, np.int64))
        if self.kind == "spatial":
            b = self.buffer_values()
            # MAESTRO DSE_hardware_modules.hpp via spatial_area_power (um^2): PEs, per-PE L1, L2, NoC
            area, _ = spatial_area_power(v["num_pes"][:, None], v["noc_bw"][:, None], b["l1_size"][None, :],
                                         b["l2_size"][None, :])
            return np.asarray(area, np.float64) * 1e-6
        # PEs + the three SRAMs (systolic/_energy.py, MAESTRO's unit areas)
        return np.asarray(systolic_area_mm2(np, v["rows"], v["cols"], v["ifmap_sram_kb"], v["filter_sram_kb"],
                                            v["ofmap_sram_kb"], default_energy_table()), np.float64)[:, None]

    def spatial_accelerators(self, p) -> SpatialAccelerator:
        """:class:`SpatialAccelerator` of perf points ``p`` (L1 / L2 set to the largest buffer options)."""
        v = self.perf.points(np.asarray(p, np.int64))
        b = self.buffer_values()
        f = lambda x: np.asarray(x, np.float64)
        return SpatialAccelerator(f(v["num_pes"]), f(max(b["l1_size"])), f(max(b["l2_size"])), f(v["noc_bw"]),
                                  f(v["offchip_bw"]))

    def systolic_arrays(self, p) -> SystolicArray:
        """:class:`SystolicArray` of perf points ``p`` (CALC bandwidth mode)."""
        v = self.perf.points(np.asarray(p, np.int64))
        return SystolicArray.create(**{k: v[k] for k in ("rows", "cols", "dataflow", "ifmap_sram_kb", "filter_sram_kb",
                                                          "ofmap_sram_kb")})


def spatial_accelerator_space(num_pes=SPATIAL_DEFAULTS["num_pes"], noc_bw=SPATIAL_DEFAULTS["noc_bw"],
                  offchip_bw=SPATIAL_DEFAULTS["offchip_bw"], dataflow=SPATIAL_DEFAULTS["dataflow"],
                  l1_size=SPATIAL_DEFAULTS["l1_size"], l2_size=SPATIAL_DEFAULTS["l2_size"], *, dw_dataflow="dpt",
                  fc="conv") -> AcceleratorSpace:
    """Grid of MAESTRO accelerators; every argument a value or a sequence of values (an axis)."""
    from codesign_jax.nas import FC_MODES  # the layer conventions live with the spaces' cost

    df = _axis("spatial", "dataflow", dataflow, choices=tuple(SPATIAL_DATAFLOWS))
    _axis("spatial", "dw_dataflow", dw_dataflow, choices=tuple(SPATIAL_DATAFLOWS))
    _axis("spatial", "fc", fc, choices=FC_MODES)
    perf = DesignGrid.create(num_pes=_axis("spatial", "num_pes", num_pes), noc_bw=_axis("spatial", "noc_bw", noc_bw),
                             offchip_bw=_axis("spatial", "offchip_bw", offchip_bw), dataflow=np.arange(len(df)))
    buffers = DesignGrid.create(l1_size=_axis("spatial", "l1_size", l1_size), l2_size=_axis("spatial", "l2_size",
                                                                                             l2_size))
    return AcceleratorSpace("spatial", perf, buffers, df, dw_dataflow, fc)


def systolic_array_space(rows=SYSTOLIC_DEFAULTS["rows"], cols=SYSTOLIC_DEFAULTS["cols"],
                      dataflow=SYSTOLIC_DEFAULTS["dataflow"], ifmap_sram_kb=SYSTOLIC_DEFAULTS["ifmap_sram_kb"],
                      filter_sram_kb=SYSTOLIC_DEFAULTS["filter_sram_kb"],
                      ofmap_sram_kb=SYSTOLIC_DEFAULTS["ofmap_sram_kb"]) -> AcceleratorSpace:
    """Grid of SCALE-Sim systolic arrays (CALC mode); every argument a value or a sequence (an axis)."""
    df = _axis("systolic", "dataflow", dataflow, choices=SYSTOLIC_DATAFLOWS)
    axes = {k: _axis("systolic", k, v) for k, v in (("rows", rows), ("cols", cols))}
    axes["dataflow"] = np.asarray([SYSTOLIC_DATAFLOWS.index(x) for x in df])
    for k, v in (("ifmap_sram_kb", ifmap_sram_kb), ("filter_sram_kb", filter_sram_kb), ("ofmap_sram_kb",
                                                                                        ofmap_sram_kb)):
        axes[k] = _axis("systolic", k, v)
    return AcceleratorSpace("systolic", DesignGrid.create(axes), None, SYSTOLIC_DATAFLOWS)


def accelerator_space(config: Mapping[str, Any]) -> AcceleratorSpace:
    """The space a config describes: ``{'kind': 'spatial' | 'systolic', <axis>: values, ...}`` (missing axes
    take :data:`SPATIAL_DEFAULTS` / :data:`SYSTOLIC_DEFAULTS`); unknown keys are rejected by name."""
    cfg = dict(config)
    kind = cfg.pop("kind", "spatial")
    defaults = {"spatial": SPATIAL_DEFAULTS, "systolic": SYSTOLIC_DEFAULTS}.get(kind)
    if defaults is None:
        raise ValueError(f"accelerators.kind={kind!r} must be 'spatial' or 'systolic'.")
    unknown = sorted(set(cfg) - set(defaults))
    if unknown:
        raise ValueError(f"accelerators: unknown field(s) {unknown} for kind {kind!r}; expected {sorted(defaults)}.")
    args = {**defaults, **cfg}
    return spatial_accelerator_space(**args) if kind == "spatial" else systolic_array_space(**args)
