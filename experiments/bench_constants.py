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
from codesign_jax.spatial import _grid

DATA = os.path.join(os.path.dirname(__file__), os.pardir, "tests", "data", "maestro_confuciux")
HW = dict(l1_size=819200000.0, l2_size=819200000.0, noc_bw=81920000.0, offchip_bw=70000.0, noc_hops=1.0)


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
        df = sp.parse_dataflow(open(os.path.join(DATA, f"{name}.m")).read(), name).bind(ClusterSz="num_pes")
        _grid._grid_jitted.cache_clear()
        t0 = time.perf_counter()
        rep = sp.spatial_cost_grid(lay, accel, df, validate=False)
        first = time.perf_counter() - t0
        warm = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            rep = sp.spatial_cost_grid(lay, accel, df, validate=False)
            warm.append(time.perf_counter() - t0)
        rt = np.where(np.asarray(rep.degenerate) == 0, np.asarray(rep.runtime_cycles), np.inf)
        best = np.argmin(rt, axis=1)  # first minimum: fewer PEs, then the smaller tile (ConfigID order)
        ok = True
        for i in range(0, n_layers, max(1, n_layers // 4)):
            one_layer = sp.conv_layer(*(np.full(768, float(np.asarray(getattr(lay, k))[i])) for k in "KCRSYX"))
            one = sp.spatial_cost(one_layer, accel, df, backend="numpy")
            ref = np.where(np.asarray(one.degenerate) == 0, np.asarray(one.runtime_cycles), np.inf)
            ok = ok and int(np.argmin(ref)) == int(best[i]) and np.array_equal(ref, rt[i])
        out["dataflows"][name] = {
            "first_call_s": round(first, 2), "warm_s": round(min(warm), 3),
            "points_per_s": round(n_layers * 768 / min(warm)),
            "graphs_compiled": _grid._grid_jitted.cache_info().currsize,
            "invalid_points": int(np.sum(np.asarray(rep.degenerate) != 0)),
            "argmin_equals_numpy_port": bool(ok)}
    return out
