"""Semi-decoupled HW/NN co-design vs the exhaustive joint search on a NAS space x an accelerator grid.

    python experiments/semi_decoupled.py --config configs/semi_decoupled_nb201.py --workdir out/nb201
    python experiments/semi_decoupled.py --config configs/semi_decoupled_alphanet.py --workdir out/alphanet

Writes result.json, details.json and the rank-correlation PNGs to --workdir. Logic lives in
``codesign_jax.codesign.experiment.run``. On several processes (each evaluates its share of the exhaustive
search's accelerators; process 0 writes the outputs), start one per process:

    python experiments/semi_decoupled.py --config ... --workdir ... \
        --coordinator_address 127.0.0.1:12355 --num_processes 2 --process_id {0,1}
"""

from absl import app, flags, logging
from ml_collections import config_flags

import codesign_jax  # noqa: F401  (enables x64)
from codesign_jax.codesign.experiment import run
from codesign_jax.sweep import define_distributed_flags, initialize_distributed_from_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Co-design configuration file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for the outputs.")
_DIST = define_distributed_flags()
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}.")
    process, _ = initialize_distributed_from_flags(_DIST)
    r = run(_CONFIG.value, _WORKDIR.value)
    logging.info("semi-decoupled result: %s", r)
    if process != 0:
        return
    s, e = r["semi_decoupled"], r["exhaustive"]
    opt = s["optimum"]
    if opt["feasible"]:
        print(f"chosen: architecture {opt['arch']} ({opt['architecture']}, accuracy {opt['accuracy']:.2f}%) on "
              f"{opt['accelerator']}: {opt['latency']:.0f} cycles, energy {opt['energy']:.4g}, area {opt['area']:.3g} mm^2")
    else:
        print(f"chosen: none -- {opt['message']}")
    print(f"same optimum as the exhaustive search: {r['same_optimum']}; points {s['points_evaluated']:,} vs "
          f"{e['points_evaluated']:,} (ratio {r['points_ratio']:.0f}); wall {s['wall_s']['total']:.1f} s vs "
          f"{e['wall_s']['total']:.1f} s; recovery over random budgets {r['recovery_rate']:.3f}; Spearman min "
          f"latency {r['spearman_latency_min']:.3f}, energy {r['spearman_energy_min']:.3f}")
    print(f"outputs: {_WORKDIR.value}/result.json, details.json, rank_heatmap.png, rank_scatter.png")


if __name__ == "__main__":
    app.run(main)
