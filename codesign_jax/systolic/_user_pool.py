"""USER-mode metrics of many (layer, design) points through a fixed pool of lanes.

A batched ``lax.while_loop`` runs as many rounds as its slowest lane needs, and the rounds a
USER-mode point needs are heavy-tailed (they grow with folds, prefetches and OFMAP drains: on random
GEMMs up to 1000 x 1000 x 1000 the mean is ~35 and the maximum ~700), so a plain batch spends most of
its time on lanes that have finished. :func:`user_metrics_pool` keeps ``lanes`` points in flight: each
call of one compiled step runs at most ``max_iter`` rounds of the recurrence; lanes that finished
hand their fields back and take the next points, the others carry their loop state into the next
call (``_user_scan.read_buffer_events(..., resume=...)``: a finished lane is a fixed point of the
recurrence, so resuming it is the same computation). Results are bit-identical to
:func:`~codesign_jax.systolic.systolic_metrics`; points are queued longest-first (by fold count) so
the pool does not end on one long point, and each dataflow is compiled in statically.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from codesign_jax.hardware import DATAFLOWS, SystolicArray
from codesign_jax.systolic._model import systolic_metrics
from codesign_jax.workloads import GEMM_ARRAY_FIELDS, Gemm

__all__ = ["user_metrics_pool"]

_ARRAY_FIELDS = ("rows", "cols", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "bandwidth",
                 "ifmap_dram_bw", "filter_dram_bw")


@functools.partial(jax.jit, static_argnames=("dataflow", "max_iter", "fields"))
def _step(g: Gemm, a: SystolicArray, state: dict, fresh, *, dataflow: int, max_iter: int,
          fields: tuple):
    """``max_iter`` rounds of the USER recurrence on ``[lanes]`` points (fresh lanes restart)."""
    a = a.replace(dataflow=np.int64(dataflow), bw_mode=np.int64(1))
    m = systolic_metrics(jnp, g, a, broadcast=False, user_max_iter=max_iter,
                         user_resume=None if state is None else (state, fresh))
    return ({k: jnp.broadcast_to(m[k], jnp.shape(fresh)) for k in fields}, m["user_state"],
            m["user_active"])


def _flat(gemm: Gemm, array: SystolicArray):
    """Both tables broadcast to one shape and flattened to ``[P]`` numpy arrays."""
    g_leaves = {k: getattr(gemm, k) for k in GEMM_ARRAY_FIELDS if getattr(gemm, k) is not None}
    names = list(g_leaves) + list(_ARRAY_FIELDS) + ["dataflow"]
    arrs = [np.asarray(g_leaves[k]) for k in g_leaves]
    arrs += [np.asarray(getattr(array, k)) for k in _ARRAY_FIELDS + ("dataflow",)]
    shape = np.broadcast_shapes(*(x.shape for x in arrs))
    flat = {k: np.broadcast_to(x, shape).reshape(-1) for k, x in zip(names, arrs)}
    return shape, flat


def _append_dummy(flat: dict) -> dict:
    """A trivial point (1x1x1 GEMM, 1 MB SRAMs: finishes in one round) at index ``P``."""
    one = {k: 1 for k in flat}
    one.update(ifmap_unique=1, ifmap_valid=1, ifmap_sram_kb=1024, filter_sram_kb=1024,
               ofmap_sram_kb=1024)
    if "last_w" in flat:
        one.update(filt_w=1, last_w=1)
    return {k: np.concatenate([v, np.asarray([one[k]], v.dtype)]) for k, v in flat.items()}


def _tables(flat: dict, pts: np.ndarray):
    g = {k: flat[k][pts] for k in flat if k not in _ARRAY_FIELDS and k != "dataflow"}
    a = {k: flat[k][pts] for k in _ARRAY_FIELDS}
    zeros = np.zeros(len(pts), np.int64)
    return Gemm(**g), SystolicArray(dataflow=zeros, bw_mode=zeros + 1, **a)


def _run_group(flat, idx, dataflow, fields, lanes, max_iter, out, bar, min_lanes):
    """Streams the points ``idx`` (one dataflow) through the pool; fills ``out[k][idx]``. Once
    the queue is empty the pool shrinks 8x whenever at most 1/8 of its lanes are busy (down to
    ``min_lanes``)."""
    dummy = len(flat["M"]) - 1
    slot = np.full(lanes, -1, np.int64)          # position in idx held by each lane
    g, a = _tables(flat, np.full(lanes, dummy))
    shapes = jax.eval_shape(functools.partial(_step.__wrapped__, dataflow=dataflow,
                                              max_iter=max_iter, fields=fields),
                            g, a, None, np.ones(lanes, bool))[1]
    state = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    nxt = 0
    while True:
        free = np.flatnonzero(slot < 0)[: len(idx) - nxt]
        slot[free] = np.arange(nxt, nxt + len(free))
        nxt += len(free)
        busy = slot >= 0
        if not busy.any():
            return
        if nxt == len(idx) and lanes >= 8 * min_lanes and busy.sum() <= lanes // 8:
            # queue empty and few lanes left: a step costs in proportion to its lanes (measured
            # linear on CPU), so move the busy lanes' loop states into a pool 8x smaller
            lanes //= 8
            sel = np.concatenate([np.flatnonzero(busy), np.flatnonzero(~busy)])[:lanes]
            state = jax.tree_util.tree_map(lambda v: v[sel], state)
            slot, free = slot[sel], free[:0]
            busy = slot >= 0
        fresh = np.zeros(lanes, bool)
        fresh[free] = True
        fresh |= ~busy                                   # idle lanes restart the dummy point
        g, a = _tables(flat, np.where(busy, idx[np.maximum(slot, 0)], dummy))
        vals, state, active = _step(g, a, state, fresh, dataflow=dataflow, max_iter=max_iter,
                                    fields=fields)
        done = busy & ~np.asarray(active)
        for k in fields:
            out[k][idx[slot[done]]] = np.asarray(vals[k])[done]
        slot[done] = -1
        if bar is not None:
            bar.update(int(done.sum()))


def user_metrics_pool(gemm: Gemm, array: SystolicArray, *, fields=("total_cycles",),
                      lanes: int = 1024, max_iter: int = 16, progress: bool = False,
                      min_lanes: int = 16) -> dict:
    """USER-bandwidth-mode ``fields`` of every (layer, design) pair, streamed through a pool.

    Args:
      gemm: layers (:class:`~codesign_jax.workloads.Gemm`, conv geometry kept if present).
      array: designs; ``bw_mode`` is taken as USER for every point. Broadcast against ``gemm``.
      fields: :func:`~codesign_jax.systolic.systolic_metrics` keys to return.
      lanes: points in flight per call (one compilation per dataflow and lane count, so it stays
        fixed: fewer points leave lanes idle; ~1k keeps the loop state in cache on a CPU).
      max_iter: recurrence rounds per call between refills.
      min_lanes: the tail of the stream (no points left to queue) runs on pools 8x smaller while
        at least this many lanes remain (one more compilation per size); ``min_lanes >= lanes``
        keeps the pool size fixed.
      progress: tqdm bar over points.

    Returns:
      ``{field: float64 array of the broadcast shape}``, equal to ``systolic_metrics``'s.
    """
    fields = tuple(fields)
    if lanes < 1 or max_iter < 1 or min_lanes < 1:
        raise ValueError(f"lanes, max_iter and min_lanes must be >= 1, got {lanes=}, "
                         f"{max_iter=}, {min_lanes=}.")
    shape, flat = _flat(gemm, array)
    flat = _append_dummy(flat)
    P = int(np.prod(shape))
    out = {k: np.full(P, np.nan) for k in fields}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=P, desc="USER-mode points", unit="pt")
    for code in np.unique(flat["dataflow"][:P]):
        if code not in range(len(DATAFLOWS)):
            raise ValueError(f"dataflow code must be one of 0, 1, 2, got {code}.")
        idx = np.flatnonzero(flat["dataflow"][:P] == code)
        # longest first: rounds grow with the fold count (the last points are the short ones)
        df = int(code)
        Sr = flat["M"][idx] if df == 0 else flat["K"][idx]
        Sc = flat["M"][idx] if df == 2 else flat["N"][idx]
        folds = -(-Sr // flat["rows"][idx]) * -(-Sc // flat["cols"][idx])
        idx = idx[np.argsort(-folds, kind="stable")]
        _run_group(flat, idx, df, fields, lanes, max_iter, out, bar, min_lanes)
    if bar is not None:
        bar.close()
    return {k: v.reshape(shape) for k, v in out.items()}
