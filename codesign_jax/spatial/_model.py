"""MAESTRO-style spatial-accelerator cost model: layers x accelerators x dataflows, batched and jitted.

Reproduces what MAESTRO (maestro-project/maestro@4eb08d1, HW-file mode) reports for one layer on
one accelerator with one dataflow: runtime, MACs, L1/L2 reads/writes per tensor, buffer size
requirements, NoC/off-chip bandwidth requirements, utilized PEs and its activity-count energy, plus
an off-chip (DRAM) energy term of our own. The dataflow is data (``_dataflow.py``); the engine
(``_engine.py`` formulas, ``_analysis.py`` case sums, ``_sym.py`` trace-time interning) groups MAESTRO's iteration cases so that the sums stay exact with a few hundred to a few
thousand array ops per point; the jitted function walks large batches block by block (``lax.map``) and
evaluates millions of (layer, accelerator) points per second on a CPU
(``experiments/bench_spatial.py``).

Typical use::

  layer = conv_layer(K=64, C=64, R=3, S=3, Y=58, X=58)          # input sizes, as MAESTRO takes them
  accel = SpatialAccelerator(num_pes=256, l1_size=100, l2_size=3000, noc_bw=500, offchip_bw=150)
  rep = spatial_cost(layer, accel, 'kcp_ws')                      # broadcasts over batch dims
  grid = spatial_cost_grid(layers, accels, 'rs')                  # [L, A]: every layer on every accel
  cost_fn = make_spatial_cost('rs')                               # pure, jittable closure

This module holds the unvalidated kernel (:func:`make_spatial_cost`); ``_check.py`` the host-side
validation, ``_cost.py`` the validated :func:`spatial_cost` and ``_grid.py`` :func:`spatial_cost_grid`,
the fast path for layers x accelerators: accelerators are grouped by
``num_pes`` so the layer / num_pes part of the analysis (about three quarters of the ops) runs once
per (layer, block of accelerators) and only the bandwidth-dependent part per pair.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from codesign_jax import tech
from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial import _analysis as _ana
from codesign_jax.spatial import _engine as _eng
from codesign_jax.spatial import _sym as _sym
from codesign_jax.spatial._dataflow import Dataflow, get_dataflow
from codesign_jax.workloads import SpatialLayer

__all__ = ["DRAM_ENERGY_XMAC", "KINDS", "REPORT_FIELDS", "SpatialReport", "make_spatial_cost", "resolve_constants"]

# Off-chip energy per DRAM access, in MAC-energy units (our term; MAESTRO has none): DRAM access
# ~200x a MAC, Chen, Emer & Sze, "Eyeriss", ISCA 2016, Fig. 1 (normalized energy cost).
DRAM_ENERGY_XMAC = 200.0


@struct.dataclass
class SpatialReport:
    """MAESTRO's per-layer figures (names as in tests/data/maestro_reference.csv).

    Counts are in elements, delays/runtime in cycles, energies in units of one MAC's energy; every
    field is a float64 array of the broadcast batch shape.
    """

    runtime_cycles: Any
    num_macs_top: Any
    throughput_macs_per_cycle: Any
    energy_total_xmac: Any
    energy_l2_xmac: Any
    energy_l1_xmac: Any
    energy_offchip_xmac: Any
    static_energy_xmac: Any
    input_l2_read: Any
    input_l2_write: Any
    input_l1_read: Any
    input_l1_write: Any
    filter_l2_read: Any
    filter_l2_write: Any
    filter_l1_read: Any
    filter_l1_write: Any
    output_l2_read: Any
    output_l2_write: Any
    output_l1_read: Any
    output_l1_write: Any
    input_l2_size_req: Any
    input_l1_size_req: Any
    filter_l2_size_req: Any
    filter_l1_size_req: Any
    output_l2_size_req: Any
    output_l1_size_req: Any
    total_l2_size_req: Any
    total_l1_size_req: Any
    peak_noc_bw_req: Any
    avg_noc_bw_req: Any
    offchip_bw_req: Any
    ingress_delay_min: Any
    ingress_delay_max: Any
    ingress_delay_avg: Any
    egress_delay_min: Any
    egress_delay_max: Any
    egress_delay_avg: Any
    compute_delay_min: Any
    compute_delay_max: Any
    compute_delay_avg: Any
    avg_utilized_pes: Any
    l1_fits: Any
    l2_fits: Any
    degenerate: Any
    arithmetic_intensity: Any = None


REPORT_FIELDS = tuple(f.name for f in SpatialReport.__dataclass_fields__.values() if f.name != "arithmetic_intensity")



_LAYER_KEYS = ("K", "C", "R", "S", "Y", "X", "stride")
_ACCEL_KEYS = ("num_pes", "l1_size", "l2_size", "noc_bw", "offchip_bw", "noc_hops")
#: The spatial model's static layer kinds: MAESTRO's layer types, and "+N" with batch tensors.
KINDS = tuple(_eng.TENSORS)


def layer_keys(kind: str) -> tuple:
    """The :class:`SpatialLayer` fields a layer kind reads (N only with batch tensors, G for NGCONV)."""
    return _LAYER_KEYS + (("N",) if kind.endswith("+N") else ()) + (("G",) if kind.startswith("NGCONV") else ())


def layer_kind(layer: SpatialLayer) -> str:
    """The static layer kind of ``layer``: its ``layer_type``, plus ``'+N'`` with batch tensors."""
    return layer.layer_type + ("+N" if layer.batch and layer.layer_type != "GEMM" else "")


def layer_value(layer: SpatialLayer, key: str):
    """A layer field; an absent N or G (None) is 1."""
    v = getattr(layer, key)
    return 1.0 if v is None else v


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"layer_type={kind!r} must be one of {KINDS} ('+N': batch tensors).")
    return kind


def _dims(xp, layer: SpatialLayer, kind: Optional[str] = None):
    """MAESTRO's dimension table of ``layer`` (float64 arrays) and its stride."""
    kind = kind or layer_kind(layer)
    f = lambda a: xp.asarray(a, dtype=xp.float64)
    if kind == "GEMM":
        return {"K": f(layer.C), "M": f(layer.Y), "N": f(layer.K)}, f(1.0)
    return {k: f(layer_value(layer, k)) for k in layer_keys(kind) if k != "stride"}, f(layer.stride)


