"""Host-side validation of spatial-model inputs: where MAESTRO crashes or refuses a (layer, accelerator,
dataflow) combination, as error strings per batch element ('' = ok)."""

from __future__ import annotations

from typing import Union

import numpy as np

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial import _engine as _eng
from codesign_jax.spatial._dataflow import Const, Dataflow, get_dataflow
from codesign_jax.spatial._model import (_ACCEL_KEYS, _check_kind, _dims, layer_keys, layer_kind, layer_value,
                                         resolve_constants)
from codesign_jax.workloads import SpatialLayer

__all__ = ["check_spatial"]


_POSITIVE = ("K", "C", "R", "S", "Y", "X", "stride", "N", "G", "num_pes", "noc_bw", "offchip_bw")


def _value_errors(b: dict) -> np.ndarray:
    """Error strings ('' = ok) for the float64 columns ``b`` (one shape): values that are not positive
    (the fields of ``_POSITIVE`` and constants, keyed ``'constant NAME'``), then values that are not
    integers; the first failing check wins."""
    shape = np.shape(next(iter(b.values())))
    err = np.full(shape, "", dtype=object)
    checks = [(b[k] <= 0, f"{k} must be a positive integer") for k in b if k in _POSITIVE or k.startswith("constant ")]
    # noc_hops is MAESTRO's NoC latency: 0 in its flag mode (noc_hop_latency defaults to 0).
    checks += [(b[k] < 0, f"{k} must be a non-negative integer") for k in ("noc_hops",) if k in b]
    checks += [(v != np.floor(v), f"{k} must be an integer") for k, v in b.items()]
    for mask, msg in checks:
        err[np.asarray(mask) & (err == "")] = msg
    return err


def _size(e, dims: dict, consts: dict):
    """A directive size as an array: an int, Sz(D) or a constant's per-point value."""
    if isinstance(e, Const):
        return consts[e.name]
    return dims[e] if isinstance(e, str) else float(e)


def check_spatial(layer: SpatialLayer, accel: SpatialAccelerator, dataflow: Union[str, Dataflow]) -> np.ndarray:
    """Host-side check of where MAESTRO crashes or refuses; returns an array of error strings ('' = ok).

    Covers: non-positive dims, hardware values or constants, DSCONV with K != 1, a dataflow naming a
    dimension the layer lacks at some cluster level ("Dimension K not found"), a TemporalMap on R/S
    whose size is not its offset or not the layer's R/S (DFSL_parser.hpp), and num_pes smaller than
    the product of cluster sizes (SIGFPE). Constants take their per-point values (``accel.constants``)
    or defaults. What MAESTRO computes but gets wrong is :func:`degenerate_errors`.

    Raises:
      ValueError: naming a constant that has neither a value nor a default.
    """
    df = get_dataflow(dataflow)
    kind = _check_kind(layer_kind(layer))
    lt = layer.layer_type
    df, cvals = resolve_constants(df, accel)
    cols = {k: np.asarray(layer_value(layer, k)) for k in layer_keys(kind)}
    cols.update({k: np.asarray(getattr(accel, k)) for k in _ACCEL_KEYS})
    cols.update({f"constant {n}": np.asarray(v) for n, v in cvals.items() if not isinstance(v, str)})
    shape = np.broadcast_shapes(*[v.shape for v in cols.values()])
    b = {k: np.broadcast_to(v, shape).astype(np.float64) for k, v in cols.items()}
    consts = {n: b["num_pes"] if isinstance(v, str) else b[f"constant {n}"] for n, v in cvals.items()}
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
            layer_np = SpatialLayer(**{k: b[k] for k in layer_keys(kind)}, layer_type=lt, batch=layer.batch)
            given, stride = _dims(np, layer_np, kind)
            levels = _eng.build_levels(_eng._Ops(np), df, kind, given, stride, b["num_pes"], consts=consts)
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
        flag(np.ones(shape, bool), f"dataflow {df.name!r} on {kind}: {msg}")
        return err
    dims = dict(given)
    for d in df.directives:
        if d.kind == "temporal" and d.var in ("R", "S") and lt != "GEMM":
            size, ofs = _size(d.size, dims, consts), _size(d.ofs, dims, consts)
            # DFSL_parser.hpp: "Tile size of R should be equal to tile offset of R" (constants substituted).
            flag(size != ofs, f"dataflow {df.name!r}: TemporalMap on {d.var} needs size == offset")
            flag(size != dims[d.var], f"dataflow {df.name!r}: TemporalMap on {d.var} must cover Sz({d.var})")
    prod = np.ones(shape)
    for c in df.cluster_sizes:
        prod = prod * _size(c, dims, consts)
    flag(b["num_pes"] < prod, f"dataflow {df.name!r}: num_pes smaller than its cluster size product "
         "(MAESTRO divides by zero)")
    return err


def _stride_groups(stride, layer_type: str) -> list:
    """``(mask, graph mode)`` of the stride-1 points ('unit'; every GEMM) and of the others
    ('strided'), empty groups left out; each specialised graph equals the general one on its group."""
    unit = (np.asarray(stride) == 1) | (layer_type == "GEMM")
    return [(m, mode) for m, mode in ((unit, "unit"), (~unit, "strided")) if m.any()]


#: Reasons for :attr:`SpatialReport.degenerate` codes (0 = MAESTRO's answer is meaningful).
DEGENERATE_REASONS = {
    1: "MAESTRO degenerates here: runtime 0 and 0 MACs (an edge tile smaller than the filter window gives "
       "negative tile sizes); it prints this as a result, a search must not pick it",
    2: "MAESTRO's int case-occurrence count overflows here (it aborts: 'num_case_occurrences > 0' failed, "
       "or reports wrapped counts)",
    3: "MAESTRO divides by zero here (SIGFPE): a top-level case whose sub-clusters compute nothing "
       "(off-chip bandwidth = L2 requirement / compute delay 0)",
}


def degenerate_errors(report) -> np.ndarray:
    """Error strings ('' = ok) for the points of a :class:`SpatialReport` whose ``degenerate`` code is
    set: MAESTRO evaluates them but its answer is meaningless (see :data:`DEGENERATE_REASONS`)."""
    code = np.asarray(report.degenerate)
    err = np.full(code.shape, "", dtype=object)
    for c, msg in DEGENERATE_REASONS.items():
        err[code == c] = msg
    return err
