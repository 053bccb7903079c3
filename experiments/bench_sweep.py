"""Sweep benchmark: one systolic compute-cycle sweep of N points, argmin per workload.

``seconds`` / ``points_per_s`` cover the whole sweep including compilation (the first chunk);
``steady_points_per_s`` excludes the first chunk.

``python experiments/bench_sweep.py --points=1e8 --json OUT.json`` (also ``benchmark.py
--suite=sweep``). Points = W random GEMM workloads x D systolic designs (rows x cols x 3
dataflows); the argmin of a sample of workloads is re-checked by brute force in numpy.
"""

from __future__ import annotations

import hashlib
import json
import math
import resource
import sys
import time

import jax
import numpy as np
from absl import app, flags

from codesign_jax.systolic import compute_cycles
from codesign_jax.sweep import (compute_cycles_cost_fn, define_distributed_flags,
                                initialize_distributed_from_flags, sweep, systolic_space)
from codesign_jax.workloads import Gemm

__all__ = ["bench_problem", "brute_force_argmin", "run_sweep_suite"]

#: Most designs in the benchmark grid (~2^20); more points come from more workloads.
MAX_DESIGNS = 1 << 20
#: Workloads re-checked by brute force.
N_CHECK = 8


def bench_problem(points: int, seed: int = 0):
    """``(gemm [W], space)`` with ``W * D >= points`` (D <= ~2^20 designs).

    Designs: rows = cols = 1..side and the 3 dataflows, ``side = floor(sqrt(min(points,
    2^20) / 3))``; workloads: M, N, K log-uniform in [1, 4096].
    """
    if points < 3:
        raise ValueError(f"points must be >= 3, got {points}.")
    side = max(1, math.isqrt(min(points, MAX_DESIGNS) // 3))
    space = systolic_space(rows=np.arange(1, side + 1), cols=np.arange(1, side + 1),
                              dataflow=("os", "ws", "is"))
    n_wl = -(-points // space.size)
    rng = np.random.default_rng(seed)
    mnk = np.exp(rng.uniform(0, np.log(4096), (3, n_wl))).round().astype(np.int64)
    return Gemm.create(*np.maximum(mnk, 1)), space


def brute_force_argmin(gemm: Gemm, space, rows) -> tuple[np.ndarray, np.ndarray]:
    """Numpy min/argmin (first occurrence = lowest index) of compute cycles for ``rows``."""
    v = space.grid.points(np.arange(space.size))
    vals, idx = [], []
    for w in rows:
        c = compute_cycles(np, gemm.M[w], gemm.N[w], gemm.K[w], v["rows"], v["cols"],
                           v["dataflow"])
        i = int(np.argmin(c))
        vals.append(float(c[i]))
        idx.append(i)
    return np.asarray(vals), np.asarray(idx, np.int64)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run_sweep_suite(points: int, chunk_size: int | None = None, seed: int = 0,
                    progress: bool | None = False) -> dict:
    """Runs the benchmark sweep; returns the JSON record (see module docstring)."""
    points = int(points)
    gemm, space = bench_problem(points, seed)
    res = sweep(compute_cycles_cost_fn(), gemm, space, "latency", chunk_size=chunk_size,
                   progress=progress)
    rng = np.random.default_rng(seed + 1)
    check = np.sort(rng.choice(len(gemm), min(N_CHECK, len(gemm)), replace=False))
    bv, bi = brute_force_argmin(gemm, space, check)
    bad = int(np.sum((bv != res.best_value[check]) | (bi != res.best_index[check])))
    st = res.stats
    dev = jax.devices()[0]
    return {
        "suite": "sweep",
        "model": "systolic compute cycles (SCALE-Sim)",
        "points": st.points,
        "workloads": st.n_workloads,
        "designs": st.n_designs,
        "chunk_size": st.chunk_size,
        "seconds": st.seconds,
        "points_per_s": st.points_per_s,
        "first_chunk_seconds": st.first_chunk_seconds,
        "steady_points_per_s": st.steady_points_per_s,
        "device": getattr(dev, "device_kind", dev.platform),
        "platform": dev.platform,
        "n_devices": st.n_devices,
        "n_processes": st.n_processes,
        "points_per_process": list(st.points_per_process),
        "compiles": st.compiles,
        "best_sha256": hashlib.sha256(res.best_value.tobytes() + res.best_index.tobytes()).hexdigest(),
        "argmin_checked": len(check),
        "argmin_mismatches": bad,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _define_flags():
    """Flags of the standalone script (benchmark.py --suite=sweep defines its own)."""
    global _POINTS, _CHUNK, _SEED, _JSON, _PROGRESS
    _POINTS = flags.DEFINE_float("points", 1e7, "Sweep points (workloads x designs).")
    _CHUNK = flags.DEFINE_integer("chunk_size", None, "Designs per chunk (default: automatic).")
    _SEED = flags.DEFINE_integer("seed", 0, "Workload RNG seed.")
    _JSON = flags.DEFINE_string("json", None, "Write the record to this JSON file.")
    _PROGRESS = flags.DEFINE_bool("progress", True, "Show a progress bar.")
    global _DIST
    _DIST = define_distributed_flags()


def main(argv):
    del argv
    initialize_distributed_from_flags(_DIST)
    t = time.perf_counter()
    rec = run_sweep_suite(int(_POINTS.value), _CHUNK.value, _SEED.value,
                          progress=None if _PROGRESS.value else False)
    rec["wall_seconds"] = time.perf_counter() - t
    text = json.dumps(rec, indent=2)
    print(text)
    if _JSON.value and jax.process_index() == 0:
        with open(_JSON.value, "w") as f:
            f.write(text + "\n")
    if rec["argmin_mismatches"]:
        sys.exit(f"argmin mismatches: {rec['argmin_mismatches']}")


if __name__ == "__main__":
    _define_flags()
    app.run(main)
