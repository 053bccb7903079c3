"""Case study 4: the AIRCHITECT-v2 design space (PE count x K tile for one CONV layer and dataflow).

Inputs: a stride-1 CONV layer in MAESTRO's naming (``K`` filters, ``C`` channels, input ``Y x X``,
filter ``R x S``; training: K, C even in 2..512, Y, X in {1, 8, 16, ..., 256}, R = S in
{1, 3, 5, 7, 9}, input >= filter, as AIRCHITECT-v2's published ranges) and a ``dataflow``: one of
ConfuciuX's mapping files 'dla' (0), 'eye' (1), 'shi' (2) (package data
``codesign_jax/data/confuciux/*.m``). Classes: AIRCHITECT-v2's ConfigID
``(num_pes - 1) * 12 + (KTileSz - 1)``, num_pes 1..64 x KTileSz 1..12 (CTileSz 1, ClusterSz =
num_pes), ConfuciuX's MAESTRO flags (unlimited L1/L2 and NoC, off-chip 70000, one NoC hop).
Cost: MAESTRO runtime (:func:`codesign_jax.spatial.spatial_runtime_space`); designs where MAESTRO is
degenerate (runtime 0, overflow; ``SpatialReport.degenerate``) are infeasible. The label is the first
minimum in ConfigID order: the fewest cycles, ties to fewer PEs, then the smaller tile.
"""

from __future__ import annotations

import functools
import logging
import os

import numpy as np

from codesign_jax.airchitect._case import Case, Labels, log_buckets, positive_inputs
from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial import parse_dataflow, spatial_cost, spatial_runtime_space
from codesign_jax.workloads import conv_layer

__all__ = ["V2_DATAFLOWS", "V2_HW", "v2_case", "v2_dataflow"]

_log = logging.getLogger("codesign_jax.airchitect")
_DIMS = ("K", "C", "Y", "X", "R", "S")
_INPUTS = _DIMS + ("dataflow",)
#: ConfuciuX's mapping files, by dataflow code.
V2_DATAFLOWS = ("dla", "eye", "shi")
#: ConfuciuX's MAESTRO flags (confuciux.md): l1/l2_size_cstr 819200000, noc_bw_cstr 81920000,
#: MAESTRO's default offchip_bw 70000, noc_hops 1 x noc_hop_latency 1.
V2_HW = dict(l1_size=819200000.0, l2_size=819200000.0, noc_bw=81920000.0, offchip_bw=70000.0, noc_hops=1.0)
_PES, _TILES = 64, 12
_SIZES = np.array([1] + list(range(8, 257, 8)), np.int64)
_FILTERS = np.array([1, 3, 5, 7, 9], np.int64)


@functools.lru_cache(maxsize=None)
def v2_dataflow(name: str):
    """ConfuciuX's mapping file ``name`` (dla / eye / shi), ``ClusterSz`` bound to ``num_pes``."""
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "confuciux", f"{name}.m")
    with open(path) as f:
        return parse_dataflow(f.read(), name).bind(ClusterSz="num_pes")


def _classes() -> dict:
    pes, kt = np.meshgrid(np.arange(1, _PES + 1), np.arange(1, _TILES + 1), indexing="ij")
    return {"num_pes": pes.ravel().astype(np.int64), "ktile": kt.ravel().astype(np.int64)}


def _layer(x: dict, rows=slice(None)):
    return conv_layer(*(np.asarray(x[k][rows], np.float64) for k in ("K", "C", "R", "S", "Y", "X")))


def _outside(x: dict) -> np.ndarray:
    """Sampled (Y, X, R = S, dataflow) outside the training domain: input smaller than the filter, and
    the layers where MAESTRO is degenerate on most designs (on all 768 in 34 of 45 such layers of a
    3000-layer sample): eye with output width X - S + 1 < S, shi with output height Y - R + 1 < R."""
    s = x.get("S", x["R"])
    return ((x["Y"] < x["R"]) | (x["X"] < s) | ((x["dataflow"] == 1) & (x["X"] - s + 1 < s))
            | ((x["dataflow"] == 2) & (x["Y"] - x["R"] + 1 < x["R"])))


