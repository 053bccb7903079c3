"""The jitted sweep chunk: decode designs, evaluate the cost, reduce, shard over a 1-D mesh.

One compiled function per sweep evaluates ``S`` workloads (or networks) against a chunk of
``chunk`` consecutive flat design indices ``[start, start + chunk)``. The chunk is split evenly
over the mesh axis ``'d'`` with :func:`jax.shard_map`: device ``i`` takes indices
``start + i*c + arange(c)``, ``c = chunk / n_devices``. Per-device partial reductions are
all-gathered along the device axis and merged (exactly, see ``_reduce``) with the carry.
Indices ``>= n_designs`` (the last, partial chunk) are masked to ``+inf``, never recompiled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from codesign_jax.sweep import _reduce as red
from codesign_jax.sweep._grid import DesignSpace

AXIS = "d"


@dataclasses.dataclass(frozen=True)
class StepPlan:
    """Static shape/feature choices of one compiled chunk (all Python values).

    Attributes:
      chunk: designs per chunk (a multiple of ``n_devices``).
      n_devices: mesh size.
      n_designs: grid size; indices at or beyond it are masked.
      n_rows: result rows per call (workloads in a block, or networks when segmented).
      segmented: layers are summed into ``n_rows`` networks by segment id.
      top_k, overall_top_k: 0 disables.
      pareto_cap: candidates per device and row returned for the Pareto merge; 0 disables.
      pareto_of: positions of the objectives the Pareto front is taken over (2 or 3).
      full: also return every point's objectives.
      total_rows: rows of the whole sweep; block rows ``row0 + i >= total_rows`` (padding of
        the last workload block) are masked. ``None``: no padding.
    """

    chunk: int
    n_devices: int
    n_designs: int
    n_rows: int
    segmented: bool
    top_k: int = 0
    overall_top_k: int = 0
    pareto_cap: int = 0
    pareto_of: tuple = ()
    full: bool = False
    total_rows: int | None = None

    @property
    def local(self) -> int:
        return self.chunk // self.n_devices


def evaluate(cost_fn: Callable, workloads: Any, design: Any, seg, n_rows: int,
             segmented: bool) -> dict:
    """Metrics ``{key: [n_rows, c]}`` of every (row, design) pair.

    Unsegmented: ``workloads`` leaves are ``[n_rows]`` and broadcast against ``design``
    leaves ``[c]``. Segmented: layers (leaves ``[L]``) are scanned in order and each metric is
    accumulated into its network's row ``seg[l]`` (a fixed summation order, so float sums are
    bitwise reproducible for any chunking and device count).
    """
    c = jax.tree_util.tree_leaves(design)[0].shape[0]
    if not segmented:
        wl = jax.tree_util.tree_map(lambda x: x[:, None], workloads)
        m = cost_fn(wl, design)
        return {k: jnp.broadcast_to(v, (n_rows, c)) for k, v in m.items()}
    layer0 = jax.tree_util.tree_map(lambda x: x[0], workloads)
    shapes = jax.eval_shape(cost_fn, layer0, design)
    init = {k: jnp.zeros((n_rows, c), v.dtype) for k, v in shapes.items()}

    def body(acc, xs):
        layer, s = xs
        m = cost_fn(layer, design)
        return {k: acc[k].at[s].add(jnp.broadcast_to(m[k], (c,))) for k in acc}, None

    acc, _ = jax.lax.scan(body, init, (workloads, seg))
    return acc


def objective_stack(objectives: tuple, metrics: dict, valid) -> jax.Array:
    """``[n_obj, S, c]`` float64 objectives; invalid points and NaN become ``+inf``.

    ``valid`` is bool ``[S, c]``.
    """
    out = []
    for fn in objectives:
        o = jnp.asarray(fn(metrics), jnp.float64)
        o = jnp.broadcast_to(o, valid.shape)
        out.append(jnp.where(valid & ~jnp.isnan(o), o, jnp.inf))
    return jnp.stack(out)


def make_step(cost_fn: Callable, space: DesignSpace, objectives: tuple, plan: StepPlan,
              mesh: jax.sharding.Mesh, on_trace: Callable[[], None] = lambda: None):
    """Builds ``step(carry, start, row0, workloads, seg, grid_values, refs) -> (carry, out)``.

    Args (of the returned jitted function):
      carry: dict of running reductions (see :func:`init_carry`), replicated.
      start: int64 scalar, first design index of the chunk.
      row0: int64 scalar, global id of this block's first row (for overall top-k).
      workloads: pytree, leaves ``[n_rows]`` (or ``[L]`` layers when segmented).
      seg: int ``[L]`` segment ids (ignored unless segmented).
      grid_values: ``space.grid`` (its axis arrays are traced).
      refs: ``(objectives [S, r, m], index [S, r])`` Pareto references (ignored unless
        ``plan.pareto_cap``).

    Returns:
      new carry, and ``out``: ``{'pareto': (obj [n_dev, S, cap, m], index, count [n_dev, S])}``
      and/or ``{'full': [n_obj, S, chunk]}`` when enabled.
    """
    c, S, n_obj = plan.local, plan.n_rows, len(objectives)

    def local(start, row0, workloads, seg, grid, refs):
        dev = jax.lax.axis_index(AXIS).astype(jnp.int64)
        index = start + dev * c + jnp.arange(c, dtype=jnp.int64)
        valid = index < plan.n_designs
        v = grid.decode(index)
        if space.feasible is not None:
            valid = valid & space.feasible(v)
        design = space.build(v)
        metrics = evaluate(cost_fn, workloads, design, seg, S, plan.segmented)
        if space.metrics is not None:  # per-design metrics, never summed over layers
            metrics.update({k: jnp.broadcast_to(x, (S, c)) for k, x in
                            space.metrics(design).items()})
        ok_rows = jnp.ones((S, 1), bool)
        if plan.total_rows is not None:
            ok_rows = (row0 + jnp.arange(S) < plan.total_rows)[:, None]
        obj = objective_stack(objectives, metrics, valid[None, :] & ok_rows)
        part = {"argmin": red.chunk_argmin(obj[0], index)}
        if plan.top_k:
            part["topk"] = red.chunk_topk(obj[0], index, plan.top_k)
        if plan.overall_top_k:
            # the overall k best are among each row's k best: [S, k] candidates, flattened
            k = plan.overall_top_k
            kr = min(k, c)  # a row contributes at most c points per device and chunk
            val, ix = part["topk"] if plan.top_k >= kr else red.chunk_topk(obj[0], index, kr)
            val, ix = val[:, :kr], ix[:, :kr]
            wl = jnp.broadcast_to(row0 + jnp.arange(S, dtype=jnp.int64)[:, None], val.shape)
            wl = jnp.where(jnp.isfinite(val), wl, red.NO_INDEX)
            part["overall"] = red.merge_overall_topk(val.reshape(-1), wl.reshape(-1),
                                                     ix.reshape(-1), k)
        if plan.pareto_cap:
            po_ = obj[jnp.asarray(plan.pareto_of)]                         # [m, S, c]
            o = jnp.moveaxis(po_, 0, -1)                                   # [S, c, m]
            ref, ref_ix = refs
            if o.shape[-1] == 2:  # exact chunk front by sorting; then drop points refs beat
                o, ix, cand = red.front2_sorted(o, index)
            else:  # add each objective's chunk argmin as a reference
                pos = jnp.argmin(po_, axis=2)                              # [m, S]
                own = jnp.take_along_axis(o, pos.T[:, :, None], axis=1)    # [S, m, m]
                ref = jnp.concatenate([ref, own], axis=1)
                ref_ix = jnp.concatenate([ref_ix, index[pos.T]], axis=1)
                ix = jnp.broadcast_to(index, (S, c))
                cand = jnp.all(jnp.isfinite(o), axis=-1)
            cand = cand & ~red.beaten_by(o, ix, ref, ref_ix)
            first, count = red.first_true(cand, plan.pareto_cap)           # [S, cap], [S]
            ok = first < c
            safe = jnp.minimum(first, c - 1)
            po = jnp.where(ok[..., None], jnp.take_along_axis(o, safe[..., None], axis=1),
                           jnp.inf)
            pix = jnp.take_along_axis(ix, safe, axis=1)
            part["pareto"] = (po, jnp.where(ok, pix, red.NO_INDEX), count)
        if plan.full:
            part["full"] = obj
        # small partials -> every device: [n_dev, ...] in device (= index) order
        return jax.tree_util.tree_map(lambda x: jax.lax.all_gather(x, AXIS), part)

    smap = jax.shard_map(local, mesh=mesh, in_specs=(P(), P(), P(), P(), P(), P()),
                         out_specs=P(), check_vma=False)

    @jax.jit
    def step(carry, start, row0, workloads, seg, grid, refs):
        on_trace()
        part = smap(start, row0, workloads, seg, grid, refs)
        val, idx = carry["argmin"]
        for d in range(plan.n_devices):  # device order = index order
            val, idx = red.merge_argmin(val, idx, part["argmin"][0][d], part["argmin"][1][d])
        new = {"argmin": (val, idx)}
        if plan.top_k:
            cv, ci = carry["topk"]
            pv = jnp.moveaxis(part["topk"][0], 0, 1).reshape(S, -1)
            pi = jnp.moveaxis(part["topk"][1], 0, 1).reshape(S, -1)
            new["topk"] = red.merge_topk(jnp.concatenate([cv, pv], 1),
                                         jnp.concatenate([ci, pi], 1), plan.top_k)
        if plan.overall_top_k:
            cat = [jnp.concatenate([a, b.reshape(-1)]) for a, b in
                   zip(carry["overall"], part["overall"])]
            new["overall"] = red.merge_overall_topk(*cat, plan.overall_top_k)
        out = {}
        if plan.pareto_cap:
            out["pareto"] = part["pareto"]
        if plan.full:
            # [n_dev, m, S, c] -> [m, S, n_dev * c] (device-major = index order)
            out["full"] = jnp.moveaxis(part["full"], 0, 2).reshape(n_obj, S, plan.chunk)
        return new, out

    return step


def init_carry(plan: StepPlan, rows: int | None = None) -> dict:
    """Empty reductions: values ``+inf``, indices :data:`NO_INDEX`."""
    S = plan.n_rows if rows is None else rows
    inf = lambda *s: jnp.full(s, jnp.inf, jnp.float64)
    none = lambda *s: jnp.full(s, red.NO_INDEX, jnp.int64)
    carry = {"argmin": (inf(S), none(S))}
    if plan.top_k:
        carry["topk"] = (inf(S, plan.top_k), none(S, plan.top_k))
    if plan.overall_top_k:
        k = plan.overall_top_k
        carry["overall"] = (inf(k), none(k), none(k))
    return carry
