"""Streaming reductions of a sweep: argmin, top-k and Pareto fronts that merge exactly.

All orders are total and independent of how the design range is chunked or sharded:

* argmin / top-k per workload: ascending ``(value, design index)`` (ties -> lowest index);
* overall top-k: ascending ``(value, workload, design index)``;
* Pareto front: point ``q`` *beats* ``p`` if ``q <= p`` in every objective and either ``q != p``
  somewhere or ``index(q) < index(p)``. This is a strict partial order, so the set of unbeaten
  points satisfies ``front(A u B) = front(front(A) u B)`` exactly: the front keeps one point (the
  lowest index) per distinct non-dominated objective vector.

Empty slots hold value ``+inf`` and index :data:`NO_INDEX` (int64 max); infeasible designs get
``+inf`` too. Device-side functions take ``jax.numpy`` arrays; ``pareto_front_np`` is the exact
host-side merge.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "NO_INDEX",
    "beaten_by",
    "chunk_argmin",
    "chunk_topk",
    "first_true",
    "front2_sorted",
    "merge_argmin",
    "merge_overall_topk",
    "merge_topk",
    "pareto_front_np",
]

#: Index stored in empty result slots (int64 max, so it sorts after every real index).
NO_INDEX = np.iinfo(np.int64).max


def chunk_argmin(obj, index):
    """Min and argmin of ``obj [S, c]`` along the designs, ``index [c]`` increasing.

    Returns ``(value [S], index [S])``; rows without a finite value get ``NO_INDEX``.
    """
    pos = jnp.argmin(obj, axis=1)  # first occurrence = lowest design index
    val = jnp.take_along_axis(obj, pos[:, None], axis=1)[:, 0]
    return val, jnp.where(jnp.isfinite(val), index[pos], NO_INDEX)


def merge_argmin(val_a, idx_a, val_b, idx_b):
    """Elementwise ``(value, index)``-lexicographic min of two argmin states ``[S]``."""
    take_b = (val_b < val_a) | ((val_b == val_a) & (idx_b < idx_a))
    return jnp.where(take_b, val_b, val_a), jnp.where(take_b, idx_b, idx_a)


def chunk_topk(obj, index, k: int):
    """k smallest of ``obj [S, c]`` per row by ``(value, index)`` (``index [c]`` increasing).

    Small k (<= 32): k rounds of first-occurrence argmin, masking each winner (2k fused passes;
    XLA's CPU ``top_k`` sorts whole rows and is ~40x slower). Larger k: ``lax.top_k``, which
    returns the lower position first on ties. Either way positions follow indices.
    Returns ``(value [S, k], index [S, k])``.
    """
    if k > 32:
        neg, pos = jax.lax.top_k(-obj, k)
        val = -neg
        return val, jnp.where(jnp.isfinite(val), index[pos], NO_INDEX)
    cols = jnp.arange(obj.shape[1])
    vals, idxs = [], []
    for _ in range(k):
        pos = jnp.argmin(obj, axis=1)
        val = jnp.take_along_axis(obj, pos[:, None], axis=1)[:, 0]
        vals.append(val)
        idxs.append(jnp.where(jnp.isfinite(val), index[pos], NO_INDEX))
        obj = jnp.where(cols[None, :] == pos[:, None], jnp.inf, obj)
    return jnp.stack(vals, 1), jnp.stack(idxs, 1)


def merge_topk(val, idx, k: int):
    """k smallest of candidates ``(val, idx) [..., n]`` by ``(value, index)``, sorted."""
    val, idx = jax.lax.sort((val, idx), dimension=val.ndim - 1, num_keys=2)
    return val[..., :k], idx[..., :k]


def merge_overall_topk(val, wl, idx, k: int):
    """k smallest of flat candidates ``[n]`` by ``(value, workload, index)``, sorted."""
    val, wl, idx = jax.lax.sort((val, wl, idx), num_keys=3)
    return val[:k], wl[:k], idx[:k]


def beaten_by(obj, index, ref, ref_index):
    """Whether each point is beaten by some reference point (see module docstring).

    Args:
      obj: ``[S, c, m]`` objectives; index: ``[c]`` or ``[S, c]`` design indices.
      ref: ``[S, r, m]`` reference objectives (``+inf`` rows never beat anything);
      ref_index: ``[S, r]``.

    Returns:
      bool ``[S, c]``. Sound: a point is marked only if a real point beats it.
    """
    le = jnp.all(ref[:, None, :, :] <= obj[:, :, None, :], axis=-1)          # [S, c, r]
    lt = jnp.any(ref[:, None, :, :] < obj[:, :, None, :], axis=-1)
    ix = jnp.broadcast_to(index, obj.shape[:2])
    lower = ref_index[:, None, :] < ix[:, :, None]
    real = jnp.all(jnp.isfinite(ref), axis=-1)[:, None, :]
    return jnp.any(le & (lt | lower) & real, axis=-1)


def front2_sorted(obj, index):
    """Exact chunk front for 2 objectives: sort each row by ``(o0, o1, index)``.

    Args:
      obj: ``[S, c, 2]``; index: ``[c]``.

    Returns:
      ``(sorted obj [S, c, 2], sorted index [S, c], on_front bool [S, c])``: a sorted point is
      unbeaten iff its ``o1`` is below every earlier ``o1``.
    """
    ix = jnp.broadcast_to(index, obj.shape[:2])
    s0, s1, si = jax.lax.sort((obj[..., 0], obj[..., 1], ix), dimension=1, num_keys=3)
    prev = jnp.concatenate([jnp.full_like(s1[:, :1], jnp.inf),
                            jax.lax.cummin(s1, axis=1)[:, :-1]], axis=1)
    on = (s1 < prev) & jnp.isfinite(s0) & jnp.isfinite(s1)
    return jnp.stack([s0, s1], -1), si, on


def first_true(mask, cap: int):
    """Positions of the first ``cap`` True entries of ``mask [S, c]`` and their count.

    A cumulative-sum compaction (one scatter, O(c) per row).
    Returns ``(pos [S, cap], count [S])``; unused slots hold ``c`` (one past the end).
    """
    S, c = mask.shape
    rank = jnp.cumsum(mask, axis=1) - 1
    slot = jnp.where(mask & (rank < cap), rank, cap)                 # cap = discard column
    out = jnp.full((S, cap + 1), c, dtype=jnp.int64)
    out = out.at[jnp.arange(S)[:, None], slot].set(
        jnp.broadcast_to(jnp.arange(c, dtype=jnp.int64), (S, c)), mode="drop",
        unique_indices=False)
    return out[:, :cap], jnp.sum(mask, axis=1)


def pareto_front_np(obj: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Exact front of points ``obj [n, m]`` (float64) with design ``index [n]`` (host, numpy).

    Points with a non-finite objective are dropped. Returns positions into ``obj`` of the
    front, sorted by ``(objective 0, ..., objective m-1, index)``.
    """
    obj = np.asarray(obj, np.float64)
    index = np.asarray(index, np.int64)
    keep = np.flatnonzero(np.all(np.isfinite(obj), axis=1))
    if keep.size == 0:
        return keep
    o, ix = obj[keep], index[keep]
    order = np.lexsort((ix,) + tuple(o[:, j] for j in range(o.shape[1] - 1, -1, -1)))
    o, ix, keep = o[order], ix[order], keep[order]
    m = o.shape[1]
    if m == 1:
        return keep[:1]
    if m == 2:
        # sorted lexicographically: i is beaten iff some earlier j has o1_j <= o1_i
        prev_min = np.minimum.accumulate(np.concatenate([[np.inf], o[:-1, 1]]))
        return keep[o[:, 1] < prev_min]
    # m >= 3: peel. The lexicographically first remaining point is unbeaten; drop all it beats.
    alive = np.ones(len(o), bool)
    front = []
    start = 0
    while True:
        rest = np.flatnonzero(alive[start:])
        if rest.size == 0:
            break
        i = start + rest[0]
        front.append(i)
        alive[i] = False
        start = i + 1
        tail = o[start:]
        beaten = np.all(o[i] <= tail, axis=1)  # index(i) < index(tail) on equal vectors? below
        beaten &= np.any(o[i] < tail, axis=1) | (ix[i] < ix[start:])
        alive[start:] &= ~beaten
    return keep[np.asarray(front, np.int64)]
