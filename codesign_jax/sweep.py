"""Design-space sweeps over workloads x designs in bounded memory, sharded over devices.

``sweep(cost_fn, workloads, space, objectives)`` evaluates every (workload, design) point of a
lazy design grid and keeps only reductions:

* ``best_value/best_index [S]``: min / argmin of the first objective per workload (or network);
* ``topk_value/topk_index [S, k]``: the k best designs per workload;
* ``overall_*  [k]``: the k best (workload, design) pairs overall;
* ``pareto_*``: the exact Pareto front over all objectives (2-3) per workload;
* ``full [n_obj, S, n_designs]``: every point's objectives, when asked and when it fits.

The design range is streamed in chunks of a fixed size (one compilation; the last, partial
chunk is masked). Each chunk is split over all ``jax.devices()`` on a 1-D mesh with
``jax.shard_map``; under ``jax.distributed.initialize()`` the same code runs multi-host (every
process runs the same sweep; results are replicated). All orders are total (ties go to the
lowest flat design index, see ``_sweep_reduce``), so results are identical for every chunk
size and device count. Host memory is O(workloads x k + Pareto front), independent of the
number of points.

Any cost function ``cost_fn(workloads, designs) -> {metric: array}`` that broadcasts works,
e.g. :func:`codesign_jax.cost.systolic.systolic_metrics` (see :func:`systolic_cost_fn`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from codesign_jax import _sweep_host as host
from codesign_jax import _sweep_step as step_lib
from codesign_jax._sweep_grid import DesignGrid, DesignSpace, systolic_space
from codesign_jax._sweep_reduce import NO_INDEX, pareto_front_np

__all__ = [
    "NO_INDEX",
    "DesignGrid",
    "DesignSpace",
    "SweepResult",
    "SweepStats",
    "compute_cycles_cost_fn",
    "evaluate_points",
    "pareto_front_np",
    "resolve_objectives",
    "sweep",
    "systolic_cost_fn",
    "systolic_energy_cost_fn",
    "systolic_space",
]

_log = logging.getLogger(__name__)

#: Built-in objective names -> functions of (summed) metrics.
BUILTIN_OBJECTIVES = {
    "latency": lambda m: _get(m, "total_cycles"),
    "energy": lambda m: _get(m, "total_energy_pj"),
    "edp": lambda m: _get(m, "total_cycles") * _get(m, "total_energy_pj"),
    "area": lambda m: _get(m, "area_mm2"),
}


def _get(m: dict, key: str):
    if key not in m:
        raise ValueError(f"objective needs metric {key!r}, which the cost function and design "
                         f"space do not provide; available: {sorted(m)}.")
    return m[key]


def systolic_cost_fn() -> Callable:
    """``cost_fn(gemm, array)`` = the SCALE-Sim-exact :func:`~codesign_jax.cost.systolic.
    systolic_metrics` (all report fields, float64 exact counts)."""
    from codesign_jax.cost.systolic import systolic_metrics

    return lambda g, a: systolic_metrics(jnp, g, a)


def systolic_energy_cost_fn(table=None) -> Callable:
    """``cost_fn(gemm, array)``: :func:`systolic_cost_fn` metrics plus energy (pJ), area and
    EDP from :func:`~codesign_jax.cost.energy.systolic_energy` (``table``: default cited)."""
    from codesign_jax.cost.energy import default_energy_table, systolic_energy
    from codesign_jax.cost.systolic import systolic_metrics

    table = default_energy_table() if table is None else table

    def cost(g, a):
        m = systolic_metrics(jnp, g, a)
        m.update(systolic_energy(jnp, m, a, table))
        return m

    return cost


def compute_cycles_cost_fn() -> Callable:
    """``cost_fn(gemm, array) -> {'total_cycles', 'macs'}``: SCALE-Sim compute cycles only
    (no memory stalls; :func:`~codesign_jax.cost.systolic.compute_cycles`)."""
    from codesign_jax.cost.systolic import compute_cycles

    def cost(g, a):
        cyc = compute_cycles(jnp, g.M, g.N, g.K, a.rows, a.cols, a.dataflow)
        return {"total_cycles": cyc, "macs": jnp.asarray(g.M * g.N * g.K, jnp.float64)}

    return cost


def resolve_objectives(objectives) -> tuple[tuple[str, ...], tuple[Callable, ...]]:
    """Normalizes objectives to ``(names, fns)``.

    Accepts a string, a sequence of strings / ``(name, fn)`` pairs, or a ``{name: fn}``
    mapping. A string is a built-in (``'latency'`` = ``total_cycles``, ``'energy'`` =
    ``total_energy_pj``, ``'edp'`` = their product, ``'area'`` = ``area_mm2``) or a metric key
    of the cost function or design space. With ``segment_ids`` the objectives see per-network
    sums, so ``'edp'`` is network latency x network energy.
    """
    if isinstance(objectives, str):
        objectives = [objectives]
    items = list(objectives.items()) if isinstance(objectives, Mapping) else list(objectives)
    if not 1 <= len(items) <= 8:
        raise ValueError(f"objectives must name 1 to 8 objectives, got {len(items)}: {items}.")
    names, fns = [], []
    for it in items:
        if isinstance(it, str):
            name = it
            fn = BUILTIN_OBJECTIVES.get(it, lambda m, k=it: _get(m, k))
        elif isinstance(it, tuple) and len(it) == 2 and callable(it[1]):
            name, fn = it
        else:
            raise ValueError(f"objectives entries must be names or (name, fn) pairs, got {it!r}.")
        names.append(str(name))
        fns.append(fn)
    if len(set(names)) != len(names):
        raise ValueError(f"objective names must be unique, got {names}.")
    return tuple(names), tuple(fns)


@dataclasses.dataclass(frozen=True)
class SweepStats:
    """How a sweep ran: sizes, timing (seconds; the first chunk includes compilation) and
    engine counters (``compiles``: traces of the chunk function, 1 when nothing retraced)."""

    points: int
    n_workloads: int
    n_designs: int
    chunk_size: int
    n_chunks: int
    n_devices: int
    device: str
    seconds: float
    first_chunk_seconds: float
    compiles: int
    pareto_fallbacks: int

    @property
    def points_per_s(self) -> float:
        """Throughput over the whole sweep, compilation included."""
        return self.points / self.seconds if self.seconds > 0 else float("inf")

    @property
    def steady_points_per_s(self) -> float:
        """Throughput after the first (compiling) chunk; NaN for single-chunk sweeps."""
        rest = self.seconds - self.first_chunk_seconds
        if self.n_chunks < 2 or rest <= 0:
            return float("nan")
        return self.points * (self.n_chunks - 1) / self.n_chunks / rest


@struct.dataclass
class SweepResult:
    """Reductions of a sweep (host numpy arrays). Index -1 = no feasible design.

    Attributes:
      best_value, best_index: ``[S]`` float64 / int64, min and argmin of objective 0.
      topk_value, topk_index: ``[S, k]`` sorted ascending (``None`` unless ``top_k``).
      overall_value, overall_workload, overall_index: ``[k]`` (``None`` unless ``overall_top_k``).
      pareto_workload, pareto_index: ``[n]`` int64; pareto_values ``[n, m]`` float64: every
        workload's front over the m objectives ``pareto_names``, by workload then objectives
        (``None`` unless ``pareto``).
      full: ``[n_obj, S, n_designs]`` float64 objectives (``None`` unless ``full``).
      objective_names, axis_names: static labels. stats: :class:`SweepStats`.
    """

    best_value: np.ndarray
    best_index: np.ndarray
    topk_value: np.ndarray | None = None
    topk_index: np.ndarray | None = None
    overall_value: np.ndarray | None = None
    overall_workload: np.ndarray | None = None
    overall_index: np.ndarray | None = None
    pareto_workload: np.ndarray | None = None
    pareto_index: np.ndarray | None = None
    pareto_values: np.ndarray | None = None
    full: np.ndarray | None = None
    objective_names: tuple = struct.field(pytree_node=False, default=())
    pareto_names: tuple = struct.field(pytree_node=False, default=())
    axis_names: tuple = struct.field(pytree_node=False, default=())
    stats: SweepStats | None = struct.field(pytree_node=False, default=None)


def _host_index(ix) -> np.ndarray:
    ix = np.asarray(ix, np.int64)
    return np.where(ix == NO_INDEX, -1, ix)


def _leading(workloads) -> int:
    leaves = jax.tree_util.tree_leaves(workloads)
    if not leaves:
        raise ValueError("workloads has no array leaves.")
    lens = {int(np.shape(x)[0]) if np.ndim(x) else -1 for x in leaves}
    if len(lens) != 1 or -1 in lens:
        raise ValueError(f"every workloads leaf must be 1-D with the same length, got leading "
                         f"sizes {sorted(lens)}.")
    return lens.pop()


def _pow2_at_most(x: int) -> int:
    return 1 << max(0, int(x).bit_length() - 1)


def sweep(cost_fn: Callable, workloads: Any, space: DesignSpace, objectives="latency", *,
          segment_ids=None, num_segments: int | None = None, top_k: int = 0,
          overall_top_k: int = 0, pareto: bool | Sequence[str] = False, full: bool = False,
          chunk_size: int | None = None, workload_block: int = 4096,
          points_per_chunk: int | None = None, pareto_capacity: int = 256,
          pareto_refs: int = 64, full_max_bytes: int = 1 << 30, progress: bool | None = None,
          devices: Sequence[jax.Device] | None = None) -> SweepResult:
    """Evaluates ``cost_fn`` on every (workload, design) point and returns its reductions.

    Args:
      cost_fn: ``(workloads, designs) -> {metric: array}``, broadcasting (workload leaves come
        as ``[S, 1]``, design leaves as ``[c]``; segmented: one layer's scalars vs ``[c]``).
      workloads: pytree whose leaves are ``[L]`` arrays (e.g. a :class:`~codesign_jax.
        workloads.Gemm` of L layers).
      space: :class:`DesignSpace` (grid axes, ``build`` into the cost function's design,
        optional ``feasible`` mask), e.g. :func:`systolic_space`.
      objectives: 1-8 objectives (see :func:`resolve_objectives`); the first one is minimized
        by argmin/top-k; the Pareto front uses 2-3 of them.
      segment_ids: optional int ``[L]`` network id per layer: metrics are summed per network
        (all metrics must then be additive: cycles, accesses, energy) and ``S`` = networks.
      num_segments: number of networks (default ``max(segment_ids) + 1``).
      top_k, overall_top_k: sizes of the per-workload and overall top-k (0: off).
      pareto: keep the exact Pareto front per workload over all objectives (``True``) or over
        the named 2-3 of them.
      full: also return every point's objectives (only if they fit in ``full_max_bytes``).
      chunk_size: designs per chunk, a multiple of the device count (default: about
        ``points_per_chunk / S`` rounded to a power of two). Results do not depend on it.
      points_per_chunk: target (workload, design) points per chunk when ``chunk_size`` is
        None; default 2^20 per CPU device, 2^26 per GPU/TPU device (enough work per dispatch).
      workload_block: unsegmented workloads are processed in blocks of this many rows.
      pareto_capacity: candidates per device and chunk sent to the host merge; a chunk with
        more candidates is re-evaluated in full and merged on the host (still exact).
      pareto_refs: front points sent back to the device to discard beaten points early.
      progress: show a tqdm bar (``None``: only if the estimated time exceeds 1 s).
      devices: devices of the 1-D mesh (default all ``jax.devices()``).

    Returns:
      :class:`SweepResult`.
    """
    names, fns = resolve_objectives(objectives)
    n_designs = space.size
    L = _leading(workloads)
    devices = list(jax.devices() if devices is None else devices)
    n_dev = len(devices)
    for name, v in (("top_k", top_k), ("overall_top_k", overall_top_k)):
        if not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a non-negative int, got {v!r}.")
    pareto_of = ()
    if pareto is True:
        pareto_of = tuple(range(len(names)))
    elif pareto:
        pnames = [pareto] if isinstance(pareto, str) else list(pareto)
        bad = [p for p in pnames if p not in names]
        if bad:
            raise ValueError(f"pareto objectives {bad} are not among objectives={names}.")
        pareto_of = tuple(names.index(p) for p in pnames)
    if pareto and (not 2 <= len(pareto_of) <= 3 or len(set(pareto_of)) != len(pareto_of)):
        raise ValueError(f"pareto needs 2 or 3 distinct objectives, got {pareto=} with "
                         f"objectives={names}.")
    pareto = bool(pareto)
    segmented = segment_ids is not None
    if segmented:
        seg = np.asarray(segment_ids)
        if seg.shape != (L,) or seg.dtype.kind not in "iu":
            raise ValueError(f"segment_ids must be an int array of shape ({L},), got dtype "
                             f"{seg.dtype} shape {seg.shape}.")
        S = int(seg.max()) + 1 if num_segments is None else int(num_segments)
        if seg.min() < 0 or seg.max() >= S:
            raise ValueError(f"segment_ids must lie in [0, num_segments={S}), got range "
                             f"[{seg.min()}, {seg.max()}].")
        rows, n_blocks = S, 1
    else:
        if num_segments is not None:
            raise ValueError("num_segments is only valid with segment_ids.")
        if workload_block < 1:
            raise ValueError(f"workload_block must be >= 1, got {workload_block}.")
        S, rows = L, min(L, workload_block)
        n_blocks = -(-L // rows)
        seg = np.zeros(L, np.int64)
    if chunk_size is None:
        if points_per_chunk is None:
            points_per_chunk = n_dev << (20 if devices[0].platform == "cpu" else 26)
        cap = _pow2_at_most(max(1, points_per_chunk // (L if segmented else rows)))
        chunk_size = min(cap, 1 << max(0, (n_designs - 1).bit_length()))
        chunk_size = max(chunk_size, n_dev) // n_dev * n_dev
    if chunk_size < 1 or chunk_size % n_dev or chunk_size // n_dev < max(top_k, 1):
        raise ValueError(f"chunk_size must be a positive multiple of the device count {n_dev} "
                         f"with chunk_size / devices >= top_k={top_k}, got "
                         f"chunk_size={chunk_size}.")
    if pareto_capacity < 1 or pareto_refs < 1:
        raise ValueError(f"pareto_capacity and pareto_refs must be >= 1, got "
                         f"{pareto_capacity=}, {pareto_refs=}.")
    pareto_capacity = min(pareto_capacity, chunk_size // n_dev)
    if full and len(names) * S * n_designs * 8 > full_max_bytes:
        raise ValueError(f"full=True needs {len(names) * S * n_designs * 8} bytes "
                         f"(> full_max_bytes={full_max_bytes}); use reductions instead.")
    plan = step_lib.StepPlan(
        chunk=chunk_size, n_devices=n_dev, n_designs=n_designs, n_rows=rows,
        segmented=segmented, top_k=top_k, overall_top_k=overall_top_k,
        pareto_cap=pareto_capacity if pareto else 0, pareto_of=pareto_of, full=full,
        total_rows=None if segmented or L % rows == 0 else L)

    mesh = jax.make_mesh((n_dev,), (step_lib.AXIS,), devices=devices)
    rep = NamedSharding(mesh, P())
    put = lambda x: jax.device_put(x, rep)
    traces = [0]
    step = step_lib.make_step(cost_fn, space, fns, plan, mesh,
                              on_trace=lambda: traces.__setitem__(0, traces[0] + 1))
    fallback = [None]  # lazily built full-objective step for Pareto overflow

    n_chunks = -(-n_designs // chunk_size)
    points = L * n_designs  # (layer or workload, design) pairs evaluated
    grid = put(space.grid)
    seg_dev = put(seg.astype(np.int64))
    m = len(pareto_of) if pareto else len(names)
    out_best_v, out_best_i = np.full(S, np.inf), np.full(S, -1, np.int64)
    out_topk = (np.full((S, top_k), np.inf), np.full((S, top_k), -1, np.int64))
    fronts = [(np.zeros((0, m)), np.zeros(0, np.int64)) for _ in range(S)] if pareto else None
    full_out = np.full((len(names), S, n_designs), np.inf) if full else None
    empty_refs = (np.full((rows, pareto_refs, m), np.inf), np.full((rows, pareto_refs), NO_INDEX))
    fallbacks = 0
    _log.info("sweep: %d points = %d %s x %d designs; %d chunk(s) of %d designs x %d block(s) "
              "on %d %s device(s)", points, S if segmented else L,
              "networks" if segmented else "workloads", n_designs, n_chunks, chunk_size,
              n_blocks, n_dev, devices[0].platform)
    total_chunks = n_chunks * n_blocks
    bar = host.Progress(total_chunks, (L if segmented else rows) * chunk_size, points, progress)
    overall = None
    for b in range(n_blocks):
        lo = b * rows
        if segmented:
            wl = workloads
        else:
            take = np.minimum(np.arange(lo, lo + rows), L - 1)  # pad with the last row
            wl = jax.tree_util.tree_map(lambda x, t=take: np.asarray(x)[t], workloads)
        wl = put(wl)
        carry = put(step_lib.init_carry(plan))
        if overall is not None:
            carry["overall"] = overall
        row0 = put(np.int64(lo))
        for ci in range(n_chunks):
            start = np.int64(ci * chunk_size)
            refs = empty_refs
            if pareto:
                refs = host.front_refs(fronts[lo:lo + rows], rows, pareto_refs, m)
            new, out = step(carry, put(start), row0, wl, seg_dev, grid, put(refs))
            if pareto:
                pv, pi, cnt = (np.asarray(x) for x in out["pareto"])
                over = np.any(cnt > plan.pareto_cap, axis=0)                # [rows]
                full_chunk = None
                if np.any(over):  # too many candidates: this chunk's objectives in full
                    fallbacks += 1
                    if fallback[0] is None:
                        fplan = dataclasses.replace(plan, top_k=0, overall_top_k=0,
                                                    pareto_cap=0, full=True)
                        fallback[0] = step_lib.make_step(cost_fn, space, fns, fplan, mesh)
                    _, fo = fallback[0](put(step_lib.init_carry(plan)), put(start), row0, wl,
                                        seg_dev, grid, put(empty_refs))
                    full_chunk = np.asarray(fo["full"])[list(pareto_of)]
                for s in range(min(rows, S - lo)):
                    fronts[lo + s] = host.merge_front(fronts[lo + s], pv[:, s], pi[:, s],
                                                  full_chunk[:, s] if over[s] else None,
                                                  int(start), n_designs)
            if full:
                f = np.asarray(out["full"])
                hi = min(chunk_size, n_designs - int(start))
                nr = min(rows, S - lo)
                full_out[:, lo:lo + nr, start:start + hi] = f[:, :nr, :hi]
            carry = new
            jax.block_until_ready(carry)
            bar.tick()
        nr = min(rows, S - lo)
        v, i = (np.asarray(x) for x in carry["argmin"])
        out_best_v[lo:lo + nr], out_best_i[lo:lo + nr] = v[:nr], _host_index(i[:nr])
        if top_k:
            v, i = (np.asarray(x) for x in carry["topk"])
            out_topk[0][lo:lo + nr], out_topk[1][lo:lo + nr] = v[:nr], _host_index(i[:nr])
        if overall_top_k:
            overall = carry["overall"]
    seconds = bar.close()
    res = {"best_value": out_best_v, "best_index": out_best_i}
    if top_k:
        res.update(topk_value=out_topk[0], topk_index=out_topk[1])
    if overall_top_k:
        v, w, i = (np.asarray(x) for x in overall)
        res.update(overall_value=v, overall_workload=_host_index(w), overall_index=_host_index(i))
    if pareto:
        res.update(
            pareto_workload=np.concatenate([np.full(len(f[1]), s, np.int64)
                                            for s, f in enumerate(fronts)]),
            pareto_index=np.concatenate([f[1] for f in fronts]).astype(np.int64),
            pareto_values=np.concatenate([f[0] for f in fronts]).reshape(-1, m))
    if full:
        res["full"] = full_out
    stats = SweepStats(points=points, n_workloads=S, n_designs=n_designs, chunk_size=chunk_size,
                       n_chunks=total_chunks, n_devices=n_dev,
                       device=getattr(devices[0], "device_kind", devices[0].platform),
                       seconds=seconds, first_chunk_seconds=bar.first_chunk_seconds,
                       compiles=traces[0], pareto_fallbacks=fallbacks)
    return SweepResult(**res, objective_names=names, axis_names=space.grid.names, stats=stats,
                       pareto_names=tuple(names[i] for i in pareto_of))


def evaluate_points(cost_fn: Callable, workloads: Any, space: DesignSpace, index, *,
                    segment_ids=None, num_segments: int | None = None) -> dict:
    """Metrics of chosen designs (e.g. sweep winners), host numpy.

    Args:
      index: int ``[S, k]`` design indices per workload (or network) row; ``-1`` entries give
        NaN.
      segment_ids, num_segments: as in :func:`sweep`.

    Returns:
      ``{metric: float64 [S, k]}`` including the design space's per-design metrics.
    """
    index = np.asarray(index, np.int64)
    S, k = index.shape
    valid = (index >= 0) & (index < space.size)
    L = _leading(workloads)
    seg = np.zeros(L, np.int64) if segment_ids is None else np.asarray(segment_ids, np.int64)
    rows = S if segment_ids is not None else L
    if segment_ids is not None and num_segments is not None and num_segments != S:
        raise ValueError(f"index has {S} rows but num_segments={num_segments}.")
    if segment_ids is None and S != L:
        raise ValueError(f"index has {S} rows but workloads have {L}.")

    segmented = segment_ids is not None

    @jax.jit
    def run(wl, grid, ix):
        design = space.build(grid.decode(ix))                              # leaves [S, k]
        if segmented:  # every network row against all S*k designs, keep its own k
            flat = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, ix.shape).reshape(-1),
                                          design)
            m = step_lib.evaluate(cost_fn, wl, flat, jnp.asarray(seg), rows, True)
            m = {n: x.reshape(rows, S, k)[jnp.arange(S), jnp.arange(S)] for n, x in m.items()}
        else:
            m = cost_fn(jax.tree_util.tree_map(lambda x: x[:, None], wl), design)
        if space.metrics is not None:
            m.update(space.metrics(design))
        return {n: jnp.broadcast_to(x, (S, k)) for n, x in m.items()}

    m = run(workloads, space.grid, jnp.asarray(np.where(valid, index, 0)))
    return {n: np.where(valid, np.asarray(x, np.float64), np.nan) for n, x in m.items()}
