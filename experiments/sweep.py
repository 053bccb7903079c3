"""Accelerator design-space sweep: networks x systolic-array grid -> best designs + Pareto front.

    python experiments/sweep.py --config configs/sweep_default.py --workdir out/sweep
    python experiments/sweep.py --config configs/sweep_default.py --workdir out/sweep \
        --config.objective=latency --config.max_macs=4096 --config.networks="('mobilenetv2',)"

Writes best_designs.{csv,json}, pareto.{csv,json}, pareto.png and summary.json to --workdir.
Logic lives in ``codesign_jax.sweep.experiment.run``. On several processes (each evaluates its share
of the design chunks; process 0 writes the outputs), start one per process:

    python experiments/sweep.py --config ... --workdir W \
        --coordinator_address 127.0.0.1:12355 --num_processes 2 --process_id {0,1}
"""

from absl import app, flags, logging
from ml_collections import config_flags

import codesign_jax  # noqa: F401  (enables x64)
from codesign_jax.sweep import define_distributed_flags, initialize_distributed_from_flags
from codesign_jax.sweep.experiment import run

_CONFIG = config_flags.DEFINE_config_file("config", None, "Sweep configuration file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for the outputs.")
flags.mark_flags_as_required(["config", "workdir"])
_DIST = define_distributed_flags()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}.")
    initialize_distributed_from_flags(_DIST)
    summary = run(_CONFIG.value, _WORKDIR.value)
    logging.info("sweep summary: %s", summary)
    print(f"{summary['points']:,} points in {summary['seconds']:.2f} s "
          f"({summary['points_per_s']:.3g} points/s) on {summary['n_processes']} process(es) x "
          f"{summary['n_devices']} {summary['device']} device(s), {summary['points_this_process']:,} "
          f"points in this one; outputs in {_WORKDIR.value}")


if __name__ == "__main__":
    app.run(main)
