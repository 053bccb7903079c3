"""Design-space sweeps over workloads x designs in bounded memory, sharded over devices.

``sweep(cost_fn, workloads, space, objectives)`` evaluates every (workload, design) point of a
lazy design grid and keeps only reductions:

* ``best_value/best_index [S]``: min / argmin of the first objective per workload (or network);
* ``topk_value/topk_index [S, k]``: the k best designs per workload;
* ``overall_*  [k]``: the k best (workload, design) pairs overall;
* ``pareto_*``: the exact Pareto front over all objectives (2-3) per workload;
* ``full [n_obj, S, n_designs]``: every point's objectives, when asked and when it fits.

The design range is streamed in chunks of a fixed size (one compilation; the last, partial
chunk is masked). Each chunk is split over this process's ``jax.local_devices()`` on a 1-D mesh with
``jax.shard_map``; under ``jax.distributed.initialize()`` every process runs the same sweep call,
evaluates chunks ``p, p + P, ...`` only, and the reductions are merged exactly across processes
(``_distributed``; every process ends with the same results). All orders are total (ties go to the
lowest flat design index, see ``_reduce``), so results are identical for every chunk
size and device count. Host memory is O(workloads x k + Pareto front), independent of the
number of points.

Any cost function ``cost_fn(workloads, designs) -> {metric: array}`` that broadcasts works,
e.g. :func:`codesign_jax.systolic.systolic_metrics` (see :func:`systolic_cost_fn`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from codesign_jax.sweep import _distributed as dist
from codesign_jax.sweep import _host as host
from codesign_jax.sweep import _step as step_lib
from codesign_jax.sweep._grid import DesignSpace
from codesign_jax.sweep._objectives import resolve_objectives
from codesign_jax.sweep._reduce import NO_INDEX
from codesign_jax.sweep._result import SweepResult, SweepStats

__all__ = ["evaluate_points", "sweep"]

_log = logging.getLogger("codesign_jax.sweep")


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


@dataclasses.dataclass(frozen=True)
class _Layout:
    """How the workload axis is walked: ``S`` result rows (workloads, or networks when segmented),
    processed ``rows`` at a time in ``n_blocks`` blocks; ``seg`` maps the ``L`` layers to rows."""

    L: int
    S: int
    rows: int
    n_blocks: int
    seg: np.ndarray
    segmented: bool


def _pareto_of(pareto, names: tuple) -> tuple:
    """Positions of the objectives the Pareto front is taken over (``()``: no front)."""
    if not pareto:
        return ()
    if pareto is True:
        pos = tuple(range(len(names)))
    else:
        pnames = [pareto] if isinstance(pareto, str) else list(pareto)
        bad = [p for p in pnames if p not in names]
        if bad:
            raise ValueError(f"pareto objectives {bad} are not among objectives={names}.")
        pos = tuple(names.index(p) for p in pnames)
    if not 2 <= len(pos) <= 3 or len(set(pos)) != len(pos):
        raise ValueError(f"pareto needs 2 or 3 distinct objectives, got {pareto=} with "
                         f"objectives={names}.")
    return pos


def _layout(workloads, segment_ids, num_segments, workload_block: int) -> _Layout:
    """Validates the workload axis and the optional segment (network) ids."""
    L = _leading(workloads)
    if segment_ids is not None:
        seg = np.asarray(segment_ids)
        if seg.shape != (L,) or seg.dtype.kind not in "iu":
            raise ValueError(f"segment_ids must be an int array of shape ({L},), got dtype "
                             f"{seg.dtype} shape {seg.shape}.")
        S = int(seg.max()) + 1 if num_segments is None else int(num_segments)
        if seg.min() < 0 or seg.max() >= S:
            raise ValueError(f"segment_ids must lie in [0, num_segments={S}), got range "
                             f"[{seg.min()}, {seg.max()}].")
        return _Layout(L, S, S, 1, seg.astype(np.int64), True)
    if num_segments is not None:
        raise ValueError("num_segments is only valid with segment_ids.")
    if workload_block < 1:
        raise ValueError(f"workload_block must be >= 1, got {workload_block}.")
    rows = min(L, workload_block)
    return _Layout(L, L, rows, -(-L // rows), np.zeros(L, np.int64), False)


def _chunk_size(chunk_size, points_per_chunk, lay: _Layout, n_designs: int, devices,
                top_k: int) -> int:
    """Designs per chunk: given, or about ``points_per_chunk`` points rounded to a power of two."""
    n_dev = len(devices)
    if chunk_size is None:
        if points_per_chunk is None:
            points_per_chunk = n_dev << (20 if devices[0].platform == "cpu" else 26)
        cap = _pow2_at_most(max(1, points_per_chunk // (lay.L if lay.segmented else lay.rows)))
        if jax.process_count() > 1:  # >= 4 chunks per process, so the round robin splits evenly
            cap = min(cap, _pow2_at_most(max(1, n_designs // (4 * jax.process_count()))))
        chunk_size = min(cap, 1 << max(0, (n_designs - 1).bit_length()))
        chunk_size = max(chunk_size, n_dev) // n_dev * n_dev
    if chunk_size < 1 or chunk_size % n_dev or chunk_size // n_dev < max(top_k, 1):
        raise ValueError(f"chunk_size must be a positive multiple of the device count {n_dev} "
                         f"with chunk_size / devices >= top_k={top_k}, got "
                         f"chunk_size={chunk_size}.")
    return chunk_size


class _Device:
    """The compiled chunk step on a 1-D mesh of ``devices`` (and, built on first use, the
    full-objective step that re-evaluates a chunk whose Pareto candidates overflowed)."""

    def __init__(self, cost_fn, space: DesignSpace, fns: tuple, plan: step_lib.StepPlan, devices):
        self.cost_fn, self.space, self.fns, self.plan = cost_fn, space, fns, plan
        self.mesh = jax.make_mesh((len(devices),), (step_lib.AXIS,), devices=devices)
        rep = NamedSharding(self.mesh, P())
        self.put = lambda x: jax.device_put(x, rep)
        self.traces = 0
        self.step = step_lib.make_step(cost_fn, space, fns, plan, self.mesh,
                                       on_trace=self._count_trace)
        self._full_step = None

    def _count_trace(self):
        self.traces += 1

    def full_objectives(self, start, row0, wl, seg, grid, empty_refs) -> np.ndarray:
        """``[n_obj, rows, chunk]`` objectives of one chunk."""
        if self._full_step is None:
            fplan = dataclasses.replace(self.plan, top_k=0, overall_top_k=0, pareto_cap=0, full=True)
            self._full_step = step_lib.make_step(self.cost_fn, self.space, self.fns, fplan, self.mesh)
        _, out = self._full_step(self.put(step_lib.init_carry(self.plan)), start, row0, wl, seg,
                                 grid, self.put(empty_refs))
        return np.asarray(out["full"])


class _Results:
    """Host-side reductions, filled block by block (argmin / top-k rows, fronts, full objectives)."""

    def __init__(self, lay: _Layout, n_obj: int, n_designs: int, top_k: int, pareto_of: tuple,
                 full: bool, pareto_refs: int):
        S, self.lay, self.pareto_of, self.n_designs = lay.S, lay, pareto_of, n_designs
        self.m = len(pareto_of) if pareto_of else n_obj
        self.best = (np.full(S, np.inf), np.full(S, -1, np.int64))
        self.topk = (np.full((S, top_k), np.inf), np.full((S, top_k), -1, np.int64)) if top_k else None
        self.fronts = [(np.zeros((0, self.m)), np.zeros(0, np.int64)) for _ in range(S)] if pareto_of else None
        self.full = np.full((n_obj, S, n_designs), np.inf) if full else None
        self.overall = None
        self.fallbacks = 0
        self.empty_refs = (np.full((lay.rows, pareto_refs, self.m), np.inf),
                           np.full((lay.rows, pareto_refs), NO_INDEX))
        self.pareto_refs = pareto_refs

    def refs(self, lo: int):
        """Current front points of rows ``lo..lo+rows`` sent to the device to discard beaten points."""
        if self.fronts is None:
            return self.empty_refs
        return host.front_refs(self.fronts[lo:lo + self.lay.rows], self.lay.rows, self.pareto_refs,
                               self.m)

    def merge_chunk(self, lo: int, start: int, out: dict, full_chunk: Callable, cap: int):
        """Merges one chunk's Pareto candidates (re-evaluated in full where they overflowed) and
        full objectives into rows ``lo..``."""
        nr = min(self.lay.rows, self.lay.S - lo)
        if self.fronts is not None:
            pv, pi, cnt = (np.asarray(x) for x in out["pareto"])
            over = np.any(cnt > cap, axis=0)                                        # [rows]
            chunk = None
            if np.any(over):
                self.fallbacks += 1
                chunk = full_chunk()[list(self.pareto_of)]
            for s in range(nr):
                self.fronts[lo + s] = host.merge_front(self.fronts[lo + s], pv[:, s], pi[:, s],
                                                       chunk[:, s] if over[s] else None, start,
                                                       self.n_designs)
        if self.full is not None:
            f = np.asarray(out["full"])
            hi = min(f.shape[2], self.n_designs - start)
            self.full[:, lo:lo + nr, start:start + hi] = f[:, :nr, :hi]

    def store_block(self, lo: int, carry: dict):
        """Keeps a finished block's argmin / top-k rows and the running overall top-k."""
        nr = min(self.lay.rows, self.lay.S - lo)
        v, i = (np.asarray(x) for x in carry["argmin"])
        self.best[0][lo:lo + nr], self.best[1][lo:lo + nr] = v[:nr], _host_index(i[:nr])
        if self.topk is not None:
            v, i = (np.asarray(x) for x in carry["topk"])
            self.topk[0][lo:lo + nr], self.topk[1][lo:lo + nr] = v[:nr], _host_index(i[:nr])
        if "overall" in carry:  # host form: -1 = no design (as every index this class holds)
            v, w, i = carry["overall"]
            self.overall = (np.asarray(v), _host_index(w), _host_index(i))

    def merge_processes(self) -> None:
        """Replaces this process's reductions by the exact merge over every process's."""
        m = dist.merge_results({"best": self.best, "topk": self.topk, "overall": self.overall,
                                "fronts": self.fronts, "full": self.full, "fallbacks": self.fallbacks})
        self.best, self.topk, self.overall = m["best"], m["topk"], m["overall"]
        self.fronts, self.full, self.fallbacks = m["fronts"], m["full"], m["fallbacks"]

    def result(self, names: tuple, space: DesignSpace, stats: SweepStats) -> SweepResult:
        res = {"best_value": self.best[0], "best_index": self.best[1]}
        if self.topk is not None:
            res.update(topk_value=self.topk[0], topk_index=self.topk[1])
        if self.overall is not None:
            v, w, i = self.overall
            res.update(overall_value=v, overall_workload=w, overall_index=i)
        if self.fronts is not None:
            f = self.fronts
            res.update(
                pareto_workload=np.concatenate([np.full(len(x[1]), s, np.int64) for s, x in enumerate(f)]),
                pareto_index=np.concatenate([x[1] for x in f]).astype(np.int64),
                pareto_values=np.concatenate([x[0] for x in f]).reshape(-1, self.m))
        if self.full is not None:
            res["full"] = self.full
        return SweepResult(**res, objective_names=names, axis_names=space.grid.names, stats=stats,
                           pareto_names=tuple(names[i] for i in self.pareto_of))


