r"""Throughput benchmarks, measured side by side in one run.

    python experiments/benchmark.py --json OUT.json                 # systolic model (default)
    python experiments/benchmark.py --suite=spatial --json OUT.json # MAESTRO-style model
    python experiments/benchmark.py --suite=sweep --points=1e8 --json OUT.json
    python experiments/benchmark.py --suite=scalesim_examples --scalesim_repo DIR --json OUT.json
    python experiments/benchmark.py --suite=maestro --maestro PATH/maestro --json OUT.json  # vs MAESTRO
    python experiments/benchmark.py --suite=constants --json OUT.json # 768-design AIRCHITECT-v2 space
    python experiments/benchmark.py --suite=runtime_space --json OUT.json  # its labelling path, old vs new

``--suite=maestro``: ``bench_maestro.py`` (the real MAESTRO, our drop-in CLI and our library on MAESTRO's
example networks, one network file per process, interleaved); ``--suite=constants`` / ``runtime_space``: ``bench_constants.py``.

``--suite=systolic`` times the full jitted SCALE-Sim-equivalent model (every report field plus
energy/area) over a grid of workloads x rows x cols x dataflow x SRAM sizes, a numpy port of the
same formulas (``systolic_metrics`` with ``xp=numpy``) on a slice of the same grid, and the real
SCALE-Sim on a handful of layers when it is importable (or ``--scalesim_python`` names an
interpreter that has it). Every output field reaches the measured result: per workload the
argmin over designs of total cycles, plus the sum over all points of every field, so XLA cannot
drop any of them. It also measures peak host RSS for a chunked run of ``--memory_points``.
``--suite=scalesim_examples`` runs the CLI on every example SCALE-Sim ships (a scale-sim-v2
checkout in ``--scalesim_repo``), one process per run: seconds, peak RSS, exit code
(``bench_scalesim_examples.py``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# The spatial suite splits its batch over one XLA CPU device per core (shard_map); XLA must be told
# before JAX starts, so the flag is read from argv here (the other suites keep XLA's single device).
if any(a in ("--suite=spatial", "spatial") for a in sys.argv) and \
        "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_force_host_platform_device_count={os.cpu_count() or 1}").strip()

import bench_scalesim_examples  # noqa: E402  (defines its --scalesim_repo ... flags)
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import codesign_jax  # noqa: E402,F401  (enables x64)
from codesign_jax.systolic import ENERGY_FIELDS, default_energy_table, systolic_energy  # noqa: E402
from codesign_jax.systolic import REPORT_FIELDS, systolic_metrics  # noqa: E402
from codesign_jax.hardware import SystolicArray  # noqa: E402
from codesign_jax.topology import load_topology, shipped_topology_path  # noqa: E402
from codesign_jax.workloads import Gemm  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("suite", "systolic", ["systolic", "spatial", "sweep", "maestro", "constants",
                                        "runtime_space", "scalesim_examples"], "What to benchmark.")
flags.DEFINE_string("maestro", None, "maestro suite: the MAESTRO binary (built from maestro-project/maestro).")
flags.DEFINE_string("mapping_dir", None, "maestro suite: network files (default: data/mapping next to the binary, "
                    "else tests/data/maestro_dropin/mapping).")
flags.DEFINE_integer("layers", 256, "constants suite: layers (x 768 designs).")
flags.DEFINE_list("maestro_settings", ["hwfile", "cli64"], "maestro suite: hwfile and/or cli64.")
flags.DEFINE_bool("maestro_library", False, "maestro suite: also time the jitted library path (compiles).")
flags.DEFINE_string("json", None, "Write the results here as JSON.")
flags.DEFINE_float("points", 1e8, "sweep suite: number of (workload, design) points.")
flags.DEFINE_integer("chunk_size", None, "sweep suite: designs per chunk (default: automatic).")
flags.DEFINE_float("seconds", 3.0, "systolic/spatial: minimum timed seconds per measurement.")
flags.DEFINE_float("memory_points", 1e8, "systolic: points of the chunked peak-RSS run (0: skip).")
flags.DEFINE_string("scalesim_python", None,
                    "Python interpreter with scalesim installed (default: this one if it can "
                    "import scalesim).")
flags.DEFINE_integer("scalesim_layers", 4, "Layers run through the real SCALE-Sim.")

# Grid: 64 workloads x 12 rows x 12 cols x 3 dataflows x 4^3 SRAM sizes = 1.77e6 x 3 points.
_DIMS = np.array([4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256], np.float64)
_KB = np.array([16, 64, 256, 1024], np.float64)


def _workloads(n: int = 64, seed: int = 0) -> Gemm:
    """ResNet-18 + BERT-base layers, topped up with random GEMMs, as an [n, 1, 1, 1, 1, 1] table."""
    layers = [load_topology(shipped_topology_path("resnet18"), "conv").gemm,
              load_topology(shipped_topology_path("bert_base_gemm"), "gemm").gemm]
    fields = {k: np.concatenate([np.ravel(getattr(g, k)) for g in layers])
              for k in ("M", "N", "K", "ifmap_unique", "ifmap_valid")}
    rng = np.random.default_rng(seed)
    extra = n - len(fields["M"])
    mnk = rng.integers(16, 4096, size=(3, extra))
    fields["M"] = np.concatenate([fields["M"], mnk[0]])
    fields["N"] = np.concatenate([fields["N"], mnk[1]])
    fields["K"] = np.concatenate([fields["K"], mnk[2]])
    for k in ("ifmap_unique", "ifmap_valid"):
        fields[k] = np.concatenate([fields[k], mnk[0] * mnk[2]])
    shape = (n, 1, 1, 1, 1, 1)
    return Gemm(**{k: v[:n].astype(np.float64).reshape(shape) for k, v in fields.items()})


def _designs(dataflow: int, dims=_DIMS, kb=_KB) -> SystolicArray:
    """Design axes as broadcastable arrays [1, rows, cols, if_kb, fl_kb, of_kb] (never a product)."""
    ax = lambda v, i: np.reshape(v, [1] * i + [-1] + [1] * (5 - i))
    return SystolicArray(rows=ax(dims, 1), cols=ax(dims, 2), dataflow=dataflow,
                         ifmap_sram_kb=ax(kb, 3), filter_sram_kb=ax(kb, 4),
                         ofmap_sram_kb=ax(kb, 5), bw_mode=0, bandwidth=10.0,
                         ifmap_dram_bw=10.0, filter_dram_bw=10.0)


ALL_FIELDS = REPORT_FIELDS + ENERGY_FIELDS


def _reduce(xp, g, a):
    """Every field reaches the output: per-workload argmin/min over designs of the energy-delay
    product (a function of every design axis) plus the sum over all points of every field.

    Fields are evaluated at the shape of the inputs they depend on (compute cycles do not depend
    on SRAM sizes), added elementwise within each shape, then broadcast-added and reduced once:
    XLA keeps one fused loop and does the per-shape work once per distinct input.
    """
    m = systolic_metrics(xp, g, a, broadcast=False)
    m.update(systolic_energy(xp, m, a, default_energy_table(), broadcast=False))
    edp = m["edp_pj_cycles"]
    flat = edp.reshape(edp.shape[0], -1)
    groups = {}
    for k in ALL_FIELDS:
        groups.setdefault(np.shape(m[k]), []).append(m[k])
    everything = sum(sum(vs) for vs in groups.values())
    everything = xp.broadcast_to(everything, edp.shape).sum()
    return xp.argmin(flat, axis=1), xp.min(flat, axis=1), everything


def _timeit(fn, min_seconds):
    """Best per-call wall time over repeated calls for at least ``min_seconds`` (after a warm-up
    call that compiles): the minimum is the least disturbed by other processes."""
    fn()
    best, t_end = float("inf"), time.perf_counter() + min_seconds
    while time.perf_counter() < t_end or best == float("inf"):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _grid_points(g) -> int:
    d = _designs(0)
    return 3 * int(np.prod(np.broadcast_shapes(
        g.M.shape, d.rows.shape, d.cols.shape, d.ifmap_sram_kb.shape, d.filter_sram_kb.shape,
        d.ofmap_sram_kb.shape)))


def _flat(g, dataflow):
    """The grid as a flat list of points (every field materialised per point), [n_points]."""
    d = _designs(dataflow)
    shape = np.broadcast_shapes(g.M.shape, d.rows.shape, d.cols.shape, d.ifmap_sram_kb.shape,
                                d.filter_sram_kb.shape, d.ofmap_sram_kb.shape)
    flat = lambda v: np.broadcast_to(v, shape).reshape(shape[0], -1).copy()
    gf = Gemm(**{k: flat(getattr(g, k)) for k in ("M", "N", "K", "ifmap_unique", "ifmap_valid")})
    af = d.replace(**{k: flat(getattr(d, k)) for k in
                      ("rows", "cols", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb")})
    return gf, af


def bench_jax(g, min_seconds):
    """The engine's layout: design axes broadcast lazily inside one jitted call per dataflow."""
    fns = [jax.jit(lambda g, df=df: _reduce(jnp, g, _designs(df))) for df in range(3)]
    per_call = _timeit(lambda: jax.block_until_ready([f(g) for f in fns]), min_seconds)
    return _grid_points(g) / per_call


