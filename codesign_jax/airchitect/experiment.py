"""The AIRCHITECT experiment (``experiments/airchitect.py``): labels -> training -> held-out metrics.

``run(config, workdir)``:

1. samples the training, validation and test workloads of ``config.case`` (seeded per split) and
   labels them by exhaustive search with the exact cost model (timed: ``label_seconds``);
2. trains each model of ``config.models`` (ours: :class:`CostHead`; baseline: the paper-style
   :class:`EmbedMLP`) with checkpoints in ``workdir/checkpoints/<model>`` (a rerun resumes);
3. scores the held-out predictions with the exact cost of each predicted configuration, times the
   saved predictor against the exhaustive search on the same queries, and writes
   ``metrics.json``, ``curves.png`` and ``predictor/`` (``predictor_baseline/``) to ``workdir``.
"""

from __future__ import annotations

import json
import logging
import os
import time

import numpy as np

from codesign_jax.airchitect._case import Case, Labels
from codesign_jax.airchitect._models import Standardizer
from codesign_jax.airchitect._predictor import Predictor
from codesign_jax.airchitect._registry import make_case
from codesign_jax.airchitect._train import train_model

__all__ = ["load_split", "metrics_of", "run"]

_log = logging.getLogger("codesign_jax.airchitect")
_SPLITS = {"train": 0, "val": 1, "test": 2}


def _save_split(path: str, x: dict, lab: Labels) -> None:
    arrs = {f"in_{k}": v for k, v in x.items()}
    arrs.update(label=lab.label, opt_cost=lab.opt_cost, optimal=np.packbits(lab.optimal, axis=1),
                feasible=np.packbits(lab.feasible, axis=1), n_classes=lab.optimal.shape[1])
    if lab.log_cost is not None:
        arrs["log_cost"] = lab.log_cost
    arrs.update({f"extra_{k}": v for k, v in lab.extra.items()})
    np.savez(path, **arrs)


def _load_split(path: str) -> tuple[dict, Labels]:
    z = np.load(path)
    C = int(z["n_classes"])
    x = {k[3:]: z[k] for k in z.files if k.startswith("in_")}
    unpack = lambda a: np.unpackbits(a, axis=1, count=C).astype(bool)
    lab = Labels(label=z["label"], opt_cost=z["opt_cost"], optimal=unpack(z["optimal"]),
                 feasible=unpack(z["feasible"]),
                 log_cost=z["log_cost"] if "log_cost" in z.files else None,
                 extra={k[6:]: z[k] for k in z.files if k.startswith("extra_")})
    return x, lab


def load_split(case: Case, split: str, n: int, seed: int, cache_dir: str | None = None,
               progress: bool = False) -> tuple[dict, Labels, float]:
    """``(inputs, labels, label_seconds)`` of one split: ``n`` samples from
    ``default_rng([seed, split_id])``, labelled exactly (cached as ``cache_dir/<split>.npz``)."""
    path = None if cache_dir is None else os.path.join(cache_dir, f"{split}_{n}_{seed}.npz")
    if path is not None and os.path.isfile(path):
        x, lab = _load_split(path)
        with open(path + ".json") as f:
            return x, lab, float(json.load(f)["label_seconds"])
    x = case.sample(np.random.default_rng([seed, _SPLITS[split]]), n)
    t0 = time.perf_counter()
    lab = case.label(x, progress=progress)
    secs = time.perf_counter() - t0
    _log.info("labelled %d %s samples in %.1f s", n, split, secs)
    if path is not None:
        os.makedirs(cache_dir, exist_ok=True)
        _save_split(path, x, lab)
        with open(path + ".json", "w") as f:
            json.dump({"label_seconds": secs}, f)
    return x, lab, secs


def metrics_of(scored: dict) -> dict:
    """Held-out metrics from :meth:`Case.score` output (``correct``, ``ratio``)."""
    r = np.asarray(scored["ratio"], np.float64)
    return {"test_accuracy": float(np.mean(scored["correct"])),
            "geomean_perf_ratio": float(np.exp(np.mean(np.log(r)))),
            "min_perf_ratio": float(np.min(r)), "within_1pct": float(np.mean(r >= 0.99))}