def _block_workloads(workloads, lay: _Layout, lo: int):
    """The workloads of block ``lo..lo+rows`` (padded with the last row), or all layers."""
    if lay.segmented:
        return workloads
    take = np.minimum(np.arange(lo, lo + lay.rows), lay.L - 1)
    return jax.tree_util.tree_map(lambda x: np.asarray(x)[take], workloads)


def _my_chunks(n_designs: int, chunk: int) -> range:
    """First design index of each chunk this process evaluates (chunk ``i`` on process ``i mod P``)."""
    return range(jax.process_index() * chunk, n_designs, jax.process_count() * chunk)


def _sweep_block(dev: _Device, res: _Results, workloads, lay: _Layout, lo: int, grid, seg,
                 bar: host.Progress) -> None:
    """Streams this process's design chunks against the rows ``lo..lo+rows``; stores the reductions."""
    plan, put = dev.plan, dev.put
    wl = put(_block_workloads(workloads, lay, lo))
    carry = put(step_lib.init_carry(plan))
    if res.overall is not None:
        carry["overall"] = put(tuple(np.where(x == -1, NO_INDEX, x) if n else x
                                     for n, x in enumerate(res.overall)))
    row0 = put(np.int64(lo))
    empty_refs = put(res.empty_refs)  # sent once: the references change only with a Pareto front
    for start in _my_chunks(plan.n_designs, plan.chunk):
        start_dev = put(np.int64(start))
        refs = put(res.refs(lo)) if res.fronts is not None else empty_refs
        carry, out = dev.step(carry, start_dev, row0, wl, seg, grid, refs)
        full_chunk = lambda: dev.full_objectives(start_dev, row0, wl, seg, grid, res.empty_refs)
        res.merge_chunk(lo, start, out, full_chunk, plan.pareto_cap)
        jax.block_until_ready(carry)
        bar.tick()
    res.store_block(lo, carry)


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
      devices: devices of the 1-D mesh (default this process's ``jax.local_devices()``).

    Returns:
      :class:`SweepResult`.
    """
    names, fns = resolve_objectives(objectives)
    devices = list(jax.local_devices() if devices is None else devices)
    if any(d.process_index != jax.process_index() for d in devices):
        raise ValueError("devices must be this process's own (jax.local_devices()); a multi-process "
                         "sweep gives each process its share of the chunks.")
    for name, v in (("top_k", top_k), ("overall_top_k", overall_top_k)):
        if not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a non-negative int, got {v!r}.")
    pareto_of = _pareto_of(pareto, names)
    lay = _layout(workloads, segment_ids, num_segments, workload_block)
    n_designs, n_dev = space.size, len(devices)
    chunk_size = _chunk_size(chunk_size, points_per_chunk, lay, n_designs, devices, top_k)
    if pareto_capacity < 1 or pareto_refs < 1:
        raise ValueError(f"pareto_capacity and pareto_refs must be >= 1, got "
                         f"{pareto_capacity=}, {pareto_refs=}.")
    if full and len(names) * lay.S * n_designs * 8 > full_max_bytes:
        raise ValueError(f"full=True needs {len(names) * lay.S * n_designs * 8} bytes "
                         f"(> full_max_bytes={full_max_bytes}); use reductions instead.")
    plan = step_lib.StepPlan(
        chunk=chunk_size, n_devices=n_dev, n_designs=n_designs, n_rows=lay.rows,
        segmented=lay.segmented, top_k=top_k, overall_top_k=overall_top_k,
        pareto_cap=min(pareto_capacity, chunk_size // n_dev) if pareto_of else 0,
        pareto_of=pareto_of, full=full,
        total_rows=None if lay.segmented or lay.L % lay.rows == 0 else lay.L)

    dev = _Device(cost_fn, space, fns, plan, devices)
    res = _Results(lay, len(names), n_designs, top_k, pareto_of, full, pareto_refs)
    n_chunks = -(-n_designs // chunk_size)
    points = lay.L * n_designs  # (layer or workload, design) pairs evaluated
    mine = _my_chunks(n_designs, chunk_size)
    points_here = lay.L * sum(min(chunk_size, n_designs - s) for s in mine)
    _log.info("sweep: %d points = %d %s x %d designs; %d chunk(s) of %d designs x %d block(s) "
              "on %d %s device(s) x %d process(es)", points, lay.S,
              "networks" if lay.segmented else "workloads", n_designs, n_chunks, chunk_size,
              lay.n_blocks, n_dev, devices[0].platform, jax.process_count())
    bar = host.Progress(len(mine) * lay.n_blocks, (lay.L if lay.segmented else lay.rows) * chunk_size,
                        points_here, progress)
    grid, seg = dev.put(space.grid), dev.put(lay.seg)
    for b in range(lay.n_blocks):
        _sweep_block(dev, res, workloads, lay, b * lay.rows, grid, seg, bar)
    seconds = bar.close()
    per_process = (points_here,)
    if jax.process_count() > 1:  # exchange and merge the reductions once, on the hosts
        res.merge_processes()
        per_process = tuple(int(x[0]) for x in dist.process_allgather_ragged(np.asarray([points_here])))
    stats = SweepStats(points=points, n_workloads=lay.S, n_designs=n_designs, chunk_size=chunk_size,
                       n_chunks=n_chunks * lay.n_blocks, n_devices=n_dev,
                       device=getattr(devices[0], "device_kind", devices[0].platform),
                       seconds=seconds, first_chunk_seconds=bar.first_chunk_seconds,
                       compiles=dev.traces, pareto_fallbacks=res.fallbacks,
                       n_processes=jax.process_count(), process_index=jax.process_index(),
                       points_per_process=per_process, chunks_this_process=len(mine) * lay.n_blocks)
    return res.result(names, space, stats)


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