def resolve_constants(df: Dataflow, accel: SpatialAccelerator) -> tuple[Dataflow, dict]:
    """Splits ``df``'s constants into static ones (their integer defaults, substituted: folded at trace
    time like integer sizes) and per-point ones: ``(dataflow, {name: array or 'num_pes'})``. A value
    in ``accel.constants`` wins over a default; a constant bound to ``num_pes`` follows the PE count.

    Raises:
      ValueError: naming a constant that has neither a value nor a default.
    """
    given = dict(getattr(accel, "constants", None) or {})
    defaults = df.defaults
    df2 = df.substitute({n: v for n, v in defaults.items() if isinstance(v, int) and n not in given})
    out = {}
    for n in df2.constant_names:
        if n not in given and defaults.get(n) is None:
            raise ValueError(f"dataflow {df.name!r}: constant {n} has no value: give it per point "
                             f"(SpatialAccelerator.constants[{n!r}]) or a default ('Constant {n} value;').")
        out[n] = given[n] if n in given else defaults[n]
    return df2, out


def _report(xp, layer_type, given, stride, accel, df: Dataflow, stride_mode: str = "general",
            extras: bool = False, simd: int = 1) -> dict:
    """The formulas, once, over array namespace ``xp``; returns a dict of REPORT_FIELDS.

    ``stride_mode``: 'general', or a static promise about every point: 'unit' (stride 1: skips
    ApplyOuterStride, fewer ops) or 'strided' (stride != 1: its tests fold). Constants without a
    per-point value take their defaults as static integers (:func:`resolve_constants`).
    """
    ops = _sym.SymOps(xp)
    given = {k: ops.lift(v) for k, v in given.items()}
    stride = ops.lift(stride)
    f = lambda a: ops.lift(xp.asarray(a, dtype=xp.float64))
    num_pes, noc_bw, off_bw, hops = f(accel.num_pes), f(accel.noc_bw), f(accel.offchip_bw), f(accel.noc_hops)
    df, cvals = resolve_constants(df, accel)
    consts = {n: num_pes if isinstance(v, str) else f(v) for n, v in cvals.items()}
    levels = _eng.build_levels(ops, df, layer_type, given, stride, num_pes, stride_mode == "unit",
                               stride_mode == "strided", consts, simd)
    top = _ana.analyze(ops, levels, 0, levels[0].dims, noc_bw, hops, off_bw, True, extras)
    inner = levels[-1]
    out = {}
    tens = _eng.TENSORS[layer_type]
    for name, vs in tens:
        # CA_cost-analysis-engine.hpp UpdateBufferSizeReq: L1 req = 2 x mapped volume (innermost level).
        l1req = 2.0
        for v in vs:
            if v in inner.mp:
                l1req = l1req * inner.mp[v]
        out[f"{name}_l1_size_req"] = l1req + 0.0 * num_pes
        out[f"{name}_l2_size_req"] = top["l2req_" + name]
    for name, vs in tens[:2]:
        size = 1.0
        for v in vs:  # UpdateBufferSizeReq: L2 write = tensor size (input Y, X)
            size = size * levels[0].dims[v]
        out[f"{name}_l2_write"] = size + 0.0 * num_pes
        out[f"{name}_l2_read"] = top["l2r_" + name]
        out[f"{name}_l1_write"] = top["l2r_" + name]  # L1 write = L2 read (prev_rd_count quirk)
        out[f"{name}_l1_read"] = top["l1r_" + name]
    osize = 1.0
    for v in tens[2][1]:  # output L2 read: K (Y-R+1) (X-S+1), stride ignored
        osize = osize * (levels[0].dims[v] - levels[0].dims[_eng._SLIDING[v]] + 1 if v in _eng._SLIDING and
                         layer_type != "GEMM" else levels[0].dims[v])
    out["output_l2_read"] = osize + 0.0 * num_pes
    out["output_l2_write"] = top["l2w_output"]
    out["output_l1_write"] = top["l1w_output"]
    out["output_l1_read"] = top["l1w_output"]
    out["num_macs_top"] = top["macs"]
    out["runtime_cycles"] = top["runtime"]
    out["throughput_macs_per_cycle"] = top["macs"] / ops.max(top["runtime"], 1.0)
    l2 = sum(out[f"{n}_l2_{a}"] for n, _ in tens for a in ("read", "write"))
    l1 = sum(out[f"{n}_l1_{a}"] for n, _ in tens for a in ("read", "write"))
    # API_user-interface-v2.hpp: E = 18.61 x L2 accesses + 1.68 x L1 accesses + 1 x MACs.
    out["energy_l2_xmac"] = ops.rounded(_eng.L2_ENERGY * l2)  # no FMA: the same digits as numpy
    out["energy_l1_xmac"] = ops.rounded(_eng.L1_ENERGY * l1)
    out["energy_total_xmac"] = out["energy_l2_xmac"] + out["energy_l1_xmac"] + top["macs"]
    dram = out["input_l2_write"] + out["filter_l2_write"] + out["output_l2_read"]
    out["energy_offchip_xmac"] = DRAM_ENERGY_XMAC * dram
    out["total_l2_size_req"] = sum(out[f"{n}_l2_size_req"] for n, _ in tens)
    out["total_l1_size_req"] = sum(out[f"{n}_l1_size_req"] for n, _ in tens)
    # Our term (MAESTRO has none): leakage of the PEs and of the L1 (per PE) and L2 buffers the mapping
    # needs (the sizes MAESTRO's own area / power use; 1 element = 1 byte) over the runtime, in MAC units
    # (codesign_jax.tech: 45 nm PE / SRAM leakage, 1 GHz, 0.23 pJ per MAC).
    # pJ / MAC_PJ as one division by f * E_mac (XLA re-associates a / b / c into a / (b * c)).
    kb = (ops.rounded(num_pes * out["total_l1_size_req"]) + out["total_l2_size_req"]) / 1024.0
    out["static_energy_xmac"] = tech.static_energy_pj(top["runtime"], num_pes, kb, rounded=ops.rounded,
                                                      clock_mhz=tech.CLOCK_MHZ * tech.MAC_PJ)
    out["peak_noc_bw_req"] = top["peak"]
    out["avg_noc_bw_req"] = top["bw_avg"]
    out["offchip_bw_req"] = top["offchip"]
    for k, src in (("ingress", "in"), ("egress", "eg"), ("compute", "cp")):
        for s in ("min", "max", "avg"):
            out[f"{k}_delay_{s}"] = top[f"{src}_{s}"]
    out["avg_utilized_pes"] = top["active"]
    out["l1_fits"] = out["total_l1_size_req"] <= f(accel.l1_size)
    out["l2_fits"] = out["total_l2_size_req"] <= f(accel.l2_size)
    # Points where MAESTRO's own answer is meaningless: 3 = it divides by a zero compute delay (SIGFPE),
    # 2 = a case's int occurrence count overflows (DFA_iteration-analysis.hpp, int num_occurrence; it
    # aborts or wraps), 1 = runtime or MACs <= 0 (edge tiles smaller than the filter window go
    # negative; MAESTRO prints runtime 0).
    bad = (top["runtime"] <= 0) | (top["macs"] <= 0)
    code = ops.where(top["max_occ"] >= 2.0 ** 31, 2.0, ops.where(bad, 1.0, 0.0))
    out["degenerate"] = ops.where(top["zero_comp"], 3.0, code)
    if extras:  # CA_cost-analysis-engine.hpp SetArithmeticIntensity (MAESTRO's CSV only)
        out["arithmetic_intensity"] = top["arith"]
    out = dict(zip(out, ops.lower_all(list(out.values()))))
    shape = xp.broadcast_shapes(*[xp.shape(v) for v in out.values()])
    keys = REPORT_FIELDS + (("arithmetic_intensity",) if extras else ())
    return {k: xp.broadcast_to(xp.asarray(out[k], dtype=xp.float64), shape) for k in keys}


