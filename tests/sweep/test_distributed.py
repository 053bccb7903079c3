"""Multi-process sweeps: two local processes joined by jax.distributed (gloo) equal one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from codesign_jax.sweep import _distributed as dist

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_ENGINE_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from codesign_jax.sweep import initialize_distributed
    pid = int(sys.argv[1])
    initialize_distributed(sys.argv[2], 2, pid)
    sys.path[:0] = [{tests!r}, {helpers!r}]  # test_engine and the tests/ helpers conftest puts on the path
    import test_engine as T
    r = T.device_case()
    np.savez(sys.argv[3] + f"{{pid}}.npz", **T.result_arrays(r), n_processes=r.stats.n_processes,
             per_process=np.asarray(r.stats.points_per_process), points=r.stats.points)
""")


def _port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def _run_two(argv_of, timeout=300):
    """Starts processes 0 and 1 (``argv_of(pid)``) and waits for both; raises with their output."""
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    procs = [subprocess.Popen(argv_of(pid), env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for pid in (0, 1)]
    outs = [p.communicate(timeout=timeout)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
    return outs


def test_two_processes_equal_one_process(tmp_path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import test_engine as T

    one = T.result_arrays(T.device_case())
    script = _ENGINE_SCRIPT.format(tests=os.path.join(ROOT, "tests", "sweep"), helpers=os.path.join(ROOT, "tests"))
    addr, out = _port(), str(tmp_path / "p")
    _run_two(lambda pid: [sys.executable, "-c", script, str(pid), addr, out])
    for pid in (0, 1):  # every process ends with the same, merged, results
        two = dict(np.load(f"{out}{pid}.npz"))
        assert int(two.pop("n_processes")) == 2
        per, points = two.pop("per_process"), int(two.pop("points"))
        assert per.sum() == points and np.all(per > 0.4 * points), per
        assert one.keys() == two.keys()
        for k in one:
            np.testing.assert_array_equal(one[k], two[k], err_msg=f"process {pid}: {k}")


def test_sweep_experiment_on_two_processes_writes_identical_outputs(tmp_path):
    cmd = [sys.executable, os.path.join(ROOT, "experiments", "sweep.py"), "--config",
           os.path.join(ROOT, "configs", "sweep_tiny.py")]
    single = tmp_path / "one"
    subprocess.run(cmd + ["--workdir", str(single)], check=True, cwd=ROOT, timeout=300,
                   capture_output=True)
    addr, two = _port(), tmp_path / "two"
    _run_two(lambda pid: cmd + ["--workdir", str(two), "--coordinator_address", addr,
                                "--num_processes", "2", "--process_id", str(pid)])
    for name in ("best_designs.csv", "pareto.csv"):
        assert (single / name).read_bytes() == (two / name).read_bytes(), name
    summary = json.loads((two / "summary.json").read_text())
    assert summary["n_processes"] == 2 and sum(summary["points_per_process"]) == summary["points"]
    shares = np.asarray(summary["points_per_process"]) / summary["points"]
    assert np.all((shares >= 0.4) & (shares <= 0.6)), shares
    assert summary["points_this_process"] == summary["points_per_process"][0]


@pytest.mark.parametrize("kw,match", [
    (dict(coordinator_address="127.0.0.1:1"), r"also give \['num_processes', 'process_id'\]"),
    (dict(coordinator_address="localhost", num_processes=2, process_id=0), "must be HOST:PORT"),
    (dict(coordinator_address="h:1", num_processes=2, process_id=2), "0 <= process_id < num_processes"),
])
def test_bad_distributed_arguments_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        dist.initialize(**kw)


def test_single_process_needs_no_coordinator():
    assert dist.initialize() == (0, 1)
    assert dist.initialize("h:1", 1, 0) == (0, 1)


def _without_times(x):
    """``x`` (result.json / details.json) without wall times and the per-process record."""
    if isinstance(x, dict):
        return {k: _without_times(v) for k, v in x.items()
                if k not in ("wall_s", "wall_s_phases", "wall_s_total", "distributed", "seconds")}
    if isinstance(x, list):
        return [_without_times(v) for v in x]
    return x


def test_semi_decoupled_on_two_processes_equals_one_process(tmp_path):
    cmd = [sys.executable, os.path.join(ROOT, "experiments", "semi_decoupled.py"), "--config",
           os.path.join(ROOT, "configs", "semi_decoupled_tiny.py")]
    single = tmp_path / "one"
    subprocess.run(cmd + ["--workdir", str(single)], check=True, cwd=ROOT, timeout=600, capture_output=True)
    addr, two = _port(), tmp_path / "two"
    _run_two(lambda pid: cmd + ["--workdir", str(two), "--coordinator_address", addr,
                                "--num_processes", "2", "--process_id", str(pid)], timeout=600)
    for name in ("result.json", "details.json"):
        a, b = (json.loads((d / name).read_text()) for d in (single, two))
        assert _without_times(a) == _without_times(b), name
    dist_rec = json.loads((two / "details.json").read_text())["distributed"]
    total = json.loads((single / "result.json").read_text())["exhaustive"]["points_evaluated"]
    assert dist_rec["n_processes"] == 2
    assert 0.4 * total <= dist_rec["exhaustive_points_this_process"] <= 0.6 * total, (dist_rec, total)