def _dataflow_codes(v) -> np.ndarray:
    """Dataflow names ('dla' / 'eye' / 'shi') or codes (0 / 1 / 2) -> int64 codes."""
    a = np.asarray(v)
    if a.dtype.kind in "USO":
        flat = a.reshape(-1)
        bad = [s for s in flat if str(s) not in V2_DATAFLOWS]
        if bad:
            raise ValueError(f"dataflow must be one of {list(V2_DATAFLOWS)} (or codes 0..2), got {bad[0]!r}.")
        return np.asarray([V2_DATAFLOWS.index(str(s)) for s in flat], np.int64).reshape(a.shape)
    if a.dtype.kind not in "iuf" or a.size == 0:
        raise ValueError(f"dataflow must be one of {list(V2_DATAFLOWS)} or codes 0..2, got {v!r}.")
    bad = ~np.isin(a, [0, 1, 2])
    if np.any(bad):
        raise ValueError(f"dataflow must be one of {list(V2_DATAFLOWS)} or codes 0..2, got {a[bad][0]!r}.")
    return a.astype(np.int64)


def _runtime_table(x: dict, block: int, small: int) -> tuple[np.ndarray, np.ndarray]:
    """(runtime float64 [n, 768], valid bool [n, 768]) of every design, exhaustively: up to ``small``
    layers with the numpy port (no compilation), more with the compiled fast path (same numbers)."""
    n = len(x["K"])
    if n <= small:
        cls = _classes()
        rt, ok = _design_runtime({k: np.repeat(v, _PES * _TILES) for k, v in x.items()},
                                 np.tile(cls["num_pes"], n), np.tile(cls["ktile"], n))
        return rt.reshape(n, -1), ok.reshape(n, -1)
    rt, ok = np.empty((n, _PES * _TILES)), np.empty((n, _PES * _TILES), bool)
    for d, name in enumerate(V2_DATAFLOWS):
        rows = np.flatnonzero(x["dataflow"] == d)
        if rows.size:
            rt[rows], ok[rows] = spatial_runtime_space(
                _layer(x, rows), v2_dataflow(name), range(1, _PES + 1), {"KTileSz": range(1, _TILES + 1)},
                block_layers=block, pad_to_block=True, **V2_HW)
    return rt, ok


