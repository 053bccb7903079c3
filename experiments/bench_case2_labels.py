"""AIRCHITECT case 2 labelling speed: the pruned search (``sram_case(prune=True)``, the default)
against the plain tiered search (``prune=False``) on the same samples, in one run.

Both use the same jitted USER-mode lane pool (compiled once up front on a few warm-up samples, not
timed). The plain search runs on the first ``--n_plain`` samples only (it is ~10x slower); the
labels, tie sets, reference and optimum cycles of those samples must be identical.

  python experiments/bench_case2_labels.py --n 2000 --n_plain 200 --out benchmarks/x.json
"""

from __future__ import annotations

import json
import time

import numpy as np
from absl import app, flags

from codesign_jax.airchitect import sram_case

_N = flags.DEFINE_integer("n", 2000, "samples labelled by the pruned search")
_N_PLAIN = flags.DEFINE_integer("n_plain", 200, "of those, samples labelled by the plain search")
_SEED = flags.DEFINE_integer("seed", 1, "sampling seed")
_OUT = flags.DEFINE_string("out", None, "JSON output path")


def bench(n: int, n_plain: int, seed: int) -> dict:
    case = sram_case()
    x = case.sample(np.random.default_rng(seed), n)
    for prune in (True, False):    # compile the pool (every lane count the tails reach)
        sram_case(prune=prune).label(case.sample(np.random.default_rng(seed + 100), 300))
    out = {"n": n, "n_plain": n_plain, "seed": seed, "params": case.params}
    labs = {}
    for name, prune, m in (("pruned", True, n), ("plain", False, n_plain)):
        xs = {k: v[:m] for k, v in x.items()}
        t0 = time.perf_counter()
        lab = sram_case(prune=prune).label(xs)
        secs = time.perf_counter() - t0
        labs[name] = lab
        out[name] = {"samples": m, "seconds": secs, "samples_per_s": m / secs,
                     "points_per_sample": float(lab.extra["evaluated"].mean()),
                     "points_per_s": float(lab.extra["evaluated"].sum()) / secs}
        print(name, out[name], flush=True)
    a, b = labs["pruned"].take(np.arange(n_plain)), labs["plain"]
    out["identical"] = bool(np.array_equal(a.label, b.label) and np.array_equal(a.optimal, b.optimal)
                            and all(np.array_equal(a.extra[k], b.extra[k])
                                    for k in ("ref_cycles", "opt_cycles")))
    out["speedup_samples_per_s"] = out["pruned"]["samples_per_s"] / out["plain"]["samples_per_s"]
    return out


def main(argv):
    del argv
    out = bench(_N.value, _N_PLAIN.value, _SEED.value)
    print(json.dumps({k: out[k] for k in ("identical", "speedup_samples_per_s")}))
    if _OUT.value:
        with open(_OUT.value, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    app.run(main)
