"""Gradient search on the relaxed systolic model vs random, CMA-ES and Bayesian search (issue 12).

    python experiments/relaxed_search.py --config configs/relaxed_search.py --workdir out/relaxed

Writes result.json, details.json, cases.csv and ratios.png to --workdir (see
``codesign_jax.relax.experiment``); reruns reuse the per-method results cached there.
"""

from absl import app, flags
from ml_collections import config_flags

import codesign_jax  # noqa: F401  (enables x64)
from codesign_jax.relax.experiment import run

_CONFIG = config_flags.DEFINE_config_file("config", None, "Study configuration file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for the outputs.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}.")
    result = run(_CONFIG.value, _WORKDIR.value)
    print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()))


if __name__ == "__main__":
    app.run(main)