def _stride_mode(stride, unit_stride: Optional[bool], strided: Optional[bool]) -> str:
    """'unit' / 'strided' / 'general' from the promises, or from a concrete (not traced) stride."""
    if unit_stride:
        return "unit"
    if strided:
        return "strided"
    if unit_stride is False or strided is False or isinstance(stride, jax.core.Tracer):
        return "general"
    try:
        s = np.asarray(stride)
    except Exception:  # pragma: no cover  (anything not convertible: take the general path)
        return "general"
    return "unit" if np.all(s == 1) else ("strided" if np.all(s != 1) else "general")


def columns(layer: SpatialLayer, accel: SpatialAccelerator, kind: str) -> tuple[list, list, tuple]:
    """The leaves the model reads, flat: (layer columns in ``layer_keys(kind)`` order, accelerator
    columns in ``_ACCEL_KEYS`` order, then one per constant; the constants' names, sorted)."""
    consts = dict(accel.constants or {})
    names = tuple(sorted(consts))
    return ([layer_value(layer, k) for k in layer_keys(kind)],
            [getattr(accel, k) for k in _ACCEL_KEYS] + [consts[n] for n in names], names)


def from_columns(lcols, acols, kind: str, names: tuple) -> tuple[SpatialLayer, SpatialAccelerator]:
    """Inverse of :func:`columns`."""
    lt, n_a = kind.split("+")[0], len(_ACCEL_KEYS)
    layer = SpatialLayer(**dict(zip(layer_keys(kind), lcols)), layer_type=lt, batch=kind.endswith("+N"))
    accel = SpatialAccelerator(*acols[:n_a], constants=dict(zip(names, acols[n_a:])))
    return layer, accel


