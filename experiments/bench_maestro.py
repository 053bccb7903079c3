"""MAESTRO itself vs our drop-in CLI vs our library path, on MAESTRO's own example networks, side by side.

``run_maestro_suite(maestro, mapping_dir, hw_file)`` times, file by file and interleaved (so both see the same
machine load), for each hardware setting (HW-file mode and MAESTRO's flag mode):

* ``maestro``: the real MAESTRO binary on one whole network file per process (how its users run it), wall
  and CPU seconds (the children's user + system time);
* ``cli``: ``python -m codesign_jax.maestro`` with MAESTRO's exact command line, one process per file
  (Python, JAX and package import included), wall and CPU seconds; its CSV is compared with MAESTRO's
  (identical rows, same exit status);
* ``inproc``: the same ``maestro.main(argv)`` in an already running Python (no import), numpy backend;
* ``library`` (``library=True``): every layer of every file MAESTRO completes, through
  ``evaluate_model(..., backend='jax')`` (jit-compiled per (dataflow, layer kind, stride class): one compile
  per distinct dataflow of each file): the first pass (compile included) and a second, warm pass.

Per-layer figures divide by the layers of the files timed (MAESTRO's rejected files included: it stops
early on them, and so do we). Run: ``python experiments/benchmark.py --suite=maestro --maestro PATH``.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from codesign_jax import maestro as cli
from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial import _files, _run

SETTINGS = {
    "hwfile": ["--HW_file=data/hw/accelerator_1.m"],
    "cli64": ["--num_pes=64", "--l1_size_cstr=512", "--l2_size_cstr=108000", "--noc_bw_cstr=64",
              "--offchip_bw_cstr=32"],
}
COMMON = ["--print_res=false", "--print_res_csv_file=true", "--print_log_file=false"]


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed_process(cmd, cwd) -> tuple[float, float, int]:
    c0, t0 = _child_cpu(), time.perf_counter()
    rc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return time.perf_counter() - t0, _child_cpu() - c0, rc


def _read(path):
    return open(path).read().splitlines() if os.path.exists(path) else []


def run_maestro_suite(maestro: str, mapping_dir: str, hw_file: str, settings=("hwfile", "cli64"),
                      library: bool = False) -> dict:
    files = sorted(glob.glob(os.path.join(mapping_dir, "*.m")))
    models = {}
    for f in files:
        try:
            models[f] = _files.read_model_file(f)
        except _files.MaestroFileError:
            models[f] = None
    n_layers = sum(len(m.layers) for m in models.values() if m is not None)
    n_layers += sum(open(f).read().count("Layer ") for f, m in models.items() if m is None)  # refused at parse
    out = {"files": len(files), "layers": n_layers, "maestro": maestro, "settings": {}}
    for setting in settings:
        work = tempfile.mkdtemp(prefix="bench_maestro_")
        runs = {k: os.path.join(work, k) for k in ("maestro", "cli", "inproc")}
        for d in runs.values():
            os.makedirs(os.path.join(d, "data"))
            shutil.copytree(mapping_dir, os.path.join(d, "data", "mapping"))
            os.makedirs(os.path.join(d, "data", "hw"))
            shutil.copy(hw_file, os.path.join(d, "data", "hw", "accelerator_1.m"))
        tot = {k: [0.0, 0.0] for k in ("maestro", "cli", "inproc")}
        rows = same_rows = rc_same = 0
        for f in files:
            name = os.path.basename(f)[:-2]
            argv = SETTINGS[setting] + [f"--Mapping_file=data/mapping/{name}.m"] + COMMON
            w, c, rc_m = _timed_process([maestro, *argv], runs["maestro"])
            tot["maestro"][0] += w
            tot["maestro"][1] += c
            w, c, rc_c = _timed_process([sys.executable, "-m", "codesign_jax.maestro", *argv], runs["cli"])
            tot["cli"][0] += w
            tot["cli"][1] += c
            cwd = os.getcwd()
            os.chdir(runs["inproc"])
            try:
                c0, t0 = _self_cpu(), time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    cli.main(argv)
                tot["inproc"][0] += time.perf_counter() - t0
                tot["inproc"][1] += _self_cpu() - c0
            finally:
                os.chdir(cwd)
            rc_same += (rc_m != 0) == (rc_c != 0)
            ref, ours = _read(os.path.join(runs["maestro"], f"{name}.csv")), _read(os.path.join(runs["cli"],
                                                                                                f"{name}.csv"))
            rows += max(len(ref) - 1, 0)
            same_rows += sum(a == b for a, b in zip(ref[1:], ours[1:]))
        res = {k: {"wall_s": round(v[0], 3), "cpu_s": round(v[1], 3),
                   "wall_ms_per_layer": round(1e3 * v[0] / n_layers, 3),
                   "cpu_ms_per_layer": round(1e3 * v[1] / n_layers, 3)} for k, v in tot.items()}
        for k in ("cli", "inproc"):
            res[k]["cpu_x_maestro"] = round(v_ratio(tot[k][1], tot["maestro"][1]), 1)
            res[k]["wall_x_maestro"] = round(v_ratio(tot[k][0], tot["maestro"][0]), 1)
        res["csv_rows"] = rows
        res["csv_rows_identical"] = same_rows
        res["exit_status_agrees"] = f"{rc_same}/{len(files)}"
        if library:
            res["library"] = _library(models, setting, hw_file, n_layers, tot["maestro"])
        out["settings"][setting] = res
        print(json.dumps({setting: res}), flush=True)
        shutil.rmtree(work, ignore_errors=True)
    return out


def v_ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def _library(models: dict, setting: str, hw_file: str, n_layers: int, maestro_tot) -> dict:
    """Every layer of every parsed file through the jitted path: first pass (compile) and a warm pass."""
    if setting == "hwfile":
        hw = _files.read_hw_file(hw_file)
        accel = SpatialAccelerator(float(hw.num_pes), float(hw.l1_size), float(hw.l2_size), float(hw.noc_bw),
                                   float(hw.offchip_bw), float(hw.noc_hops))
    else:
        accel = SpatialAccelerator(64.0, 512.0, 108000.0, 64.0, 32.0, 0.0)
    passes = []
    for _ in range(2):
        c0, t0 = _self_cpu(), time.perf_counter()
        done = 0
        for m in models.values():
            if m is not None:
                r = _run.evaluate_model(m, accel, backend="jax")
                done += int(np.sum(np.isfinite(r.fields["runtime_cycles"])))
        passes.append((time.perf_counter() - t0, _self_cpu() - c0))
    (w1, c1), (w2, c2) = passes
    return {"layers_evaluated": done, "first_pass_wall_s": round(w1, 3), "first_pass_cpu_s": round(c1, 3),
            "warm_wall_s": round(w2, 3), "warm_cpu_s": round(c2, 3),
            "warm_wall_ms_per_layer": round(1e3 * w2 / n_layers, 3),
            "warm_cpu_x_maestro": round(v_ratio(c2, maestro_tot[1]), 2),
            "warm_wall_x_maestro": round(v_ratio(w2, maestro_tot[0]), 2)}
