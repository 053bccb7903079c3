"""Dataflow constants as inputs: the AIRCHITECT-v2 design space (num_pes 1..64 x KTileSz 1..12 = 768 designs) for
a batch of layers, one compiled graph per dataflow (ConfuciuX's dla / eye / shi).

``run_constants_suite(n_layers)`` draws CONV layers from AIRCHITECT-v2's published ranges (K, C even in 2..512;
Y, X in {8, 16, ..., 256}; R = S in {1, 3, 5, 7, 9}; input >= filter; stride 1), builds the 768 accelerators
(``constants={'KTileSz': ...}``, ``ClusterSz`` bound to ``num_pes``, ConfuciuX's unlimited buffers and NoC) and
times ``spatial_cost_grid`` (every layer on every design, all report fields returned as [L, 768] host arrays):
the first call (compile included) and the best of ``repeat`` warm calls, as points (layer, design) per second.
It checks that one graph served every design (jit cache size 1 per stride class) and that the argmin over
designs (invalid points excluded) is reproduced by the numpy port on a few layers.
"""

from __future__ import annotations

import os
import time

import numpy as np

from codesign_jax import spatial as sp
from codesign_jax.airchitect import v2_case
from codesign_jax.airchitect._case_v2 import V2_HW as HW
from codesign_jax.airchitect._case_v2 import v2_dataflow
from codesign_jax.spatial import _grid, _runtime_space


def _time_calls(fn, repeat: int):
    """``(first call s (compile included), best of repeat warm calls s, last result)``."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        warm.append(time.perf_counter() - t0)
    return first, min(warm), out


def design_space() -> sp.SpatialAccelerator:
    """The 768 designs, ConfigID order: (num_pes - 1) * 12 + (KTileSz - 1)."""
    pes, kt = np.meshgrid(np.arange(1.0, 65.0), np.arange(1.0, 13.0), indexing="ij")
    return sp.SpatialAccelerator(pes.ravel(), **HW, constants={"KTileSz": kt.ravel()})


def layers(n: int, seed: int = 0) -> sp.SpatialLayer:
    rng = np.random.default_rng(seed)
    r = rng.choice([1.0, 3.0, 5.0, 7.0, 9.0], n)
    sizes = np.arange(8.0, 257.0, 8.0)
    y, x = rng.choice(sizes, n), rng.choice(sizes, n)
    y, x = np.maximum(y, r), np.maximum(x, r)
    k, c = 2.0 * rng.integers(1, 257, n), 2.0 * rng.integers(1, 257, n)
    return sp.conv_layer(k, c, r, r, y, x)


def run_constants_suite(n_layers: int = 256, repeat: int = 3, dataflows=("dla", "eye", "shi")) -> dict:
    accel = design_space()
    lay = layers(n_layers)
    out = {"n_layers": n_layers, "n_designs": 768, "points": n_layers * 768, "dataflows": {}}
    for name in dataflows:
        df = v2_dataflow(name)
        _grid._grid_jitted.cache_clear()
        first, warm, rep = _time_calls(lambda: sp.spatial_cost_grid(lay, accel, df, validate=False), repeat)
        rt = np.where(np.asarray(rep.degenerate) == 0, np.asarray(rep.runtime_cycles), np.inf)
        best = np.argmin(rt, axis=1)  # first minimum: fewer PEs, then the smaller tile (ConfigID order)
        ok = True
        for i in range(0, n_layers, max(1, n_layers // 4)):
            one_layer = sp.conv_layer(*(np.full(768, float(np.asarray(getattr(lay, k))[i])) for k in "KCRSYX"))
            one = sp.spatial_cost(one_layer, accel, df, backend="numpy")
            ref = np.where(np.asarray(one.degenerate) == 0, np.asarray(one.runtime_cycles), np.inf)
            ok = ok and int(np.argmin(ref)) == int(best[i]) and np.array_equal(ref, rt[i])
        out["dataflows"][name] = {
            "first_call_s": round(first, 2), "warm_s": round(warm, 3),
            "points_per_s": round(n_layers * 768 / warm),
            "graphs_compiled": _grid._grid_jitted.cache_info().currsize,
            "invalid_points": int(np.sum(np.asarray(rep.degenerate) != 0)),
            "argmin_equals_numpy_port": bool(ok)}
    return out


def run_runtime_space_suite(n_layers: int = 1024, n_large: int = 16384, repeat: int = 2,
                            dataflows=("dla", "eye", "shi")) -> dict:
    """Old vs new labelling path on the same layers, side by side in one run, per dataflow.

    old: ``spatial_cost_grid`` (every report field, KTileSz traced: one graph) on ``n_layers`` layers
    x 768 designs; new: ``spatial_runtime_space`` (runtime + validity only, one graph per KTileSz,
    layers [chunk, 1] x num_pes [1, 64]) on the same layers, and on ``n_large`` layers in host calls of
    ``n_layers`` (the same compiled graphs; labelling calls 8192 at a time). Layers: AIRCHITECT-v2's sampler (``v2_case().sample``). Both warm
    (best of ``repeat``; compile times reported apart). Checks runtime equal and the same invalid
    points on every (layer, design) of the small batch.
    """
    case = v2_case()
    x_all = case.sample(np.random.default_rng(0), 3 * max(n_layers, n_large) + 3000)
    accel = design_space()
    out = {"n_layers": n_layers, "n_large": n_large, "n_designs": 768, "cpu_count": os.cpu_count(),
           "loadavg_start": os.getloadavg()[0], "dataflows": {}}
    space = dict(num_pes=range(1, 65), constants={"KTileSz": range(1, 13)}, **HW)
    for d, name in enumerate(dataflows):
        rows = np.flatnonzero(x_all["dataflow"] == ("dla", "eye", "shi").index(name))
        lay = lambda n: sp.conv_layer(*(x_all[k][rows[:n]].astype(np.float64) for k in ("K", "C", "R", "S", "Y", "X")))
        small, large = lay(n_layers), lay(n_large)
        df = v2_dataflow(name)
        _grid._grid_jitted.cache_clear()
        old_first, old, rep = _time_calls(lambda: sp.spatial_cost_grid(small, accel, df, validate=False), repeat)
        _runtime_space._space_fn.cache_clear()
        new_first, new, (rt, ok) = _time_calls(lambda: sp.spatial_runtime_space(small, df, **space), repeat)
        _, big, _ = _time_calls(lambda: sp.spatial_runtime_space(large, df, block_layers=n_layers, **space), repeat)
        same = (np.array_equal(np.asarray(rep.runtime_cycles), rt)
                and np.array_equal(np.asarray(rep.degenerate) == 0, ok))
        pts = n_layers * 768
        out["dataflows"][name] = {
            "old_first_call_s": round(old_first, 2), "old_warm_s": round(old, 3),
            "old_points_per_s": round(pts / old),
            "new_first_call_s": round(new_first, 2), "new_warm_s": round(new, 3),
            "new_points_per_s": round(pts / new),
            "new_over_old_same_layers": round(old / new, 1),
            "new_large_points_per_s": round(n_large * 768 / big),
            "new_large_over_old": round((n_large * 768 / big) / (pts / old), 1),
            "runtime_and_validity_equal": bool(same), "invalid_points": int((~ok).sum())}
        print(name, out["dataflows"][name], flush=True)
    out["loadavg_end"] = os.getloadavg()[0]
    return out
