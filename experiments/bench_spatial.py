"""Throughput of the MAESTRO-style spatial model: jitted JAX vs its numpy port vs MAESTRO itself.

``run_spatial_suite(n_points)`` draws ``n_points`` random (layer, accelerator) pairs per dataflow
(ResNet/MobileNet-like conv shapes with strides 1-2, the semi-decoupled paper's accelerator ranges),
drops the ones MAESTRO rejects (``check_spatial``), and times, after a warm-up compile:

* ``jax_points_per_s``: one jitted call evaluating every report field of every point, each field
  summed inside the jitted function (per block of ``BLOCK`` points, then over blocks), so no output
  is dead code; the batch is split over all local CPU devices (``shard_map``), each device walking
  its share block by block (``lax.map``) so intermediates stay in cache.
* ``api_points_per_s``: the public path, ``jax.jit(make_spatial_cost(...))`` returning per-point
  arrays (block-mapped internally, one device), fields summed afterwards in the same jitted call.
* ``numpy_points_per_s``: the numpy port of the same formulas (``backend='numpy'``) on a slice.
* ``stride1_points_per_s``: the stride-1 specialised graph (``unit_stride=True``, no ApplyOuterStride)
  on the stride-1 share of the batch, checked equal to the general graph there;
  ``stride1_general_graph_points_per_s``: the general graph on those same points (same run);
  ``mixed_split_points_per_s``: the whole mixed batch split on the host by stride (stride-1 points
  through the stride-1 graph, the rest through the strided graph, each checked equal to the general
  one), timed as the sum of both calls (what ``spatial_cost`` does).
  ``jax_points_per_s`` stays the general graph on the whole mixed batch (no split).
* ``grid_points_per_s``: every layer on every one of ``GRID_ACCELS`` random accelerators (same
  ranges; 6 distinct num_pes), about ``n_points // GRID_ACCELS`` layers (75% / 25% stride 1 / strided,
  each rounded up to whole tiles per device), stride-1 and strided layers
  through their graphs (``grid_stride1_*``, ``grid_strided_*``; timed as the sum of both), with the
  kernel of ``spatial_cost_grid`` (accelerators grouped by num_pes, the layer / num_pes part once per
  tile row); fields summed inside jit, padded accelerator copies weighted 0; spot-checked equal to
  the numpy port. ``grid_api_points_per_s``: the public ``spatial_cost_grid`` (one device, all 42
  fields returned as [L, A] host arrays) on the stride-1 layers.

Timings are the best of ``repeat`` runs (the median is reported too): the machine may be shared.
Run standalone: ``python experiments/bench_spatial.py [n_points]`` prints the JSON; standalone, it
asks XLA for one CPU device per core (``--xla_force_host_platform_device_count``) before JAX starts.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_force_host_platform_device_count={os.cpu_count() or 1}").strip()

import json  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, PartitionSpec as P  # noqa: E402

import codesign_jax  # noqa: F401,E402  (enables x64)
from codesign_jax import spatial as sp  # noqa: E402
from codesign_jax.spatial._model import _LAYER_KEYS, _MODE_ARGS  # noqa: E402
from codesign_jax.spatial import _grid as spg  # noqa: E402

try:  # jax >= 0.6
    from jax import shard_map as _shard_map  # noqa: E402
except ImportError:  # pragma: no cover
    from jax.experimental.shard_map import shard_map as _shard_map  # noqa: E402

# MAESTRO's own cost per layer, run as its users run it (a whole network file per process, process start
# included): CPU seconds per layer of benchmarks/maestro_dropin_cpu.json (bench_maestro.py, HW-file mode, the 9
# networks / 300 layers of tests/data/maestro_dropin, maestro-project/maestro@4eb08d1). One layer per process
# (17.8 ms, the median wall time of tests/data/maestro_reference.csv) charged process start to every layer.
MAESTRO_S_PER_POINT = 0.00141
MAESTRO_SOURCE = ("CPU time per layer of the real MAESTRO (4eb08d1) running whole network files, one per process "
                  "(benchmarks/maestro_dropin_cpu.json: 0.423 s for the 300 layers of tests/data/maestro_dropin, "
                  "HW-file mode); this JSON's speedup_vs_maestro divides numbers from two runs")
BLOCK = 2048  # points per lax.map step (intermediates stay in L2)

SUITE = {  # dataflow -> layer type it is benchmarked on
    "kcp_ws": "CONV", "xp_ws": "CONV", "rs": "CONV", "ykp_os": "CONV", "dpt": "DSCONV", "gemm_nmk": "GEMM",
}


def _points(n: int, layer_type: str, rng: np.random.Generator):
    """Random valid (layer, accel) pairs of a given layer type (float64 arrays of shape [n])."""
    r = rng.choice([1, 3, 3, 5, 7], n).astype(np.float64)
    stride = rng.choice([1, 1, 1, 2], n).astype(np.float64)
    out = rng.integers(4, 113, n).astype(np.float64)
    y = (out - 1) * stride + r
    k = rng.choice([16, 24, 32, 64, 96, 128, 256, 512], n).astype(np.float64)
    c = rng.choice([3, 16, 32, 64, 128, 256, 512], n).astype(np.float64)
    if layer_type == "DSCONV":
        k = np.ones(n)
    if layer_type == "GEMM":
        layer = sp.gemm_layer(rng.integers(1, 513, n).astype(np.float64), k, c)
    else:
        layer = sp.SpatialLayer(k, c, r, r, y, y, stride, layer_type)
    pes = rng.choice([64, 128, 168, 256, 512, 1024], n).astype(np.float64)
    accel = sp.SpatialAccelerator(pes, 100.0 + 0 * pes, 3000.0 + 0 * pes,
                                  rng.choice([32, 64, 300, 500, 800, 1000], n).astype(np.float64),
                                  rng.choice([8, 50, 150, 250, 350], n).astype(np.float64))
    return layer, accel


def _times(fn, *args, repeat=5):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t0)
    return min(ts), float(np.median(ts))


def _sums(rep) -> jax.Array:
    return jnp.stack([jnp.sum(jnp.asarray(getattr(rep, f), jnp.float64)) for f in sp.REPORT_FIELDS])


def _fused_fn(df: str, lt: str, n_dev: int, mode: str = "general"):
    """Jitted (layer, accel) -> per-field sums; layer/accel leaves of shape [n_dev * blocks * BLOCK].

    ``mode``: 'general', 'unit' (the stride-1 graph: only valid when every point has stride 1) or
    'strided' (only valid when no point has stride 1)."""
    cost = sp.make_spatial_cost(df, lt, block=0, **_MODE_ARGS[mode])

    def per_device(layer, accel):
        blk = lambda t: jax.tree_util.tree_map(lambda a: a.reshape(-1, BLOCK), t)
        return jnp.sum(jax.lax.map(lambda la: _sums(cost(*la)), (blk(layer), blk(accel))), axis=0)[None]

    if n_dev == 1:
        return jax.jit(lambda layer, accel: per_device(layer, accel)[0])
    mesh = Mesh(np.array(jax.devices()[:n_dev]), ("d",))
    sharded = _shard_map(per_device, mesh=mesh, in_specs=(P("d"), P("d")), out_specs=P("d"))
    return jax.jit(lambda layer, accel: jnp.sum(sharded(layer, accel), axis=0))


GRID_ACCELS = 2048  # accelerators of the grid measurement (layers = n_points // GRID_ACCELS)


def _grid_fused_fn(df: str, lt: str, n_dev: int, mode: str):
    """Jitted (layer blocks, accelerator blocks, accelerator weights) -> per-field sums over the grid.

    The layer blocks are split over the devices; each device walks its (layer block, accelerator
    block) tiles with ``lax.map``; padded accelerator copies get weight 0."""
    block = spg._grid_block_fn(sp.get_dataflow(df), lt, mode)

    def per_device(lb, ab, wt):
        n_lb, n_ab = lb[0].shape[0], ab[0].shape[0]

        def tile(p):
            i, j = p // n_ab, p % n_ab
            rep = block([c[i] for c in lb], [c[j] for c in ab])
            return jnp.stack([jnp.sum(jnp.asarray(getattr(rep, f), jnp.float64) * wt[j][None, :])
                              for f in sp.REPORT_FIELDS])

        return jnp.sum(jax.lax.map(tile, jnp.arange(n_lb * n_ab)), axis=0)[None]

    if n_dev == 1:
        return jax.jit(lambda lb, ab, wt: per_device(lb, ab, wt)[0])
    mesh = Mesh(np.array(jax.devices()[:n_dev]), ("d",))
    sharded = _shard_map(per_device, mesh=mesh, in_specs=(P("d"), P(), P()), out_specs=P("d"))
    return jax.jit(lambda lb, ab, wt: jnp.sum(sharded(lb, ab, wt), axis=0))


def _grid_suite(df: str, lt: str, n_points: int, rng: np.random.Generator, repeat: int) -> dict:
    """Layers x accelerators grid: the num_pes-grouped evaluator (``spatial_cost_grid``'s kernel)."""
    n_dev = len(jax.devices())
    _, accel = _points(GRID_ACCELS, lt, rng)
    accel = jax.tree_util.tree_map(np.asarray, accel)
    n_l = max(n_points // GRID_ACCELS, 64)
    layer, _ = _points(4 * n_l, lt, rng)
    ok = (sp.grid_errors(layer, accel, df) == "").all(axis=1)
    lcols = {k: np.broadcast_to(np.asarray(getattr(layer, k), np.float64), ok.shape)[ok] for k in _LAYER_KEYS}
    unit = lcols["stride"] == 1
    lc = 32
    out = {"grid_accelerators": GRID_ACCELS, "grid_distinct_num_pes": int(np.unique(accel.num_pes).size)}
    t_tot, n_tot, compile_s = 0.0, 0, 0.0
    for name, mask, u in (("stride1", unit, True), ("strided", ~unit, False)):
        if lt == "GEMM" and not u:
            continue
        k = int(mask.sum()) // (lc * n_dev) * (lc * n_dev)
        k = min(k, (int(round(n_l * (0.75 if u else 0.25))) // (lc * n_dev) + 1) * lc * n_dev)
        sub = sp.SpatialLayer(*(lcols[c][mask][:k] for c in _LAYER_KEYS), lt)
        lb, ab, pos, n_sub, _ = spg._grid_inputs(sub, accel, lc, 64)
        assert n_sub == k and lb[0].shape[1] == lc
        wt = np.zeros(ab[0].size)
        wt[pos] = 1.0  # each accelerator once; padded copies weigh 0
        wt = wt.reshape(ab[0].shape)
        args = (jax.device_put(lb), jax.device_put(ab), jax.device_put(wt))
        fn = _grid_fused_fn(df, lt, n_dev, "unit" if u else "strided")
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        compile_s += time.perf_counter() - t0
        t, _ = _times(fn, *args, repeat=repeat)
        # Spot check against the flat model on a few pairs.
        flat = sp.make_spatial_cost(df, lt, backend="numpy")
        li, ai = rng.integers(0, k, 64), rng.integers(0, GRID_ACCELS, 64)
        ref = flat(jax.tree_util.tree_map(lambda a: np.asarray(a)[li] if np.ndim(a) else a, sub),
                   jax.tree_util.tree_map(lambda a: np.asarray(a)[ai] if np.ndim(a) else a, accel))
        api = sp.spatial_cost_grid(sp.SpatialLayer(*(np.asarray(getattr(sub, c))[li] for c in _LAYER_KEYS), lt),
                                   jax.tree_util.tree_map(lambda a: np.asarray(a)[ai] if np.ndim(a) else a, accel),
                                   df, validate=False)
        for f in sp.REPORT_FIELDS:
            if not np.array_equal(np.diagonal(np.asarray(getattr(api, f))), np.asarray(getattr(ref, f))):
                raise AssertionError(f"{df}: grid evaluator differs from the numpy port on {f}")
        out[f"grid_{name}_n_points"] = k * GRID_ACCELS
        out[f"grid_{name}_points_per_s"] = round(k * GRID_ACCELS / t)
        t_tot, n_tot = t_tot + t, n_tot + k * GRID_ACCELS
        if u:  # the public function (one device, [L, A] output on the host) on the stride-1 layers
            api_fn = lambda: sp.spatial_cost_grid(sub, accel, df, validate=False)
            jax.block_until_ready(api_fn())
            t_api, _ = _times(api_fn, repeat=max(1, repeat // 2))
            out["grid_api_points_per_s"] = round(k * GRID_ACCELS / t_api)
    out["grid_n_points"] = n_tot
    out["grid_compile_s"] = round(compile_s, 2)
    out["grid_points_per_s"] = round(n_tot / t_tot)
    return out


def run_spatial_suite(n_points: int = 1_000_000, seed: int = 0, repeat: int = 5, dataflows=None,
                      grid: bool = True) -> dict:
    """Points/s per dataflow for the jitted model and its numpy port (JSON-able dict)."""
    rng = np.random.default_rng(seed)
    n_dev = len(jax.devices())
    res = {"n_points_requested": n_points, "device": f"{n_dev} x {jax.devices()[0].device_kind} "
           f"({jax.default_backend()}), {os.cpu_count()} cores", "block": BLOCK,
           "maestro_s_per_point": MAESTRO_S_PER_POINT, "maestro_source": MAESTRO_SOURCE,
           "reduced": ("every SpatialReport field of every point summed inside the jitted function (per block, "
                       "then over blocks and devices); none is dead code"),
           "dataflows": {}}
    for df in dataflows or SUITE:
        lt = SUITE[df]
        layer, accel = _points(n_points, lt, rng)
        keep = sp.check_spatial(layer, accel, df) == ""
        n = int(keep.sum()) // (BLOCK * n_dev) * (BLOCK * n_dev)  # whole blocks per device
        cols = lambda t: jax.tree_util.tree_map(lambda a: np.broadcast_to(a, keep.shape)[keep][:n], t)
        layer, accel = cols(layer), cols(accel)
        jl, ja = jax.device_put(layer), jax.device_put(accel)
        fused = _fused_fn(df, lt, n_dev)
        t0 = time.perf_counter()
        jax.block_until_ready(fused(jl, ja))
        compile_s = time.perf_counter() - t0
        t_jax, t_jax_med = _times(fused, jl, ja, repeat=repeat)
        # Stride specialisation: points split on the host by stride; the stride-1 share (whole blocks per
        # device) through the stride-1 graph, the rest through the strided graph. Reported: the stride-1
        # graph alone on the stride-1 points, the general graph alone on those same points (same run), and
        # the whole mixed batch split (sum of both calls' times; both subsets trimmed to whole blocks).
        unit = np.asarray(layer.stride) == 1
        blk = BLOCK * n_dev
        sub = lambda t, m, k: jax.device_put(jax.tree_util.tree_map(
            lambda a: np.broadcast_to(a, unit.shape)[m][:k], t))
        n1, n2 = int(unit.sum()) // blk * blk, int((~unit).sum()) // blk * blk
        l1, a1 = sub(layer, unit, n1), sub(accel, unit, n1)
        fused1 = _fused_fn(df, lt, n_dev, "unit")
        t0 = time.perf_counter()
        s1 = jax.block_until_ready(fused1(l1, a1))
        unit_compile_s = time.perf_counter() - t0
        if not np.array_equal(np.asarray(s1), np.asarray(fused(l1, a1)), equal_nan=True):
            raise AssertionError(f"{df}: stride-1 graph differs from the general graph on stride-1 points")
        t_unit, t_unit_med = _times(fused1, l1, a1, repeat=repeat)
        t_gen1, _ = _times(fused, l1, a1, repeat=repeat)
        t_rest = 0.0
        if n2:
            l2, a2 = sub(layer, ~unit, n2), sub(accel, ~unit, n2)
            fused2 = _fused_fn(df, lt, n_dev, "strided")
            if not np.array_equal(np.asarray(fused2(l2, a2)), np.asarray(fused(l2, a2)), equal_nan=True):
                raise AssertionError(f"{df}: strided graph differs from the general graph on stride>1 points")
            t_rest, _ = _times(fused2, l2, a2, repeat=repeat)
        api = jax.jit(lambda l, a, c=sp.make_spatial_cost(df, lt): _sums(c(l, a)))
        t0 = time.perf_counter()
        jax.block_until_ready(api(jl, ja))
        api_compile_s = time.perf_counter() - t0
        t_api, _ = _times(api, jl, ja, repeat=max(1, repeat // 2))
        m = min(n, 5_000)
        np_cost = sp.make_spatial_cost(df, lt, backend="numpy")
        sl = lambda t: jax.tree_util.tree_map(lambda a: np.asarray(a)[:m], t)
        t_np, _ = _times(lambda a, b: [np.sum(getattr(np_cost(a, b), f)) for f in sp.REPORT_FIELDS], sl(layer),
                         sl(accel), repeat=1)
        jps, nps = n / t_jax, m / t_np
        res["dataflows"][df] = {
            "layer_type": lt, "n_points": n, "compile_s": round(compile_s, 2), "api_compile_s": round(api_compile_s, 2),
            "jax_points_per_s": round(jps), "jax_points_per_s_median": round(n / t_jax_med),
            "api_points_per_s": round(n / t_api), "numpy_points_per_s": round(nps), "numpy_n_points": m,
            "speedup_vs_numpy": round(jps / nps, 1), "speedup_vs_maestro": round(jps * MAESTRO_S_PER_POINT),
            "stride1_n_points": n1, "stride1_compile_s": round(unit_compile_s, 2),
            "stride1_points_per_s": round(n1 / t_unit), "stride1_points_per_s_median": round(n1 / t_unit_med),
            "stride1_general_graph_points_per_s": round(n1 / t_gen1),
            "mixed_split_n_points": n1 + n2, "mixed_split_points_per_s": round((n1 + n2) / (t_unit + t_rest))}
        if grid:
            res["dataflows"][df].update(_grid_suite(df, lt, n_points, rng, repeat))
    return res


if __name__ == "__main__":
    print(json.dumps(run_spatial_suite(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), indent=1))
