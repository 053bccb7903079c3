"""Gradient search vs random, evolution and Bayesian search at equal evaluations (``experiments/relaxed_search.py``).

``run(config, workdir)`` takes ``config.n_cases`` GEMM workloads (the distinct GEMMs of the shipped
networks, then seeded random ones), finds each one's exhaustive optimum of the objective on the
legal grid with :func:`codesign_jax.sweep.sweep`, and runs every method with ``config.evaluations``
cost-model evaluations per case (the gradient search may use fewer, never more):

* ``gradient``: :func:`~codesign_jax.relax.make_search` (``config.gradient``);
* ``random``: :func:`~codesign_jax.relax.random_search`;
* ``evolution``: :func:`~codesign_jax.relax.cmaes_search` (evosax CMA-ES, vmapped over cases);
* ``bayesopt``: :func:`~codesign_jax.relax.optuna_search` (optuna TPE; its sampler costs O(trials)
  per trial on the host, so it runs on ``config.bayesopt_cases`` evenly spaced cases, all when 0).

Every number compared is the exact model's. Writes to ``workdir``: ``result.json`` (``n_cases``,
``evaluations_per_method`` and ``median_ratio_<method>``, ratio = optimal / found objective, 1.0 =
optimal), ``details.json`` (per method: evaluations used, seconds, quantiles, the same statistics on
the Bayesian-optimization subset), ``cases.csv`` (per case: shape, optimum, each method's find) and
``ratios.png`` (the distributions). A method's results are cached in ``workdir/cache`` under a hash
of the configuration, so a rerun resumes where it stopped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from codesign_jax.hardware import DATAFLOWS
from codesign_jax.relax._baselines import cmaes_search, optuna_search, point_evaluator, random_search
from codesign_jax.relax._optimize import make_search, search_evaluations
from codesign_jax.relax._problem import Problem, systolic_problem, systolic_workloads
from codesign_jax.sweep import sweep
from codesign_jax.topology import load_topology, shipped_topologies, shipped_topology_path
from codesign_jax.workloads import Gemm

__all__ = ["METHODS", "case_workloads", "problem_from_config", "run"]

METHODS = ("gradient", "random", "evolution", "bayesopt")
_GEMM = ("M", "N", "K", "ifmap_unique", "ifmap_valid")


def case_workloads(config) -> tuple[list, Gemm]:
    """``(names, Gemm [n_cases])``: distinct GEMMs of ``config.networks`` (SCALE-Sim's lowering, in
    file order), then random GEMMs (``config.random_gemm``: log-uniform ``M, N, K`` ranges)."""
    names, rows, seen = [], [], set()
    shipped = shipped_topologies()
    for net in config.networks:
        if net not in shipped:
            raise ValueError(f"config.networks: {net!r} is not a shipped topology ({sorted(shipped)}).")
        topo = load_topology(shipped_topology_path(net), shipped[net])
        for i, name in enumerate(topo.layer_names):
            key = tuple(int(np.asarray(getattr(topo.gemm, f))[i]) for f in _GEMM)
            if key not in seen and len(rows) < config.n_cases:
                seen.add(key)
                names.append(f"{net}/{name}")
                rows.append(key)
    rng = np.random.default_rng(config.seed)
    lo, hi = np.log(np.asarray(config.random_gemm.low, float)), np.log(np.asarray(config.random_gemm.high, float))
    while len(rows) < config.n_cases:
        m, n, k = np.round(np.exp(lo + rng.uniform(size=3) * (hi - lo))).astype(int)
        if (m, n, k, m * k, m * k) not in seen:
            seen.add((m, n, k, m * k, m * k))
            names.append(f"random/{len(rows)}")
            rows.append((m, n, k, m * k, m * k))
    cols = np.asarray(rows, np.int64).T
    return names, Gemm(**dict(zip(_GEMM, cols)))


def problem_from_config(config) -> Problem:
    """The :func:`~codesign_jax.relax.systolic_problem` of ``config.grid`` and the budgets."""
    g = config.grid
    return systolic_problem(rows=g.rows, cols=g.cols, ifmap_sram_kb=g.ifmap_sram_kb,
                            filter_sram_kb=g.filter_sram_kb, ofmap_sram_kb=g.ofmap_sram_kb,
                            dataflows=tuple(g.dataflows), objective=config.objective,
                            max_pes=config.max_pes or None, max_area_mm2=config.max_area_mm2 or None,
                            max_sram_kb=config.max_sram_kb or None)


def _gradient_settings(config) -> dict:
    s = dict(config.gradient.to_dict())
    return {k: tuple(v) if isinstance(v, list) else v for k, v in s.items()}


def _check_budgets(config, problem: Problem) -> int:
    n = int(config.evaluations)
    used = search_evaluations(problem, **{k: v for k, v in _gradient_settings(config).items()
                                          if k in ("restarts", "steps", "dataflow_choice", "rounding")})
    if used > n:
        raise ValueError(f"config.gradient spends {used} evaluations per case, more than "
                         f"config.evaluations={n}.")
    if n % config.cmaes.population:
        raise ValueError(f"config.evaluations={n} must be a multiple of config.cmaes.population="
                         f"{config.cmaes.population}.")
    return used


def _cached(workdir: str, key: str, name: str, fn) -> dict:
    """``fn() -> {name: array}``, stored in ``workdir/cache/<name>-<key>.npz`` (reused on a rerun)."""
    path = os.path.join(workdir, "cache", f"{name}-{key}.npz")
    if os.path.exists(path):
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    out = {k: np.asarray(v) for k, v in fn().items()}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path + ".tmp.npz", **out)
    os.replace(path + ".tmp.npz", path)
    return out


def _timed(fn):
    def wrapped():
        t0 = time.perf_counter()
        out = fn()
        out["seconds"] = np.float64(time.perf_counter() - t0)
        return out
    return wrapped


def _exhaustive(problem: Problem, gemm: Gemm):
    space, cost_fn, objective = problem.sweep_space()
    res = sweep(cost_fn, gemm, space, objective, progress=False)
    best = space.grid.points(res.best_index)
    return {"cost": res.best_value, **{f"design_{k}": v for k, v in best.items()},
            "points": np.int64(res.stats.points)}


def _keys(seed: int, salt: int, n: int):
    return jax.random.split(jax.random.fold_in(jax.random.key(seed), salt), n)


def _search_outputs(r) -> dict:
    return {"cost": r.cost, "dataflow": r.dataflow, **{f"design_{k}": v for k, v in r.design.items()}}


def _run_gradient(config, problem, w, n_cases):
    search = jax.jit(jax.vmap(make_search(problem, **_gradient_settings(config))))
    return _search_outputs(jax.device_get(search(w, _keys(config.seed, 1, n_cases))))


def _run_random(config, problem, w, n_cases):
    fn = jax.jit(jax.vmap(lambda wi, k: random_search(problem, wi, k, int(config.evaluations))))
    return _search_outputs(jax.device_get(fn(w, _keys(config.seed, 2, n_cases))))


def _run_evolution(config, problem, w, n_cases):
    fn = jax.jit(jax.vmap(lambda wi, k: cmaes_search(problem, wi, k, int(config.evaluations),
                                                     population=config.cmaes.population,
                                                     sigma=config.cmaes.sigma)))
    return _search_outputs(jax.device_get(fn(w, _keys(config.seed, 3, n_cases))))


def bayesopt_subset(n_cases: int, k: int) -> np.ndarray:
    """``k`` evenly spaced case indices (all cases when ``k`` is 0 or at least ``n_cases``)."""
    if not k or k >= n_cases:
        return np.arange(n_cases)
    return np.unique(np.linspace(0, n_cases - 1, k).round().astype(np.int64))


def _run_bayesopt(config, problem, w, subset):
    evaluate = point_evaluator(problem)
    outs = []
    for i in subset:
        wi = jax.tree.map(lambda a: a[i], w)
        outs.append(optuna_search(problem, wi, int(config.evaluations), seed=config.seed + int(i), evaluate=evaluate))
    return {"case": subset, **_search_outputs(jax.tree.map(lambda *a: np.stack(a), *outs))}


def _stats(r: np.ndarray) -> dict:
    return {"median": float(np.median(r)), "mean": float(np.mean(r)),
            "quantiles_10_25_75_90": [float(x) for x in np.quantile(r, [0.1, 0.25, 0.75, 0.9])],
            "min": float(np.min(r)), "within_1pct": float(np.mean(r >= 0.99)),
            "within_2pct": float(np.mean(r >= 0.98)), "optimal": float(np.mean(r >= 1 - 1e-12))}


def _plot(path: str, ratios: dict, evaluations: int, objective: str):
    import matplotlib  # noqa: PLC0415
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    unit = {"edp": "EDP (pJ x cycles)", "latency": "latency (cycles)", "energy": "energy (pJ)"}[objective]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, r in ratios.items():
        x = np.sort(r)
        ax0.step(x, np.arange(1, len(x) + 1) / len(x), where="post", label=f"{name} (n={len(x)})")
    ax0.set_xlabel(f"optimal / found {unit} (1.0 = grid optimum)")
    ax0.set_ylabel("fraction of cases with ratio <= x")
    ax0.set_title(f"{evaluations} evaluations per method and case")
    ax0.legend(loc="upper left")
    ax0.grid(alpha=0.3)
    ax1.boxplot(list(ratios.values()), whis=(5, 95))
    ax1.set_xticks(range(1, len(ratios) + 1), list(ratios))
    ax1.set_ylabel(f"optimal / found {unit}")
    ax1.set_title("per-case ratio (whiskers 5-95%)")
    ax1.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(config, workdir: str) -> dict[str, Any]:
    """Runs the study (see the module doc); returns ``result.json``'s contents."""
    os.makedirs(workdir, exist_ok=True)
    names, gemm = case_workloads(config)
    problem = problem_from_config(config)
    used = _check_budgets(config, problem)
    n = len(names)
    key = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:12]
    w = jax.tree.map(jnp.asarray, systolic_workloads(gemm))
    subset = bayesopt_subset(n, int(config.bayesopt_cases))
    runs = {
        "exhaustive": lambda: _exhaustive(problem, gemm),
        "gradient": lambda: _run_gradient(config, problem, w, n),
        "random": lambda: _run_random(config, problem, w, n),
        "evolution": lambda: _run_evolution(config, problem, w, n),
        "bayesopt": lambda: _run_bayesopt(config, problem, w, subset),
    }
    out = {name: _cached(workdir, key, name, _timed(fn)) for name, fn in runs.items()}
    best = out["exhaustive"]["cost"]
    ratios = {m: best[out[m]["case"]] / out[m]["cost"] if m == "bayesopt" else best / out[m]["cost"]
              for m in METHODS}
    result = {"n_cases": n, "evaluations_per_method": int(config.evaluations)}
    result.update({f"median_ratio_{m}": float(np.median(ratios[m])) for m in METHODS})
    evals = {"gradient": used, "random": int(config.evaluations), "evolution": int(config.evaluations),
             "bayesopt": int(config.evaluations)}
    details = {
        "config": config.to_dict(), "problem": {"parameters": {p.name: list(p.values) for p in problem.params},
                                                "dataflows": list(problem.dataflows), "grid_size": problem.grid_size},
        "exhaustive": {"points": int(out["exhaustive"]["points"]), "seconds": float(out["exhaustive"]["seconds"])},
        "bayesopt_cases": [int(i) for i in subset],
        "methods": {m: {"evaluations_per_case": evals[m], "seconds": float(out[m]["seconds"]),
                        "cases": int(len(ratios[m])), **_stats(ratios[m]),
                        "on_bayesopt_cases": _stats(ratios[m] if m == "bayesopt" else ratios[m][subset])}
                    for m in METHODS}}
    with open(os.path.join(workdir, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(workdir, "details.json"), "w") as f:
        json.dump(details, f, indent=1, default=lambda x: x.tolist() if hasattr(x, "tolist") else str(x))
    _write_cases(os.path.join(workdir, "cases.csv"), names, gemm, problem, out, ratios)
    if config.plot:
        _plot(os.path.join(workdir, "ratios.png"), ratios, int(config.evaluations), config.objective)
    return result


def _write_cases(path: str, names, gemm: Gemm, problem: Problem, out: dict, ratios: dict):
    bo = {int(c): j for j, c in enumerate(out["bayesopt"]["case"])}
    cols = ["case", "name", "M", "N", "K", "optimum"] + [f"opt_{p}" for p in problem.names] + ["opt_dataflow"]
    cols += [f"{m}_{x}" for m in METHODS for x in ("found", "ratio")]
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(cols)
        for i, name in enumerate(names):
            ex = out["exhaustive"]
            row = [i, name, int(gemm.M[i]), int(gemm.N[i]), int(gemm.K[i]), repr(float(ex["cost"][i]))]
            row += [int(ex[f"design_{p.name}"][i]) if f"design_{p.name}" in ex else int(p.values[0])
                    for p in problem.params]  # a one-value axis is a fixed field of the sweep
            row += [DATAFLOWS[int(ex["design_dataflow"][i])] if "design_dataflow" in ex else problem.dataflows[0]]
            for m in METHODS:
                j = bo.get(i) if m == "bayesopt" else i
                row += ["", ""] if j is None else [repr(float(out[m]["cost"][j])), f"{ratios[m][j]:.6f}"]
            wr.writerow(row)
