"""MAESTRO-style spatial-accelerator cost model: layers x accelerators x dataflows, batched and jitted.

Reproduces what MAESTRO (maestro-project/maestro@4eb08d1, HW-file mode) reports for one layer on
one accelerator with one dataflow: runtime, MACs, L1/L2 reads/writes per tensor, buffer size
requirements, NoC/off-chip bandwidth requirements, utilized PEs and its activity-count energy, plus
an off-chip (DRAM) energy term of our own. The dataflow is data (``spatial_dataflow.py``); the engine
(``spatial_engine.py`` formulas, ``spatial_analysis.py`` case sums, ``spatial_sym.py`` trace-time
interning) groups MAESTRO's iteration cases so that the sums stay exact with a few hundred to a few
thousand array ops per point; the jitted function walks large batches block by block (``lax.map``) and
evaluates millions of (layer, accelerator) points per second on a CPU
(``experiments/bench_spatial.py``).

Typical use::

  layer = conv_layer(K=64, C=64, R=3, S=3, Y=58, X=58)          # input sizes, as MAESTRO takes them
  accel = SpatialAccelerator(num_pes=256, l1_size=100, l2_size=3000, noc_bw=500, offchip_bw=150)
  rep = spatial_cost(layer, accel, 'kcp_ws')                      # broadcasts over batch dims
  grid = spatial_cost_grid(layers, accels, 'rs')                  # [L, A]: every layer on every accel
  cost_fn = make_spatial_cost('rs')                               # pure, jittable closure

``spatial_cost_grid`` is the fast path for layers x accelerators: accelerators are grouped by
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

from codesign_jax.cost import spatial_analysis as _ana
from codesign_jax.cost import spatial_engine as _eng
from codesign_jax.cost import spatial_sym as _sym
from codesign_jax.cost.spatial_dataflow import DATAFLOWS, Dataflow, get_dataflow, parse_dataflow

LAYER_TYPES = ("CONV", "DSCONV", "GEMM")

# Off-chip energy per DRAM access, in MAC-energy units (our term; MAESTRO has none): DRAM access
# ~200x a MAC, Chen, Emer & Sze, "Eyeriss", ISCA 2016, Fig. 1 (normalized energy cost).
DRAM_ENERGY_XMAC = 200.0


@struct.dataclass
class SpatialLayer:
    """A batch of layers, as MAESTRO takes them (input sizes, not output sizes).

    Fields are arrays of any broadcastable shape ``[...]`` (ints or float64):
      K: output channels (CONV), 1 for DSCONV; N (output columns) for GEMM.
      C: input channels; the reduction size K for GEMM.
      R, S: filter rows/cols (1 for GEMM).  Y, X: input rows/cols; Y is M (output rows) for GEMM.
      stride: stride of Y and X (1 for GEMM).
      layer_type: 'CONV', 'DSCONV' or 'GEMM' (static).
    """

    K: Any
    C: Any
    R: Any
    S: Any
    Y: Any
    X: Any
    stride: Any
    layer_type: str = struct.field(pytree_node=False, default="CONV")


def conv_layer(K, C, R, S, Y, X, stride=1) -> SpatialLayer:
    """A CONV layer; Y, X are input sizes (output = (Y - R) // stride + 1)."""
    return SpatialLayer(K, C, R, S, Y, X, stride, "CONV")


def dsconv_layer(C, R, S, Y, X, stride=1) -> SpatialLayer:
    """A depthwise conv layer (MAESTRO's DSCONV: one filter per channel, K = 1)."""
    return SpatialLayer(1, C, R, S, Y, X, stride, "DSCONV")


def gemm_layer(M, N, K) -> SpatialLayer:
    """GEMM (M x K) @ (K x N), stored as MAESTRO's GEMM dims: Y = M, K-column = N, C = K."""
    return SpatialLayer(N, K, 1, 1, M, 1, 1, "GEMM")


@struct.dataclass
class SpatialAccelerator:
    """A MAESTRO hardware description (its ``hw.m`` file); fields broadcast over a batch.

    Attributes:
      num_pes: processing elements. l1_size / l2_size: buffer capacities (elements) -- MAESTRO only
        compares them with the requirements (``l1_fits``/``l2_fits`` in the report).
      noc_bw: NoC bandwidth (elements/cycle). offchip_bw: off-chip bandwidth (elements/cycle).
      noc_hops: NoC hop latency (``NoC_NumHops``, default 1): NoC delay = hops + ceil(x/bw) - 1.
    """

    num_pes: Any
    l1_size: Any
    l2_size: Any
    noc_bw: Any
    offchip_bw: Any
    noc_hops: Any = 1


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


REPORT_FIELDS = tuple(f.name for f in SpatialReport.__dataclass_fields__.values())


def _dims(xp, layer: SpatialLayer):
    f = lambda a: xp.asarray(a, dtype=xp.float64)
    if layer.layer_type == "GEMM":
        return {"K": f(layer.C), "M": f(layer.Y), "N": f(layer.K)}, f(1.0)
    return {k: f(getattr(layer, k)) for k in ("K", "C", "R", "S", "Y", "X")}, f(layer.stride)


def _report(xp, layer_type, given, stride, accel, df: Dataflow, stride_mode: str = "general") -> dict:
    """The formulas, once, over array namespace ``xp``; returns a dict of REPORT_FIELDS.

    ``stride_mode``: 'general', or a static promise about every point: 'unit' (stride 1: skips
    ApplyOuterStride, fewer ops) or 'strided' (stride != 1: its tests fold).
    """
    ops = _sym.SymOps(xp)
    given = {k: ops.lift(v) for k, v in given.items()}
    stride = ops.lift(stride)
    f = lambda a: ops.lift(xp.asarray(a, dtype=xp.float64))
    num_pes, noc_bw, off_bw, hops = f(accel.num_pes), f(accel.noc_bw), f(accel.offchip_bw), f(accel.noc_hops)
    levels = _eng.build_levels(ops, df, layer_type, given, stride, num_pes, stride_mode == "unit",
                               stride_mode == "strided")
    top = _ana.analyze(ops, levels, 0, levels[0].dims, noc_bw, hops, off_bw, True)
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
    out["peak_noc_bw_req"] = top["peak"]
    out["avg_noc_bw_req"] = top["bw_avg"]
    out["offchip_bw_req"] = top["offchip"]
    for k, src in (("ingress", "in"), ("egress", "eg"), ("compute", "cp")):
        for s in ("min", "max", "avg"):
            out[f"{k}_delay_{s}"] = top[f"{src}_{s}"]
    out["avg_utilized_pes"] = top["active"]
    out["l1_fits"] = out["total_l1_size_req"] <= f(accel.l1_size)
    out["l2_fits"] = out["total_l2_size_req"] <= f(accel.l2_size)
    out = dict(zip(out, ops.lower_all(list(out.values()))))
    shape = xp.broadcast_shapes(*[xp.shape(v) for v in out.values()])
    return {k: xp.broadcast_to(xp.asarray(out[k], dtype=xp.float64), shape) for k in REPORT_FIELDS}


_LAYER_KEYS = ("K", "C", "R", "S", "Y", "X", "stride")
_ACCEL_KEYS = ("num_pes", "l1_size", "l2_size", "noc_bw", "offchip_bw", "noc_hops")


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


def make_spatial_cost(dataflow: Union[str, Dataflow], layer_type: str = "CONV", *, backend: str = "jax",
                      block: int = 2048, unit_stride: Optional[bool] = None, strided: Optional[bool] = None
                      ) -> Callable[[SpatialLayer, SpatialAccelerator], SpatialReport]:
    """Factory: a pure function ``(layer, accel) -> SpatialReport`` for one dataflow and layer type.

    Args:
      dataflow: a registered name (see :data:`DATAFLOWS`) or a parsed :class:`Dataflow`.
      layer_type: 'CONV', 'DSCONV' or 'GEMM' (static: it fixes the tensors' couplings).
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
    The returned function does not validate inputs; :func:`spatial_cost` does.
    """
    df = get_dataflow(dataflow)
    if layer_type not in LAYER_TYPES:
        raise ValueError(f"layer_type={layer_type!r} must be one of {LAYER_TYPES}.")
    xp = {"jax": jnp, "numpy": np}.get(backend)
    if xp is None:
        raise ValueError(f"backend={backend!r} must be 'jax' or 'numpy'.")

    def fields(layer: SpatialLayer, accel: SpatialAccelerator, unit: str) -> dict:
        given, stride = _dims(xp, SpatialLayer(layer.K, layer.C, layer.R, layer.S, layer.Y, layer.X,
                                               layer.stride, layer_type))
        with np.errstate(all="ignore"):
            return _report(xp, layer_type, given, stride, accel, df, unit)

    def flat_fields(unit, *cols):
        n = len(_LAYER_KEYS)
        out = fields(SpatialLayer(*cols[:n], layer_type), SpatialAccelerator(*cols[n:]), unit)
        return tuple(out[k] for k in REPORT_FIELDS)

    def cost(layer: SpatialLayer, accel: SpatialAccelerator) -> SpatialReport:
        unit = _stride_mode(layer.stride, unit_stride, strided)
        cols = [getattr(layer, k) for k in _LAYER_KEYS] + [getattr(accel, k) for k in _ACCEL_KEYS]
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
        out = jax.lax.map(lambda cs: flat_fields(unit, *cs), tuple(flat))
        return SpatialReport(**{k: v.reshape(-1)[:size].reshape(shape) for k, v in zip(REPORT_FIELDS, out)})

    return cost


_MODE_ARGS = {"unit": dict(unit_stride=True), "strided": dict(strided=True),
              "general": dict(unit_stride=False)}


@functools.lru_cache(maxsize=None)
def _jitted(df: Dataflow, layer_type: str, mode: str = "general"):
    return jax.jit(make_spatial_cost(df, layer_type, **_MODE_ARGS[mode]))


_POSITIVE = ("K", "C", "R", "S", "Y", "X", "stride", "num_pes", "noc_bw", "offchip_bw", "noc_hops")


def _value_errors(b: dict) -> np.ndarray:
    """Error strings ('' = ok) for the float64 columns ``b`` (one shape): values that are not positive
    (the fields of ``_POSITIVE``), then values that are not integers; the first failing check wins."""
    shape = np.shape(next(iter(b.values())))
    err = np.full(shape, "", dtype=object)
    checks = [(b[k] <= 0, f"{k} must be a positive integer") for k in _POSITIVE if k in b]
    checks += [(v != np.floor(v), f"{k} must be an integer") for k, v in b.items()]
    for mask, msg in checks:
        err[np.asarray(mask) & (err == "")] = msg
    return err


def check_spatial(layer: SpatialLayer, accel: SpatialAccelerator, dataflow: Union[str, Dataflow]) -> np.ndarray:
    """Host-side check of where MAESTRO crashes or refuses; returns an array of error strings ('' = ok).

    Covers: non-positive dims or hardware values, DSCONV with K != 1, a dataflow naming a dimension the
    layer lacks at some cluster level ("Dimension K not found"), a TemporalMap on R/S whose size is not
    the layer's R/S (DFSL_parser.hpp), and num_pes smaller than the product of cluster sizes (SIGFPE).
    """
    df = get_dataflow(dataflow)
    lt = layer.layer_type
    cols = {k: np.asarray(getattr(layer, k)) for k in ("K", "C", "R", "S", "Y", "X", "stride")}
    cols.update({k: np.asarray(getattr(accel, k)) for k in ("num_pes", "noc_bw", "offchip_bw", "noc_hops",
                                                             "l1_size", "l2_size")})
    shape = np.broadcast_shapes(*[v.shape for v in cols.values()])
    b = {k: np.broadcast_to(v, shape).astype(np.float64) for k, v in cols.items()}
    if lt not in LAYER_TYPES:
        raise ValueError(f"layer_type={lt!r} must be one of {LAYER_TYPES}.")
    err = _value_errors(b)

    def flag(mask, msg):
        m = np.asarray(mask) & (err == "")
        err[m] = msg

    if lt != "GEMM":
        flag((b["Y"] < b["R"]) | (b["X"] < b["S"]), "input Y/X smaller than filter R/S")
    if lt == "DSCONV":
        flag(b["K"] != 1, "DSCONV needs K == 1 (one filter per channel)")
    try:
        with np.errstate(all="ignore"):
            layer_np = SpatialLayer(*(b[k] for k in ("K", "C", "R", "S", "Y", "X", "stride")), lt)
            given, stride = _dims(np, layer_np)
            levels = _eng.build_levels(_eng._Ops(np), df, lt, given, stride, b["num_pes"])
            # ReuseAnalysis::AnalyzeInputMappingSizes falls back to the whole dim when the edge tile is
            # negative; the sub-cluster then iterates a dim whose static map covers it (unique size 0) and
            # GetPEIngressVolume terminates MAESTRO (exit 255). Seen with R/S < stride.
            for up, lo in zip(levels[:-1], levels[1:]):
                for dr in up.dirs:
                    if dr.var not in ("Y", "X"):
                        continue
                    low = next(x for x in lo.dirs if x.var == dr.var)
                    d = up.dims[dr.var]
                    nst = np.maximum(np.trunc((d - dr.m) / dr.o), 0)
                    neg_edge = (nst * dr.o + dr.m < d) & (d - (nst + 1) * dr.o < 0)
                    covered = (not low.spatial) & (lo.dims[dr.var] <= low.m)
                    flag(neg_edge & covered, f"dataflow {df.name!r}: MAESTRO terminates (edge tile of {dr.var} "
                         "falls back to the whole dimension; stride larger than the filter)")
    except (ValueError, KeyError) as e:
        msg = str(e) if isinstance(e, ValueError) else f"Dimension {e.args[0]} not found"
        flag(np.ones(shape, bool), f"dataflow {df.name!r} on {lt}: {msg}")
        return err
    dims = dict(given)
    for d in df.directives:
        if d.kind == "temporal" and d.var in ("R", "S") and lt != "GEMM":
            size = dims[d.size] if isinstance(d.size, str) else float(d.size)
            flag(size != dims[d.var], f"dataflow {df.name!r}: TemporalMap on {d.var} must cover Sz({d.var})")
    prod = np.ones(shape)
    for c in df.cluster_sizes:
        prod = prod * (dims[c] if isinstance(c, str) else float(c))
    flag(b["num_pes"] < prod, f"dataflow {df.name!r}: num_pes smaller than its cluster size product "
         "(MAESTRO divides by zero)")
    return err


def _stride_groups(stride, layer_type: str) -> list:
    """``(mask, graph mode)`` of the stride-1 points ('unit'; every GEMM) and of the others
    ('strided'), empty groups left out; each specialised graph equals the general one on its group."""
    unit = (np.asarray(stride) == 1) | (layer_type == "GEMM")
    return [(m, mode) for m, mode in ((unit, "unit"), (~unit, "strided")) if m.any()]


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


def spatial_area_power(num_pes, noc_bw, l1_elems, l2_elems, vector_width=1) -> tuple[Any, Any]:
    """Area (um^2) and power (mW) of a MAESTRO accelerator (DSE_hardware_modules.hpp Accelerator).

    MAESTRO's CSV uses the layer's L1/L2 *requirements* for ``l1_elems``/``l2_elems`` (per-PE L1).
    Constants: DSE_cost-database.hpp (MAC 283 um^2 / 1.2223 mW; SRAM 0.104 um^2 / 0.00345 mW per
    element; bus 101.7938 / 0.8; arbiter 395.473 / 0.34) and DSE_scaling-coefficients.hpp.
    """
    n, bw = jnp.asarray(num_pes, jnp.float64), jnp.asarray(noc_bw, jnp.float64)
    l1, l2 = jnp.ceil(jnp.asarray(l1_elems, jnp.float64)), jnp.ceil(jnp.asarray(l2_elems, jnp.float64))
    bus = 14.662 * n + 28.895  # Bus::GetScaledNumber (bus_c1, bus_c0)
    arb = 1.2886 * n**2 + 5.5814 * n - 23.711  # MatrixArbiter::GetScaledNumber (c2, c1, c0)
    area = (n * (283.0 * vector_width + 0.104 * l1) + 0.104 * l2 + 101.7938 * bus * bw
            + jnp.maximum(395.473 * arb, 395.473))
    power = (n * (1.2223 * vector_width + 0.00345 * l1) + 0.00345 * l2 + 0.8 * bus / 1000 * bw
             + jnp.maximum(0.34 * arb / 1000, 0.34))
    return area, power


__all__ = ["DATAFLOWS", "Dataflow", "SpatialAccelerator", "SpatialLayer", "SpatialReport", "REPORT_FIELDS",
           "conv_layer", "dsconv_layer", "gemm_layer", "make_spatial_cost", "spatial_cost", "check_spatial",
           "spatial_area_power", "parse_dataflow", "DRAM_ENERGY_XMAC", "spatial_cost_grid", "grid_errors"]


# The layers x accelerators grid evaluator lives in spatial_grid.py (it builds on the functions above;
# spatial_cost routes grid-shaped batches to it at call time).
from codesign_jax.cost.spatial_grid import grid_errors, spatial_cost_grid  # noqa: E402
