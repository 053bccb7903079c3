r"""SCALE-Sim's shipped examples through our CLI, one subprocess per run: seconds, peak RSS, exit code.

    python experiments/benchmark.py --suite=scalesim_examples --scalesim_repo DIR --json OUT.json
    python experiments/bench_scalesim_examples.py --scalesim_repo DIR --json OUT.json
    python experiments/bench_scalesim_examples.py --table_from OUT.json    # the README table

``DIR`` is a checkout of scalesim-project/scale-sim-v2 (only its ``configs/`` and ``topologies/``
are read), or ``benchmarks/scalesim_examples`` (a copy of those, outside the package). Runs ``configs/{eyeriss,google,scale}.cfg`` x
``topologies/conv_nets/*.csv`` with ``-i conv`` and x ``topologies/GEMM_mnk/*.csv`` with
``-i gemm``, each as ``python -m codesign_jax.scalesim -c CFG -t TOPO -p TMP -i KIND`` in its own
process. Peak RSS is the child's own VmHWM, written at exit by a launcher (``os.wait4``'s ``ru_maxrss`` as fallback); a watchdog also polls its
resident size and kills it above ``--rss_cap_mib`` or after ``--timeout_s`` (so a regression cannot
take the machine down). A tab-separated topology (``UNet_maestro.csv``) is expected to exit 2 with
a message naming the file; every other run is expected to exit 0.
"""

from __future__ import annotations

import glob
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from absl import app, flags

__all__ = ["example_runs", "run_one", "run_scalesim_examples_suite", "run_from_flags"]

CONFIGS = ("eyeriss", "google", "scale")
#: Topologies SCALE-Sim ships that are not comma-separated SCALE-Sim tables: the CLI must exit 2.
EXPECTED_EXIT_2 = ("UNet_maestro.csv",)


def example_runs(repo: str, only: str | None = None) -> list[dict]:
    """Every (config, topology, input type) run of SCALE-Sim's shipped examples, sorted.

    Args:
      repo: root of a scale-sim-v2 checkout (``configs/``, ``topologies/``).
      only: keep runs whose topology file name contains this text.
    """
    repo = os.path.abspath(repo)        # each run's process starts in its own directory
    runs = []
    for cfg in CONFIGS:
        cpath = os.path.join(repo, "configs", f"{cfg}.cfg")
        if not os.path.isfile(cpath):
            raise ValueError(f"--scalesim_repo {repo!r}: missing configs/{cfg}.cfg.")
        for kind, sub in (("conv", "conv_nets"), ("gemm", "GEMM_mnk")):
            topos = sorted(glob.glob(os.path.join(repo, "topologies", sub, "*.csv")))
            if not topos:
                raise ValueError(f"--scalesim_repo {repo!r}: no topologies/{sub}/*.csv.")
            for t in topos:
                name = os.path.basename(t)
                if only and only not in name:
                    continue
                runs.append({"config": cfg, "topology": f"{sub}/{name}", "input_type": kind,
                             "cfg_path": cpath, "topo_path": t,
                             "expected_exit": 2 if name in EXPECTED_EXIT_2 else 0})
    return runs


def _watch(pid, done, state, rss_cap_mib, timeout_s, period=0.05):
    """Polls the child's resident size; kills it above the cap or past the timeout."""
    import psutil

    try:
        p = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    t_end = time.monotonic() + timeout_s
    while not done.is_set():
        try:
            rss = p.memory_info().rss / 2**20
        except psutil.Error:
            return
        state["polled_peak_mib"] = max(state.get("polled_peak_mib", 0.0), rss)
        if rss > rss_cap_mib or time.monotonic() > t_end:
            state["killed"] = f"rss {rss:.0f} MiB > cap" if rss > rss_cap_mib else "timeout"
            if not done.is_set():
                os.kill(pid, signal.SIGKILL)
            return
        done.wait(period)


# The CLI run through a launcher that writes its own peak resident size (VmHWM: this process's
# memory only) to $CODESIGN_PEAK_FILE at exit. wait4's ru_maxrss is not enough: on Linux a child
# inherits its parent's high-water mark across fork/vfork + exec, so a child of a large process
# (a test runner) would report the parent's size.
_LAUNCHER = (
    "import atexit, os, runpy, sys\n"
    "def _peak():\n"
    "    try:\n"
    "        with open('/proc/self/status') as f:\n"
    "            kib = [l.split()[1] for l in f if l.startswith('VmHWM:')][0]\n"
    "        with open(os.environ['CODESIGN_PEAK_FILE'], 'w') as f:\n"
    "            f.write(kib)\n"
    "    except (OSError, IndexError, KeyError):\n"
    "        pass\n"
    "atexit.register(_peak)\n"
    "sys.argv[0] = 'codesign_jax.scalesim'\n"
    "runpy.run_module('codesign_jax.scalesim', run_name='__main__', alter_sys=True)\n")