def bench_jax_flat(g, min_seconds):
    """The same points as flat per-point arrays (no broadcasting advantage)."""
    data = [_flat(g, df) for df in range(3)]
    fns = [jax.jit(lambda g, a, df=df: _reduce(jnp, g, a.replace(dataflow=df, bw_mode=0)))
           for df in range(3)]
    per_call = _timeit(lambda: jax.block_until_ready([f(*x) for f, x in zip(fns, data)]),
                       min_seconds)
    return _grid_points(g) / per_call


def bench_numpy(g, min_seconds, flat=True):
    """numpy port: the same formulas (``systolic_metrics`` with ``xp=numpy``). ``flat``: over a
    flat list of points, the straightforward port; else on the broadcast grid like the JAX path.
    Uses the first 8 workloads to keep the timing within seconds."""
    sub = Gemm(**{k: getattr(g, k)[:8] for k in ("M", "N", "K", "ifmap_unique", "ifmap_valid")})
    data = [_flat(sub, df) if flat else (sub, _designs(df)) for df in range(3)]
    def run():
        with np.errstate(all="ignore"):
            for x in data:
                _reduce(np, *x)
    return _grid_points(sub) / _timeit(run, min_seconds)


def peak_rss_chunked(g, total_points):
    """Runs >= total_points through fixed-size chunks; returns (points, seconds, peak RSS MiB)."""
    fn = jax.jit(lambda g, rows, df: _reduce(jnp, g, _designs(df, dims=rows)),
                 static_argnums=2)
    chunk_rows = jnp.asarray(_DIMS)
    per_chunk = g.M.shape[0] * len(_DIMS) ** 2 * len(_KB) ** 3
    n_chunks = int(np.ceil(total_points / per_chunk))
    best = None
    t0 = time.perf_counter()
    for c in range(n_chunks):
        out = fn(g, chunk_rows + 0.0 * c, c % 3)
        best = out[1] if best is None else jnp.minimum(best, out[1])
    jax.block_until_ready(best)
    dt = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return n_chunks * per_chunk, dt, peak_kib / 1024.0


