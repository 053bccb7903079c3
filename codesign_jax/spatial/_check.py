"""Host-side validation of spatial-model inputs: where MAESTRO crashes or refuses a (layer, accelerator,
dataflow) combination, as error strings per batch element ('' = ok)."""

from __future__ import annotations

from typing import Union

import numpy as np

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial import _engine as _eng
from codesign_jax.spatial._dataflow import Dataflow, get_dataflow
from codesign_jax.spatial._model import _dims
from codesign_jax.workloads import LAYER_TYPES, SpatialLayer

__all__ = ["check_spatial"]


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