def _peak_rss_mib(peak_file: str, usage) -> float:
    """The child's own VmHWM (MiB) when it wrote one, else wait4's ru_maxrss (an upper bound)."""
    try:
        with open(peak_file) as f:
            return round(int(f.read().strip()) / 1024.0, 1)
    except (OSError, ValueError):
        return round(usage.ru_maxrss / 1024.0, 1)          # Linux: KiB


def run_one(run: dict, rss_cap_mib: float, timeout_s: float, keep: str | None = None) -> dict:
    """One CLI run in a subprocess; returns the run dict plus exit code, seconds, peak RSS.

    ``keep``: copy the run's report directory to ``keep/<config>/<kind>_<topology stem>/``.
    """
    with tempfile.TemporaryDirectory() as logdir:
        cmd = [sys.executable, "-c", _LAUNCHER, "-c", run["cfg_path"],
               "-t", run["topo_path"], "-p", logdir, "-i", run["input_type"]]
        out_path, err_path = os.path.join(logdir, ".stdout"), os.path.join(logdir, ".stderr")
        with open(out_path, "w") as fo, open(err_path, "w") as fe:
            load = round(os.getloadavg()[0], 2)     # other work on this (shared) machine
            t0 = time.perf_counter()
            # cwd: the run's own directory, so that `-m` imports the installed / PYTHONPATH
            # codesign_jax rather than whatever checkout the suite was started from
            peak_file = os.path.join(logdir, ".peak_rss_kib")
            proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, cwd=logdir,
                                    env=dict(os.environ, CODESIGN_PEAK_FILE=peak_file))
            done, state = threading.Event(), {}
            w = threading.Thread(target=_watch,
                                 args=(proc.pid, done, state, rss_cap_mib, timeout_s),
                                 daemon=True)
            w.start()
            # os.wait4 (not Popen.wait) so that this child's own rusage comes back
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            except BaseException:               # interrupted: leave no run behind
                proc.kill()
                os.wait4(proc.pid, 0)
                raise
            dt = time.perf_counter() - t0
            done.set()
            proc.returncode = os.waitstatus_to_exitcode(status)
            w.join()
        out, err = open(out_path).read(), open(err_path).read()
        peak = _peak_rss_mib(peak_file, usage)
        if keep:
            stem = os.path.splitext(os.path.basename(run["topo_path"]))[0]
            dst = os.path.join(keep, run["config"], f"{run['input_type']}_{stem}")
            for d in glob.glob(os.path.join(logdir, "*", "")):
                shutil.copytree(d, dst, dirs_exist_ok=True)
    rc = proc.returncode
    res = {k: v for k, v in run.items() if not k.endswith("_path")}
    res.update({"exit_code": rc, "seconds": round(dt, 3), "load_avg_1min": load,
                "peak_rss_mib": peak,
                "killed": state.get("killed"),
                "ok": rc == run["expected_exit"] and state.get("killed") is None,
                "stdout_tail": out.strip().splitlines()[-3:] if out.strip() else [],
                "stderr_tail": err.strip().splitlines()[-2:] if err.strip() else []})
    if run["expected_exit"] == 2:
        res["ok"] = res["ok"] and os.path.basename(run["topo_path"]) in err
    return res