_SCALESIM_SNIPPET = r"""
import json, os, sys, time
from scalesim.scale_sim import scalesim
cases = json.loads(sys.argv[1]); out = []
for i, (m, n, k, r, c, df) in enumerate(cases):
    d = os.path.join(sys.argv[2], f"case{i}"); os.makedirs(d)
    cfg = os.path.join(d, "a.cfg"); topo = os.path.join(d, "t.csv")
    open(cfg, "w").write(sys.argv[3].format(run_name=f"c{i}", rows=r, cols=c, df=df))
    open(topo, "w").write(f"Layer, M, N, K,\nl0, {m}, {n}, {k},\n")
    t0 = time.perf_counter()
    s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo,
                 layout=topo, input_type_gemm=True)
    s.run_scale(top_path=d)
    dt = time.perf_counter() - t0
    rep = open(os.path.join(d, f"c{i}", "COMPUTE_REPORT.csv")).read().splitlines()[1]
    out.append([dt, float(rep.split(",")[2])])
print(json.dumps(out))
"""

_CFG = """[general]
run_name = {run_name}
[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: 256
FilterSramSzkB: 256
OfmapSramSzkB: 256
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth : 10
Dataflow : {df}
ReadRequestBuffer: 32
WriteRequestBuffer: 32
[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2
[sparsity]
SparsitySupport : false
[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def bench_scalesim(n_layers):
    """Seconds per layer of the real SCALE-Sim, and whether our total cycles agree; None if absent."""
    py = FLAGS.scalesim_python
    if py is None:
        try:
            import scalesim  # noqa: F401
            py = sys.executable
        except ImportError:
            return None
    cases = [(64, 64, 64, 8, 8, "os"), (128, 64, 96, 16, 16, "ws"), (96, 128, 64, 16, 8, "is"),
             (256, 128, 64, 32, 32, "os"), (100, 37, 129, 8, 16, "ws"),
             (64, 256, 128, 16, 32, "is")][:n_layers]
    with tempfile.TemporaryDirectory() as d:
        res = subprocess.run([py, "-c", _SCALESIM_SNIPPET, json.dumps(cases), d, _CFG],
                             capture_output=True, text=True, check=True)
    timings = json.loads(res.stdout.strip().splitlines()[-1])
    m, n, k, r, c, df = map(np.asarray, zip(*cases))
    ours = systolic_metrics(np, Gemm.create(m, n, k), SystolicArray.create(r, c, df, 256, 256, 256))
    agree = [float(ours["total_cycles"][i]) == t[1] for i, t in enumerate(timings)]
    return {"s_per_point": float(np.mean([t[0] for t in timings])), "layers": len(cases),
            "total_cycles_agree": int(sum(agree))}


def systolic_suite():
    g = _workloads()
    n_points = _grid_points(g)
    mem = None
    if FLAGS.memory_points > 0:
        # first, so the process's peak RSS is that of the chunked run (plus JAX itself)
        mem = peak_rss_chunked(g, FLAGS.memory_points)
    jax_pps = bench_jax(g, FLAGS.seconds)
    jax_flat_pps = bench_jax_flat(g, FLAGS.seconds)
    np_pps = bench_numpy(g, FLAGS.seconds, flat=True)
    np_grid_pps = bench_numpy(g, FLAGS.seconds, flat=False)
    ss = bench_scalesim(FLAGS.scalesim_layers)
    out = {
        "suite": "systolic",
        "device": str(jax.devices()[0].device_kind),
        "platform": jax.devices()[0].platform,
        "n_devices": jax.device_count(),
        "n_points": n_points,
        "grid": {"workloads": int(g.M.shape[0]), "rows": _DIMS.tolist(), "cols": _DIMS.tolist(),
                 "dataflows": ["os", "ws", "is"], "ifmap_kb": _KB.tolist(),
                 "filter_kb": _KB.tolist(), "ofmap_kb": _KB.tolist()},
        "reduced": ("per workload: argmin and min over all designs of edp_pj_cycles; over all "
                    "points: the sum of every field (each evaluated at the shape of the inputs "
                    "it depends on, then broadcast) in " + ", ".join(ALL_FIELDS)),
        "dtype": "float64 (exact integer counts below 2**53)",
        "jax_points_per_s": jax_pps,
        "numpy_points_per_s": np_pps,
        "speedup_vs_numpy": jax_pps / np_pps,
        "layouts": ("jax_points_per_s: design axes broadcast lazily inside the jitted call (the "
                    "engine's layout); numpy_points_per_s: the numpy port over a flat list of "
                    "the same points; *_grid / *_flat: each backend on the other layout"),
        "jax_flat_points_per_s": jax_flat_pps,
        "numpy_grid_points_per_s": np_grid_pps,
        "speedup_same_layout_grid": jax_pps / np_grid_pps,
        "speedup_same_layout_flat": jax_flat_pps / np_pps,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "scalesim_s_per_point": None if ss is None else ss["s_per_point"],
        "speedup_vs_scalesim": None if ss is None else jax_pps * ss["s_per_point"],
        "scalesim_layers": None if ss is None else ss["layers"],
        "scalesim_total_cycles_agree": None if ss is None else ss["total_cycles_agree"],
    }
    if mem is not None:
        pts, secs, rss = mem
        out.update({"memory_run_points": pts, "memory_run_seconds": secs,
                    "memory_run_points_per_s": pts / secs, "peak_rss_mib": rss})
    return out


def main(argv):
    del argv
    if FLAGS.suite == "systolic":
        out = systolic_suite()
    elif FLAGS.suite == "maestro":
        from bench_maestro import run_maestro_suite
        if not FLAGS.maestro:
            raise app.UsageError("--suite=maestro needs --maestro PATH (a MAESTRO binary).")
        here = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests", "data", "maestro_dropin")
        near = os.path.join(os.path.dirname(os.path.abspath(FLAGS.maestro)), "data")
        base = near if os.path.isdir(os.path.join(near, "mapping")) else here
        out = run_maestro_suite(FLAGS.maestro, FLAGS.mapping_dir or os.path.join(base, "mapping"),
                                os.path.join(base, "hw", "accelerator_1.m"), FLAGS.maestro_settings,
                                FLAGS.maestro_library)
    elif FLAGS.suite == "constants":
        from bench_constants import run_constants_suite
        out = run_constants_suite(FLAGS.layers)
    elif FLAGS.suite == "runtime_space":
        from bench_constants import run_runtime_space_suite
        out = run_runtime_space_suite(FLAGS.layers if FLAGS["layers"].present else 1024)
    elif FLAGS.suite == "spatial":
        from bench_spatial import run_spatial_suite
        out = run_spatial_suite(int(FLAGS.points) if FLAGS["points"].present else 1 << 21)
    elif FLAGS.suite == "scalesim_examples":
        out = bench_scalesim_examples.run_from_flags()
    else:
        from bench_sweep import run_sweep_suite
        out = run_sweep_suite(int(FLAGS.points), FLAGS.chunk_size)
    text = json.dumps(out, indent=2)
    print(text)
    if FLAGS.json:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.json)), exist_ok=True)
        with open(FLAGS.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    app.run(main)
