"""Multi-process sweep scaling: one sweep on 1 process x 1 device vs P processes x 1 device.

    python experiments/bench_distributed.py --points=3e8 --processes=2 --json OUT.json

Runs ``bench_sweep.py`` (the systolic compute-cycle sweep, argmin per workload, re-checked by brute
force) once as a single process and once as P processes joined by ``jax.distributed`` on
127.0.0.1 (each evaluates every P-th chunk on its one CPU device), one after the other, and reports
points/s of each (the P-process figure over the slowest process), the scaling efficiency
``(rate_P / rate_1) / P`` and whether both found the same optima (a hash of every workload's best
value and index).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile

from absl import app, flags

_POINTS = flags.DEFINE_float("points", 3e8, "Sweep points (workloads x designs).")
_PROCESSES = flags.DEFINE_integer("processes", 2, "Processes of the distributed run.")
_JSON = flags.DEFINE_string("json", None, "Write the record to this JSON file.")

_HERE = os.path.dirname(os.path.abspath(__file__))


def _run(points: float, n: int, workdir: str) -> list[dict]:
    """``bench_sweep.py`` on ``n`` processes (one CPU device each); the record of every process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        addr = f"127.0.0.1:{s.getsockname()[1]}"
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    procs = []
    for pid in range(n):
        cmd = [sys.executable, os.path.join(_HERE, "bench_sweep.py"), f"--points={points}",
               "--noprogress", f"--json={workdir}/p{n}_{pid}.json"]
        if n > 1:
            cmd += [f"--coordinator_address={addr}", f"--num_processes={n}", f"--process_id={pid}"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    outs = [p.communicate()[0] for p in procs]
    for p, out in zip(procs, outs):
        if p.returncode:
            raise RuntimeError(out[-3000:])
    # every process prints its record (JSON) first; process 0 also wrote it
    return [json.loads(out[out.index("{"):out.rindex("}") + 1]) for out in outs]


def run(points: float, n: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        one = _run(points, 1, d)[0]
        many = _run(points, n, d)
    slowest = max(r["seconds"] for r in many)
    steady = min(r["steady_points_per_s"] for r in many)
    return {
        "suite": "sweep_processes",
        "points": one["points"], "designs": one["designs"], "workloads": one["workloads"],
        "device": one["device"], "cpu_count": os.cpu_count(),
        "one_process": {"seconds": one["seconds"], "points_per_s": one["points_per_s"],
                        "steady_points_per_s": one["steady_points_per_s"]},
        f"{n}_processes": {"seconds": slowest, "points_per_s": one["points"] / slowest,
                           "steady_points_per_s_each": [r["steady_points_per_s"] for r in many],
                           "points_per_process": many[0]["points_per_process"]},
        "speedup": one["seconds"] / slowest,
        "scaling_efficiency": one["seconds"] / slowest / n,
        "steady_scaling_efficiency": steady * n / one["steady_points_per_s"] / n
        if one["steady_points_per_s"] == one["steady_points_per_s"] else None,
        "same_optima": all(r["best_sha256"] == one["best_sha256"] for r in many),
        "argmin_mismatches": one["argmin_mismatches"] + sum(r["argmin_mismatches"] for r in many),
    }


def main(argv):
    del argv
    rec = run(_POINTS.value, _PROCESSES.value)
    text = json.dumps(rec, indent=2)
    print(text)
    if _JSON.value:
        with open(_JSON.value, "w") as f:
            f.write(text + "\n")
    if not rec["same_optima"] or rec["argmin_mismatches"]:
        sys.exit("the multi-process sweep disagrees with the single-process one")


if __name__ == "__main__":
    app.run(main)
