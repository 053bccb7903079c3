"""Throughput of the MAESTRO-style spatial model: jitted JAX vs its numpy port vs MAESTRO itself.

``run_spatial_suite(n_points)`` draws ``n_points`` random (layer, accelerator) pairs per dataflow
(ResNet/MobileNet-like conv shapes with strides 1-2, the semi-decoupled paper's accelerator ranges),
times one jitted evaluation of all report fields (each reduced to a sum, so XLA keeps every output)
after a warm-up compile, and the numpy port of the same formulas on a slice.
Run standalone: ``python experiments/bench_spatial.py [n_points]`` prints the JSON.
"""

from __future__ import annotations

import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import codesign_jax  # noqa: F401  (enables x64)
from codesign_jax.cost import spatial as sp

# MAESTRO's own cost per layer evaluation: one process per layer in HW-file mode; median of the
# wall_s column of tests/data/maestro_reference.csv (602 runs of maestro-project/maestro@4eb08d1).
MAESTRO_S_PER_POINT = 0.0178
MAESTRO_SOURCE = ("median wall time per layer of the 602 real MAESTRO (4eb08d1) runs in "
                  "tests/data/maestro_reference.csv (column wall_s, HW-file mode, one layer per process; "
                  "range 2.9-88.8 ms)")

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


def _timeit(fn, *args, repeat=3):
  best = float("inf")
  for _ in range(repeat):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    best = min(best, time.perf_counter() - t0)
  return best


def run_spatial_suite(n_points: int = 1_000_000, seed: int = 0) -> dict:
  """Points/s per dataflow for the jitted model and its numpy port (JSON-able dict)."""
  rng = np.random.default_rng(seed)
  res = {"n_points": n_points, "device": str(jax.devices()[0]), "maestro_s_per_point": MAESTRO_S_PER_POINT,
         "maestro_source": MAESTRO_SOURCE,
         "reduced": "every SpatialReport field summed over the batch (jnp.sum per field), so none is dead code",
         "dataflows": {}}
  for df, lt in SUITE.items():
    layer, accel = _points(n_points, lt, rng)
    err = sp.check_spatial(layer, accel, df)
    keep = err == ""
    layer = jax.tree_util.tree_map(lambda a: np.broadcast_to(a, keep.shape)[keep], layer)
    accel = jax.tree_util.tree_map(lambda a: np.broadcast_to(a, keep.shape)[keep], accel)
    n = int(keep.sum())
    cost = sp.make_spatial_cost(df, lt)

    @jax.jit
    def reduced(layer, accel):
      rep = cost(layer, accel)
      return jnp.stack([jnp.sum(getattr(rep, f)) for f in sp.REPORT_FIELDS])

    jl, ja = jax.device_put(layer), jax.device_put(accel)
    t0 = time.perf_counter()
    jax.block_until_ready(reduced(jl, ja))
    compile_s = time.perf_counter() - t0
    t_jax = _timeit(reduced, jl, ja)
    m = min(n, 20_000)
    np_cost = sp.make_spatial_cost(df, lt, backend="numpy")
    sl = lambda t: jax.tree_util.tree_map(lambda a: np.asarray(a)[:m], t)
    t_np = _timeit(lambda a, b: [np.sum(getattr(np_cost(a, b), f)) for f in sp.REPORT_FIELDS], sl(layer),
                   sl(accel), repeat=1)
    jps, nps = n / t_jax, m / t_np
    res["dataflows"][df] = {"layer_type": lt, "n_valid": n, "compile_s": round(compile_s, 2),
                            "jax_points_per_s": jps, "numpy_points_per_s": nps,
                            "speedup_vs_numpy": jps / nps, "speedup_vs_maestro": jps * MAESTRO_S_PER_POINT}
  return res


if __name__ == "__main__":
  print(json.dumps(run_spatial_suite(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), indent=1))
