"""AIRCHITECT case studies: exhaustive-search labels -> Flax classifiers -> held-out metrics.

    python experiments/airchitect.py --config configs/airchitect_case1.py --workdir out/case1
    python experiments/airchitect.py --config configs/airchitect_case1.py --workdir out/case1 \
        --config.n_train=100000 --config.ours.train.steps=2000

Writes metrics.json, curves.png, predictor/ (ours) and predictor_baseline/ to --workdir;
rerunning with the same --workdir resumes training from its checkpoints. Then:

    from codesign_jax.airchitect import Predictor
    Predictor.load("out/case1").predict(M, N, K, budget)

Logic lives in ``codesign_jax.airchitect.experiment.run``.
"""

from absl import app, flags, logging
from ml_collections import config_flags

import codesign_jax  # noqa: F401  (enables x64)
from codesign_jax.airchitect.experiment import run

_CONFIG = config_flags.DEFINE_config_file("config", None, "AIRCHITECT configuration file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for data, checkpoints and outputs.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}.")
    logging.set_verbosity(logging.INFO)
    m = run(_CONFIG.value, _WORKDIR.value)
    for name, r in [("ours", m)] + [(k, m[k]) for k in _CONFIG.value.models if k != "ours"]:
        print(f"{m['case']} {name}: accuracy {r['test_accuracy']:.4f}, geomean perf ratio "
              f"{r['geomean_perf_ratio']:.5f}, min {r['min_perf_ratio']:.4f}, within 1% "
              f"{r['within_1pct']:.4f} on {r['n_test']} held-out samples; train "
              f"{r['train_seconds']:.0f} s")
    print(f"labels: {m['label_seconds']:.0f} s; outputs in {_WORKDIR.value}")


if __name__ == "__main__":
    app.run(main)