def _plot(curves: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, h in curves.items():
        if len(h) > 1:
            ax[0].plot(h[1:, 0], h[1:, 1], label=name)
        ax[1].plot(h[:, 0], h[:, 2], marker=".", label=name)
    ax[0].set(xlabel="step", ylabel="training loss (mean since last eval)", yscale="log")
    ax[1].set(xlabel="step", ylabel="validation accuracy", ylim=(0, 1))
    for a in ax:
        a.grid(alpha=0.3)
        a.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _latency(pred: Predictor, case: Case, x: dict, n: int, n_single: int = 20) -> dict:
    """Per-query microseconds of the predictor (model only, and ``predict``: with the exact cost
    of its answer) and of the exhaustive search, on the same queries, measured side by side in
    this process after an untimed warm-up call of the same shape (compilation excluded for
    both): the first ``n`` queries as one batch, and the first ``n_single`` one at a time."""
    q = {k: v[:n] for k, v in x.items()}
    out = {"queries": int(len(q[case.input_names[0]]))}
    fns = (("model_only", lambda z: pred.classes(case.check(z))),
           ("predict", lambda z: pred.predict(**z)),
           ("exhaustive_search", lambda z: case.label(case.check(z))))
    for name, fn in fns:
        fn(q)
        t0 = time.perf_counter()
        fn(q)
        out[f"{name}_us_per_query"] = (time.perf_counter() - t0) / out["queries"] * 1e6
    out["search_over_predict"] = out["exhaustive_search_us_per_query"] / out["predict_us_per_query"]
    singles = [{k: v[i:i + 1] for k, v in x.items()} for i in range(min(n_single, out["queries"]))]
    out["single_queries"] = len(singles)
    for name, fn in fns[1:]:
        fn(singles[0])
        t0 = time.perf_counter()
        for z in singles:
            fn(z)
        out[f"{name}_single_us"] = (time.perf_counter() - t0) / len(singles) * 1e6
    out["search_over_predict_single"] = (out["exhaustive_search_single_us"]
                                         / out["predict_single_us"])
    return out


def run(config, workdir: str, *, stop_after: int | None = None) -> dict:
    """Runs the experiment (module doc); returns the metrics written to ``metrics.json``.

    ``stop_after``: stop training after this many steps per model as if interrupted (tests).
    """
    os.makedirs(workdir, exist_ok=True)
    case = make_case(config.case, **config.case_params)
    cache = os.path.join(workdir, "data") if config.cache_data else None
    data, label_secs = {}, {}
    for split, n in (("train", config.n_train), ("val", config.n_val), ("test", config.n_test)):
        x, lab, secs = load_split(case, split, int(n), int(config.seed), cache,
                                  bool(config.progress))
        data[split], label_secs[split] = (x, lab), secs
    std = Standardizer.fit(case.features(data["train"][0]))
    metrics = {"case": config.name, "case_study": case.name, "n_train": int(config.n_train),
               "n_val": int(config.n_val), "n_test": int(config.n_test),
               "n_classes": case.n_classes, "label_seconds": float(sum(label_secs.values())),
               "label_seconds_by_split": label_secs}
    curves = {}
    for name in config.models:
        mc = config[name]
        spec = dict(mc.model)
        if spec["kind"] == "embed":
            spec["bucket_sizes"] = tuple(int(b) for b in case.bucket_sizes)
        spec["n_classes"] = case.n_classes
        pred = Predictor(case, spec, None, None if spec["kind"] == "embed" else std)
        inputs = {s: pred.model_inputs(data[s][0]) for s in ("train", "val")}
        res = train_model(spec, inputs["train"], data["train"][1], inputs["val"], data["val"][1],
                          mc.train, os.path.join(workdir, "checkpoints", name),
                          seed=int(config.seed), stop_after=stop_after,
                          progress=bool(config.progress))
        pred.params = res.params
        pred.save(os.path.join(workdir, "predictor" if name == "ours" else f"predictor_{name}"))
        x_te, lab_te = data["test"]
        m = metrics_of(case.score(x_te, pred.classes(x_te), lab_te))
        m.update(n_test=int(config.n_test), train_seconds=res.seconds, train_steps=res.steps,
                 label_seconds=metrics["label_seconds"], model=spec["kind"])
        if case.params.get("rerank", 1) > 1:
            # the same model answering alone (its best-scoring class, no exact checks)
            alone = make_case(case.name, **{**case.params, "rerank": 1})
            m["model_only"] = metrics_of(alone.score(
                x_te, Predictor(alone, spec, res.params, pred.standardizer).classes(x_te), lab_te))
        if len(res.history):
            m["val_accuracy_at_init"] = float(res.history[0, 2])
        if name == "ours":
            m["latency"] = _latency(pred, case, x_te, int(config.latency_queries))
            metrics.update(m)
        else:
            metrics[name] = m
        curves[name] = res.history
        _log.info("%s %s: %s", config.name, name, m)
    _plot(curves, os.path.join(workdir, "curves.png"))
    with open(os.path.join(workdir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    return metrics