def run_scalesim_examples_suite(repo: str, *, only: str | None = None, rss_cap_mib: float = 6144,
                                timeout_s: float = 1800, keep: str | None = None,
                                log=print) -> dict:
    """Runs :func:`example_runs` one after another; returns the JSON-able summary."""
    runs = example_runs(repo, only)
    with tempfile.TemporaryDirectory() as d:
        probe = subprocess.run(
            [sys.executable, "-c", "import codesign_jax, os, subprocess; p = os.path.dirname("
             "codesign_jax.__file__); print(p); print(subprocess.run(['git', '-C', p, 'rev-parse',"
             " 'HEAD'], capture_output=True, text=True).stdout.strip())"],
            capture_output=True, text=True, cwd=d)
    package, commit = (probe.stdout.splitlines() + ["?", "?"])[:2]
    log(f"codesign_jax from {package} (commit {commit})")
    results = []
    for i, r in enumerate(runs):
        res = run_one(r, rss_cap_mib, timeout_s, keep)
        results.append(res)
        log(f"[{i + 1}/{len(runs)}] {r['config']:8s} {r['topology']:36s} exit {res['exit_code']}"
            f" {res['seconds']:8.2f} s {res['peak_rss_mib']:8.1f} MiB"
            + (f" KILLED ({res['killed']})" if res["killed"] else "")
            + ("" if res["ok"] else " NOT OK"))
    ok = [r for r in results if r["ok"]]
    secs = [r["seconds"] for r in results]
    rss = [r["peak_rss_mib"] for r in results]
    return {
        "suite": "scalesim_examples",
        "scalesim_repo": os.path.abspath(repo),
        "command": "python -m codesign_jax.scalesim -c CFG -t TOPO -p TMP -i conv|gemm",
        "codesign_jax": package, "commit": commit,
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(),
                 "python": platform.python_version()},
        "rss_cap_mib": rss_cap_mib, "timeout_s": timeout_s,
        "n_runs": len(results), "n_ok": len(ok),
        "n_killed": sum(r["killed"] is not None for r in results),
        "max_seconds": max(secs) if secs else None,
        "total_seconds": round(sum(secs), 3),
        "max_peak_rss_mib": max(rss) if rss else None,
        "runs": results,
    }


FLAGS = flags.FLAGS
flags.DEFINE_string("scalesim_repo", None,
                    "scalesim_examples: scale-sim-v2 checkout (its configs/ and topologies/).")
flags.DEFINE_string("only", None, "scalesim_examples: only topology files containing this text.")
flags.DEFINE_float("rss_cap_mib", 6144, "scalesim_examples: kill a run above this resident size.")
flags.DEFINE_float("timeout_s", 1800, "scalesim_examples: kill a run that takes longer.")
flags.DEFINE_string("keep_reports", None, "scalesim_examples: copy each run's reports here.")
if __name__ == "__main__":
    flags.DEFINE_string("json", None, "Write the results here as JSON.")
    flags.DEFINE_string("table_from", None, "Print the README table of this JSON and exit.")


def run_from_flags() -> dict:
    """The suite with this module's flags (``benchmark.py --suite=scalesim_examples`` too)."""
    if not FLAGS.scalesim_repo:
        raise app.UsageError("--scalesim_repo DIR (a scale-sim-v2 checkout) is required.")
    return run_scalesim_examples_suite(FLAGS.scalesim_repo, only=FLAGS.only,
                                       rss_cap_mib=FLAGS.rss_cap_mib, timeout_s=FLAGS.timeout_s,
                                       keep=FLAGS.keep_reports)


def summary_line(out: dict) -> str:
    return (f"{out['n_ok']}/{out['n_runs']} runs as expected, {out['n_killed']} killed, slowest "
            f"{out['max_seconds']:.1f} s, largest peak RSS {out['max_peak_rss_mib']:.0f} MiB")


def markdown_table(out: dict) -> str:
    """One row per topology, one column per config: exit code, peak RSS (MiB), seconds."""
    cells = {}
    for r in out["runs"]:
        cell = f"{r['exit_code']} / {r['peak_rss_mib']:.0f} / {r['seconds']:.1f}"
        if r["killed"] or not r["ok"]:
            cell += " **" + (f"killed: {r['killed']}" if r["killed"] else "not ok") + "**"
        cells.setdefault(r["topology"], {})[r["config"]] = cell
    lines = ["| topology (`-i`) | " + " | ".join(f"{c}.cfg" for c in CONFIGS) + " |",
             "|---|" + "---|" * len(CONFIGS)]
    for topo, row in cells.items():
        kind = "gemm" if topo.startswith("GEMM_mnk/") else "conv"
        lines.append(f"| {topo} ({kind}) | " + " | ".join(row.get(c, "") for c in CONFIGS) + " |")
    return "\n".join(lines)


def main(argv):
    del argv
    if FLAGS.table_from:
        with open(FLAGS.table_from) as f:
            print(markdown_table(json.load(f)))
        return
    out = run_from_flags()
    if FLAGS.json:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.json)), exist_ok=True)
        with open(FLAGS.json, "w") as f:
            f.write(json.dumps(out, indent=2) + "\n")
    print(summary_line(out))


if __name__ == "__main__":
    app.run(main)