def make_spatial_cost(dataflow: Union[str, Dataflow], layer_type: str = "CONV", *, backend: str = "jax",
                      block: int = 2048, unit_stride: Optional[bool] = None, strided: Optional[bool] = None,
                      extras: bool = False, simd_lanes: int = 1
                      ) -> Callable[[SpatialLayer, SpatialAccelerator], SpatialReport]:
    """Factory: a pure function ``(layer, accel) -> SpatialReport`` for one dataflow and layer type.

    Args:
      dataflow: a registered name (see :data:`DATAFLOWS`) or a parsed :class:`Dataflow`. Its constants
        are read from ``accel.constants`` (traced: one graph for every value) or take their defaults.
      layer_type: one of :data:`KINDS`: 'CONV', 'DSCONV', 'GEMM', 'NGCONV', or one with '+N' (batch
        tensors; ``SpatialLayer.kind``) (static: it fixes the tensors' couplings).
      backend: 'jax' (jittable, vmappable; no input validation) or 'numpy' (the numpy port).
      block: JAX backend: batches larger than this are evaluated ``block`` points at a time
        (``lax.map``), so the formulas' intermediates stay in cache (2-3x faster on CPU); 0 = whole batch.
      unit_stride: True: promise that every point has stride 1 (a specialised graph without MAESTRO's
        ApplyOuterStride; results for other strides are wrong); False: the general graph; None (default):
        the specialised graph whenever ``layer.stride`` is concrete (not traced) and all ones, else the
        general one (under ``jit`` the stride is traced, so pass True there when stride 1 is known).
        Both graphs give identical results on stride-1 points.
      strided: True: promise that no point has stride 1 (ApplyOuterStride's stride tests fold; ~15%
        fewer ops; results for stride 1 are wrong); None (default): also chosen from a concrete stride.
      extras: also MAESTRO's ``arithmetic_intensity`` (a CSV figure: the last valid case's MACs per
        ingress element; not in :data:`REPORT_FIELDS`, adds ops).
      simd_lanes: MAC lanes per PE (MAESTRO's ``--num_simd_lanes``; static): the innermost compute delay
        is ceil(partial sums / lanes).
    The returned function does not validate inputs; :func:`spatial_cost` does.
    """
    df = get_dataflow(dataflow)
    kind = _check_kind(layer_type)
    if isinstance(simd_lanes, bool) or not isinstance(simd_lanes, int) or simd_lanes < 1:
        raise ValueError(f"simd_lanes must be a positive integer, got {simd_lanes!r}.")
    xp = {"jax": jnp, "numpy": np}.get(backend)
    if xp is None:
        raise ValueError(f"backend={backend!r} must be 'jax' or 'numpy'.")

    def fields(layer: SpatialLayer, accel: SpatialAccelerator, unit: str) -> dict:
        given, stride = _dims(xp, layer, kind)
        with np.errstate(all="ignore"):
            return _report(xp, kind, given, stride, accel, df, unit, extras, simd_lanes)

    def cost(layer: SpatialLayer, accel: SpatialAccelerator) -> SpatialReport:
        unit = _stride_mode(layer.stride, unit_stride, strided)
        lcols, acols, names = columns(layer, accel, kind)
        cols = lcols + acols
        shape = np.broadcast_shapes(*[np.shape(c) for c in cols])
        size = int(np.prod(shape))
        if backend == "numpy" or not block or size <= block:
            return SpatialReport(**fields(layer, accel, unit))
        nb = -(-size // block)
        flat = []
        for c in cols:
            c = jnp.broadcast_to(jnp.asarray(c, jnp.float64), shape).reshape(-1)
            if nb * block > size:  # pad with copies of the first point (a valid one)
                c = jnp.concatenate([c, jnp.broadcast_to(c[:1], (nb * block - size,))])
            flat.append(c.reshape(nb, block))

        keys = REPORT_FIELDS + (("arithmetic_intensity",) if extras else ())

        def flat_fields(cs):
            out = fields(*from_columns(cs[:len(lcols)], cs[len(lcols):], kind, names), unit)
            return tuple(out[k] for k in keys)

        out = jax.lax.map(flat_fields, tuple(flat))
        return SpatialReport(**{k: v.reshape(-1)[:size].reshape(shape) for k, v in zip(keys, out)})

    return cost


_MODE_ARGS = {"unit": dict(unit_stride=True), "strided": dict(strided=True),
              "general": dict(unit_stride=False)}


@functools.lru_cache(maxsize=None)
def _jitted(df: Dataflow, layer_type: str, mode: str = "general"):
    return jax.jit(make_spatial_cost(df, layer_type, **_MODE_ARGS[mode]))