def _design_runtime(x: dict, pes: np.ndarray, kt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(runtime [n], valid [n]) of one design per sample: the numpy port of the spatial model (no
    compilation; the same numbers as the jitted path and the CLI)."""
    n = len(x["K"])
    rt, ok = np.empty(n), np.empty(n, bool)
    for d, name in enumerate(V2_DATAFLOWS):
        rows = np.flatnonzero(x["dataflow"] == d)
        if rows.size:
            acc = SpatialAccelerator(pes[rows].astype(np.float64), **V2_HW,
                                     constants={"KTileSz": kt[rows].astype(np.float64)})
            rep = spatial_cost(_layer(x, rows), acc, v2_dataflow(name), backend="numpy")
            rt[rows], ok[rows] = np.asarray(rep.runtime_cycles), np.asarray(rep.degenerate) == 0
    return rt, ok


def v2_case(n_buckets: int = 64, block: int = 8192, small: int = 64, rerank: int = 1) -> Case:
    """Case 4 (see module doc).

    Args:
      n_buckets: log-spaced buckets per dimension (K, C, Y, X) for the embedding baseline.
      block: layers per compiled call when labelling (memory: ~100 bytes x 768 per layer).
      small: up to this many layers, labels and feasibility come from the numpy port (no compilation:
        a single ``predict`` answers in well under a second); above it from the compiled fast path.
      rerank: the predictor's answer is the fastest (exact runtime) of the model's ``rerank``
        best-scoring valid designs (1: the model's top design; 8 costs 8 of the 768 evaluations).
    """
    if not isinstance(rerank, (int, np.integer)) or not 1 <= rerank <= _PES * _TILES:
        raise ValueError(f"rerank must be an int in 1..{_PES * _TILES}, got {rerank!r}.")
    cls = _classes()
    C = _PES * _TILES
    params = dict(n_buckets=n_buckets, block=block, small=small, rerank=int(rerank))

    def sample(rng: np.random.Generator, n: int) -> dict:
        x = {"K": 2 * rng.integers(1, 257, n), "C": 2 * rng.integers(1, 257, n),
             "Y": rng.choice(_SIZES, n), "X": rng.choice(_SIZES, n), "R": rng.choice(_FILTERS, n)}
        x["dataflow"] = rng.integers(0, 3, n)
        bad = _outside(x)
        while bad.any():  # rejection: uniform over the valid (Y, X, R, dataflow) combinations
            m = int(bad.sum())
            x["Y"][bad], x["X"][bad], x["R"][bad] = rng.choice(_SIZES, m), rng.choice(_SIZES, m), rng.choice(_FILTERS, m)
            bad = _outside(x)
        x["S"] = x["R"].copy()
        return {k: x[k].astype(np.int64) for k in _INPUTS}

    def check(inputs) -> dict:
        if "dataflow" not in inputs:
            raise ValueError(f"missing input(s) ['dataflow']; this case takes {list(_INPUTS)}.")
        dims = {k: v for k, v in inputs.items() if k != "dataflow"}
        x = positive_inputs(dims, _DIMS)
        dshape = np.broadcast_shapes(*(np.shape(dims[k]) for k in _DIMS))
        df = _dataflow_codes(inputs["dataflow"])
        try:
            shape = np.broadcast_shapes(dshape, df.shape)
        except ValueError:
            raise ValueError(f"dataflow of shape {df.shape} does not broadcast with the layer inputs "
                             f"of shape {dshape}.") from None
        x = {k: np.broadcast_to(v.reshape(dshape), shape).reshape(-1) for k, v in x.items()}
        x["dataflow"] = np.broadcast_to(df, shape).reshape(-1)
        for inp, flt in (("Y", "R"), ("X", "S")):
            bad = x[inp] < x[flt]
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"input {inp}={x[inp][i]} is smaller than the filter {flt}={x[flt][i]} "
                                 f"(valid convolution, stride 1: input >= filter).")
        return x

    def _scale(x):
        yo = (x["Y"] - x["R"] + 1).astype(np.float64)
        xo = (x["X"] - x["S"] + 1).astype(np.float64)
        return yo, xo

    pes = np.arange(1, _PES + 1, dtype=np.float64)
    tiles = np.arange(1, _TILES + 1, dtype=np.float64)

    def features(x) -> np.ndarray:
        # Per dataflow, one block (zero for the other dataflows) of the quantities MAESTRO's case
        # analysis multiplies: the K fold ceil(K / t) of every tile, the fold of the dimension the
        # PE count divides (dla: C across the cluster; eye: output rows Y'; shi: output columns X')
        # for every PE count, plus the logs of the sizes and the filter one-hot.
        yo, xo = _scale(x)
        k, c = x["K"].astype(np.float64), x["C"].astype(np.float64)
        base = [np.log(k)[:, None], np.log(c)[:, None], np.log(yo)[:, None], np.log(xo)[:, None],
                np.log(x["R"].astype(np.float64))[:, None], np.log(x["S"].astype(np.float64))[:, None],
                (x["R"][:, None] == _FILTERS[None, :]).astype(np.float64),
                np.log(np.ceil(k[:, None] / tiles[None, :]))]
        by_df = (c, yo, xo)
        n = len(k)
        width = sum(b.shape[1] for b in base) + _PES
        out = np.zeros((n, 3 + 3 * width), np.float32)
        out[np.arange(n), x["dataflow"]] = 1.0
        for d in range(3):
            rows = np.flatnonzero(x["dataflow"] == d)
            blk = np.concatenate([b[rows] for b in base] + [np.log(np.ceil(by_df[d][rows, None] / pes[None, :]))],
                                 axis=1)
            out[rows, 3 + d * width:3 + (d + 1) * width] = blk
        return out

    def buckets(x) -> np.ndarray:
        b = [log_buckets(x[k], 512, n_buckets) for k in ("K", "C")]
        b += [log_buckets(x[k], 256, n_buckets) for k in ("Y", "X")]
        b.append(np.clip((x["R"] - 1) // 2, 0, 4))
        b.append(x["dataflow"])
        return np.stack(b, axis=1).astype(np.int32)

    def feasible(x) -> np.ndarray:
        return _runtime_table(x, block, small)[1]

    def label(x, progress: bool = False) -> Labels:
        parts = []
        n = len(x["K"])
        step = max(block, 1) * 8
        for lo in range(0, n, step):
            w = {k: v[lo:lo + step] for k, v in x.items()}
            rt, ok = _runtime_table(w, block, small)
            if not ok.any(axis=1).all():
                i = lo + int(np.argmin(ok.any(axis=1)))
                raise ValueError(f"layer {i} ({ {k: int(v[i]) for k, v in x.items()} }): MAESTRO is degenerate "
                                 "on every design (no label).")
            masked = np.where(ok, rt, np.inf)
            opt = masked.min(axis=1)
            lc = np.log(np.where(ok, rt, 1.0))
            worst = np.max(np.where(ok, lc, -np.inf), axis=1, keepdims=True)
            parts.append(Labels(label=np.argmin(masked, axis=1).astype(np.int64), opt_cost=opt,
                                optimal=masked == opt[:, None], feasible=ok,
                                log_cost=np.where(ok, lc, worst).astype(np.float32)))
            if progress:
                _log.info("v2 labels: %d / %d layers", min(lo + step, n), n)
        return Labels.concat(parts)

    def select(x, scores: np.ndarray) -> np.ndarray:
        # The design to answer with, without the 768-design table: walk the candidates in score order
        # with the numpy port (one design per sample per round; a MAESTRO-degenerate candidate passes
        # to the next) until ``rerank`` valid ones are seen, and keep the fastest of them (ties: the
        # lower ConfigID, the label's rule). rerank=1: the best-scoring valid design, the same answer as
        # argmax over feasible(x). -1: no valid design at all.
        order = np.argsort(-scores, axis=1, kind="stable")
        n = len(order)
        out = np.full(n, -1, np.int64)
        best = np.full(n, np.inf)
        seen = np.zeros(n, np.int64)
        todo = np.arange(n)
        for r in range(C):
            if not todo.size:
                break
            c = order[todo, r]
            rt, ok = _design_runtime({k: v[todo] for k, v in x.items()}, cls["num_pes"][c], cls["ktile"][c])
            better = ok & ((rt < best[todo]) | ((rt == best[todo]) & (c < out[todo])))
            out[todo[better]], best[todo[better]] = c[better], rt[better]
            seen[todo] += ok
            todo = todo[seen[todo] < rerank]
        return out

    def score(x, c, labels: Labels | None = None) -> dict:
        c = np.asarray(c, np.int64)
        p, t = cls["num_pes"][np.maximum(c, 0)], cls["ktile"][np.maximum(c, 0)]
        rt, ok = _design_runtime(x, p, t)
        ok = ok & (c >= 0)
        # the predictor picks feasible designs only; an infeasible one means the layer has none at all
        # (MAESTRO degenerate on every design): no design, config_id -1, runtime NaN
        out = {"num_pes": np.where(ok, p, 0), "ktile": np.where(ok, t, 0), "config_id": np.where(ok, c, -1),
               "runtime_cycles": np.where(ok, rt, np.nan),
               "dataflow": np.asarray(V2_DATAFLOWS)[x["dataflow"]]}
        if labels is not None:
            out["correct"] = out["runtime_cycles"] == labels.opt_cost
            out["ratio"] = labels.opt_cost / out["runtime_cycles"]
        return out

    return Case(name="v2", params=params, input_names=_INPUTS, input_width=1, classes=cls, sample=sample,
                check=check, features=features, buckets=buckets,
                bucket_sizes=(n_buckets,) * 4 + (5, 3), feasible=feasible, label=label, score=score,
                output_names=("num_pes", "ktile", "config_id", "runtime_cycles", "dataflow"), select=select)
