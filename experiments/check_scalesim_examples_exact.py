r"""The bounded-memory ifmap walk vs the whole-pass method on the layers of SCALE-Sim's shipped examples.

    python experiments/check_scalesim_examples_exact.py --scalesim_repo benchmarks/scalesim_examples \
        --max_pass_demands 33554432 --json benchmarks/scalesim_examples_exact.json

No real SCALE-Sim output exists for the large examples (SCALE-Sim itself runs out of memory or takes
hours on them), so their exactness is checked one step removed: every conv-ifmap epoch walk the CLI
runs (``refine_calc`` -> ``_conv_ifmap_exact``, same arguments, same dispatch) whose pass is longer
than :data:`~codesign_jax.systolic._exact_reads.WHOLE_PASS` (so the CLI uses the tiled walk) and at
most ``--max_pass_demands`` is also computed by the whole-pass method (materialised pass, wrap-around
reuse distances, ``_epoch_chain``: the method checked against every real SCALE-Sim CALC row in
tests/systolic/test_exact.py), and the two (misses, stop row) are compared. Longer passes are
skipped (the whole-pass method needs O(pass) memory: ~64 bytes a demand).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
from absl import app, flags

from codesign_jax.hardware import SystolicArray
from codesign_jax.scalesim import read_config
from codesign_jax.systolic import _exact, systolic_cost
from codesign_jax.systolic import _exact_reads as XD
from codesign_jax.systolic._exact_tiles import _Stream
from codesign_jax.systolic._exact_walk import conv_ifmap_epochs
from codesign_jax.topology import load_topology

sys.path.insert(0, os.path.dirname(__file__))
from bench_scalesim_examples import example_runs  # noqa: E402

__all__ = ["check_examples"]


def _whole_pass_result(df, R, C, M, K, L, geo, cap, passes):
    """(misses, stop row) by the whole-pass method (_exact_reads, below its WHOLE_PASS branch)."""
    st = _Stream(df, R, C, M, K, L, geo)
    addr, rows = XD._whole_pass(st)
    misses, pos = XD._epoch_chain(XD._periodic_dist(addr), passes, cap)
    if pos < 0:
        return int(misses), -1
    return int(misses), int((pos // addr.size) * st.pass_rows + int(rows[pos % addr.size]))


def check_examples(repo: str, max_pass_demands: int, only: str | None = None, log=print) -> dict:
    """Runs ``systolic_cost(exact=True)`` on every shipped conv example with the ifmap walk
    intercepted: walks in (WHOLE_PASS, max_pass_demands] are computed both ways and compared;
    others are skipped (their report is not used here)."""
    checked, skipped = [], 0
    orig = _exact._conv_ifmap_exact

    def intercept(df, R, C, M, K, L, geo, cap, passes, progress=None):
        nonlocal skipped
        if not XD.WHOLE_PASS < M * K <= max_pass_demands:
            skipped += 1
            return 0, -1
        t0 = time.perf_counter()
        walk = tuple(int(v) for v in conv_ifmap_epochs(df, R, C, M, K, L, geo, cap, passes))
        t1 = time.perf_counter()
        whole = _whole_pass_result(df, R, C, M, K, L, geo, cap, passes)
        t2 = time.perf_counter()
        checked.append({"run": current, "df": df, "R": R, "C": C, "M": M, "K": K, "geo": list(geo),
                        "E": cap, "passes": passes, "walk": list(walk), "whole_pass": list(whole),
                        "equal": tuple(walk) == tuple(whole), "walk_s": round(t1 - t0, 2),
                        "whole_pass_s": round(t2 - t1, 2)})
        log(f"  {current} M={M} K={K} df={df} E={cap} passes={passes}: walk {walk} "
            f"{'==' if checked[-1]['equal'] else '!='} whole pass {whole} "
            f"({t1 - t0:.1f} s / {t2 - t1:.1f} s)")
        return walk

    _exact._conv_ifmap_exact = intercept
    try:
        for r in example_runs(repo, only):
            if r["input_type"] != "conv" or r["expected_exit"]:
                continue
            current = f"{r['config']}:{r['topology']}"
            cfg = read_config(r["cfg_path"])
            cfg.pop("run_name")
            systolic_cost(load_topology(r["topo_path"], "conv").gemm, SystolicArray.create(**cfg),
                          exact=True)
    finally:
        _exact._conv_ifmap_exact = orig
    return {"max_pass_demands": max_pass_demands, "whole_pass_limit": XD.WHOLE_PASS,
            "n_checked": len(checked), "n_equal": sum(c["equal"] for c in checked),
            "n_skipped_longer_or_shorter": skipped, "checked": checked}


FLAGS = flags.FLAGS
# --scalesim_repo and --only come from bench_scalesim_examples
flags.DEFINE_integer("max_pass_demands", 1 << 25, "Check walks whose pass has at most this many demands.")
flags.DEFINE_string("json", None, "Write the results here as JSON.")


def main(argv):
    del argv
    out = check_examples(FLAGS.scalesim_repo, FLAGS.max_pass_demands, FLAGS.only)
    if FLAGS.json:
        with open(FLAGS.json, "w") as f:
            f.write(json.dumps(out, indent=1) + "\n")
    print(f"{out['n_equal']}/{out['n_checked']} walks equal the whole-pass method "
          f"({out['n_skipped_longer_or_shorter']} outside the checked range)")
    return 0 if out["n_equal"] == out["n_checked"] else 1


if __name__ == "__main__":
    app.run(main)
