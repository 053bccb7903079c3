"""The semi-decoupled co-design study (``experiments/semi_decoupled.py``): ``run(config, workdir)``.

Writes to ``workdir``:

* ``result.json``: ``space, n_architectures, n_accelerators, k, semi_decoupled, exhaustive, same_optimum,
  points_ratio, recovery_rate, spearman_latency_min, spearman_energy_min``;
* ``details.json``: the MACs check, every reference variant's recovery (one reference, one per dataflow with
  one k, and with ``family_references`` each dataflow its own reference and k; on ``random.seed``'s held-out
  settings and, with ``random.dev_seed``, as ``<variant>_dev`` on the development settings), the k each
  setting needs, missed settings, every rank-correlation statistic, the paper's own setup (AlphaNet: 1,046
  subnets x its 50 accelerators, kcp_ws vs rs);
* ``rank_heatmap.png``, ``rank_scatter.png`` (and ``paper_rank_heatmap.png``, ``paper_rank_scatter.png``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from typing import Any

import numpy as np

from codesign_jax.codesign._accel import AcceleratorSpace, accelerator_space
from codesign_jax.codesign._objective import objective_from_config
from codesign_jax.codesign._plots import correlation_heatmap, latency_scatter
from codesign_jax.codesign._rank import rank_correlation
from codesign_jax.codesign._search import Choice, best_of, best_pairs
from codesign_jax.codesign._semi import (exhaustive_search, family_references, per_reference_k, reference_points,
                                         semi_decoupled, semi_points, smallest_k, stage1_ranking)
from codesign_jax.codesign._study import random_objectives, rank_study, recovery, take
from codesign_jax.nas import (ArchSpace, alphanet_table, check_macs, distinct_layers, load_space, nb201_arch_str,
                              nb201_table, spatial_network_cost)
from codesign_jax.nas._cli import read_accelerators
from codesign_jax.nas._data import paper_accelerators_path

__all__ = ["describe_arch", "run"]

RESULT_KEYS = ("space", "n_architectures", "n_accelerators", "k", "semi_decoupled", "exhaustive", "same_optimum",
               "points_ratio", "recovery_rate", "spearman_latency_min", "spearman_energy_min")


def describe_arch(space: ArchSpace, arch: int) -> str:
    """A readable description of architecture ``arch`` (index in the full space)."""
    if arch < 0:
        return ""
    if space.name == "nb201":
        return nb201_arch_str(nb201_table()["ops"][arch])
    t = alphanet_table()
    return (f"resolution {t['resolution'][arch]}, kernel {''.join(map(str, t['kernel_size'][arch]))}, expand "
            f"{''.join(map(str, t['expand_ratio'][arch]))}, depth {''.join(map(str, t['depth'][arch]))}")


def _optimum(c: Choice, space: ArchSpace, accel: AcceleratorSpace) -> dict:
    d = c.to_dict()
    d["architecture"] = describe_arch(space, c.arch)
    if c.design >= 0:
        d["accelerator"] = {k: (v[0].item() if hasattr(v[0], "item") else v[0]) for k, v in
                            accel.design([c.design]).items()}
    return d


def _json(x: Any):
    if isinstance(x, dict):
        return {str(k): _json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    return x


def _paper_study(cfg, space: ArchSpace, workdir: str) -> dict:
    """Rank correlation in the paper's setup: the 1,046 kept subnets x its 50 accelerators, kcp_ws and rs."""
    sub = load_space("alphanet", subset="selected_1046")
    hw, acc = read_accelerators(paper_accelerators_path())
    d = distinct_layers(sub.layers)
    lat, en, groups, labels = [], [], [], []
    for df in ("kcp_ws", "rs"):
        c = spatial_network_cost(d, acc, conv_dataflow=df, backend=cfg.backend)
        lat.append(c.runtime_cycles)
        en.append(c.energy_total_xmac)
        groups += [df] * len(hw)
        labels += [f"{df}/{h.split('_')[-1]}" for h in hw]
    lat, en = np.hstack(lat), np.hstack(en)
    rc = rank_correlation(lat, en, np.asarray(groups), kendall=cfg.rank.kendall, top_k=tuple(cfg.rank.top_k))
    kept = rc["accelerators"]
    klabels = [labels[i] for i in kept]
    g = np.asarray(groups)[kept]
    correlation_heatmap(os.path.join(workdir, "paper_rank_heatmap.png"),
                        {k: v for k, v in rc["matrices"].items() if k.startswith("spearman")}, klabels,
                        "Paper setup: 1,046 AlphaNet subnets x 50 accelerators (kcp_ws < 64 PEs rejected)")
    rho = rc["matrices"]["spearman_latency"]
    cross = np.where(g[:, None] != g[None, :], rho, np.inf)
    i, j = np.unravel_index(int(np.argmin(cross)), cross.shape)
    latency_scatter(os.path.join(workdir, "paper_rank_scatter.png"),
                    [(lat[:, kept[i]], lat[:, kept[j]], klabels[i], klabels[j], f"rho={rho[i, j]:.3f}")],
                    "Paper setup: least correlated kcp_ws / rs pair")
    out = {k: v for k, v in rc.items() if k != "matrices"}
    out["accelerators"] = klabels
    out["dropped"] = [labels[i] for i in rc["dropped"]]
    return out


def _variants(cfg, accel: AcceleratorSpace, k: int) -> tuple[dict, dict]:
    """Reference perf points and per-reference k of each stage-1 variant: ``one_reference``, ``per_dataflow``
    (the reference's axes in every dataflow, one k) and, when configured, ``family_references`` (each dataflow
    its own reference and k)."""
    one = reference_points(accel, cfg.reference.to_dict(), per_dataflow=False)
    per = reference_points(accel, cfg.reference.to_dict(), per_dataflow=True)
    refs = {"one_reference": one, "per_dataflow": per}
    ks = {"one_reference": per_reference_k(k, 1), "per_dataflow": per_reference_k(k, per.size)}
    if cfg.get("family_references") is not None:
        refs["family_references"], ks["family_references"] = family_references(accel,
                                                                               cfg.family_references.to_dict())
    return refs, ks


def _axes(accel: AcceleratorSpace, p: int) -> dict:
    return {a: (v[0].item() if hasattr(v[0], "item") else v[0]) for a, v in accel.perf_points([p]).items()}


def _semi_from_table(m, space: ArchSpace, accel: AcceleratorSpace, rk, ks: np.ndarray, settings: list) -> list:
    """Semi-decoupled's choice for each setting, stage 2 cut from the exhaustive table ``m`` (bit-identical)."""
    per_ref = []
    for r in range(rk.perf.size):
        rows = rk.kept(int(ks[r]), r)
        cs = best_pairs(take(m, rows, rk.perf_of(accel, r)), space.accuracy[rows], space.arch_index[rows], settings,
                        accel.n_buffers)
        per_ref.append([dataclasses.replace(c, arch_pos=int(rows[c.arch_pos])) if c.arch_pos >= 0 else c for c in cs])
    return [best_of([cs[i] for cs in per_ref], o) for i, o in enumerate(settings)]


def run(config, workdir: str) -> dict:
    """Runs the study of ``config`` (see ``configs/semi_decoupled_nb201.py``); returns result.json's content.

    Under ``jax.distributed`` (``experiments/semi_decoupled.py --coordinator_address ...``) every process runs
    this; the exhaustive search's perf points are split over the processes, the rest is small and replicated,
    and process 0 writes the outputs (the others write theirs to a temporary directory that is removed)."""
    import jax

    if jax.process_index() != 0:
        with tempfile.TemporaryDirectory() as scratch:
            return _run(config, scratch)
    return _run(config, workdir)


def _run(config, workdir: str) -> dict:
    import jax

    t_start = time.perf_counter()
    os.makedirs(workdir, exist_ok=True)
    cfg = config
    arch = tuple(cfg.space.get("arch", ())) or None
    space = load_space(cfg.space.name, dataset=cfg.space.dataset or None, subset=cfg.space.subset or None,
                       arch=sorted(arch) if arch else None)
    macs = check_macs(space)
    distinct = distinct_layers(space.layers)
    accel = accelerator_space(cfg.accelerators.to_dict())
    objective = objective_from_config(cfg.objective.to_dict())
    k = int(cfg.k)
    if not 1 <= k <= len(space):
        raise ValueError(f"config.k={cfg.k} must lie in [1, {len(space)}].")
    refs, ks = _variants(cfg, accel, k)
    variant = str(cfg.variant)
    if variant not in refs:
        raise ValueError(f"config.variant={variant!r} must be one of {sorted(refs)}.")

    clock = [time.perf_counter()]
    phases = {}

    def lap(name):
        clock.append(time.perf_counter())
        phases[name] = clock[-1] - clock[-2]

    lap("load_space_and_distinct_layers")
    full = exhaustive_search(accel, space, distinct, [objective], backend=cfg.backend)
    lap("exhaustive")
    rankings = {v: stage1_ranking(accel, distinct, space.accuracy, r, per_family=v != "one_reference",
                                  tolerance=cfg.tolerance, backend=cfg.backend) for v, r in refs.items()}
    semi = semi_decoupled(accel, space, distinct, [objective], rankings[variant], ks[variant], backend=cfg.backend)
    stage2_identical = all(
        np.array_equal(part.latency, take(full.metrics, part.rows, part.perf).latency, equal_nan=True)
        and np.array_equal(part.energy, take(full.metrics, part.rows, part.perf).energy, equal_nan=True)
        for part in semi.metrics)
    same = semi.choices[0].same_pair(full.choices[0])
    lap("stage1_all_variants_and_semi_decoupled")

    seeds = {"": int(cfg.random.seed)}
    if cfg.random.get("dev_seed") is not None:
        seeds["_dev"] = int(cfg.random.dev_seed)
    rec = {}
    for tag, seed in seeds.items():
        settings = random_objectives(full.metrics, space.accuracy, int(cfg.random.n), seed, tuple(cfg.random.goals))
        ex = best_pairs(full.metrics, space.accuracy, space.arch_index, settings, accel.n_buffers)
        for v, rk in rankings.items():
            sd = _semi_from_table(full.metrics, space, accel, rk, ks[v], settings)
            r = recovery(ex, sd, [smallest_k(rk, accel, e) for e in ex], tuple(cfg.recovery_k_values), settings)
            r.update(seed=seed, references=[_axes(accel, p) for p in refs[v]], k=ks[v].tolist(),
                     points_ratio=full.points / semi_points(rk, accel, ks[v]),
                     main_objective_k_needed=smallest_k(rk, accel, full.choices[0]))
            rec[v + tag] = r

    lap("random_settings_all_variants")
    rank = rank_study(full.metrics, accel, int(cfg.rank.per_dataflow), int(cfg.rank.seed), bool(cfg.rank.kendall),
                      tuple(cfg.rank.top_k), workdir)
    lap("rank_correlation")
    paper = _paper_study(cfg, space, workdir) if cfg.paper_study else None
    lap("paper_setup")

    n_arch, n_acc, n_ref = len(space), accel.size, refs[variant].size
    result = {
        "space": f"{space.name}/{space.dataset}" + (f"/{cfg.space.subset}" if cfg.space.subset else ""),
        "n_architectures": n_arch, "n_accelerators": n_acc,
        "k": k if variant != "family_references" else ks[variant].tolist(),
        "semi_decoupled": {"optimum": _optimum(semi.choices[0], space, accel), "points_evaluated": semi.points,
                           "model_evaluations": semi.model_points, "wall_s": semi.seconds, "references": n_ref,
                           "reference_variant": variant, "tolerance": float(cfg.tolerance),
                           "smallest_k_recovering_optimum": smallest_k(rankings[variant], accel, full.choices[0]),
                           "stage2_metrics_identical_to_exhaustive": stage2_identical},
        "exhaustive": {"optimum": _optimum(full.choices[0], space, accel), "points_evaluated": full.points,
                       "model_evaluations": full.model_points, "wall_s": full.seconds},
        "same_optimum": bool(same),
        "points_ratio": full.points / semi.points,
        "recovery_rate": rec[variant]["recovery_rate"],
        "spearman_latency_min": rank["spearman_latency"]["all"]["min"],
        "spearman_energy_min": rank["spearman_energy"]["all"]["min"],
    }
    details = {"macs_check": macs, "objective": objective.__dict__, "recovery": rec, "rank_correlation": rank,
               "paper_setup_rank_correlation": paper, "distinct_layers": len(distinct.layers),
               "accelerator_space": {"kind": accel.kind, "perf_points": accel.n_perf, "buffer_options": accel.n_buffers,
                                     "axes": {n: np.asarray(v).tolist() for n, v in zip(accel.perf.names,
                                                                                          accel.perf.values)},
                                     "dataflows": list(accel.dataflows)},
               "wall_s_phases": phases, "wall_s_total": time.perf_counter() - t_start,
               "distributed": {"n_processes": jax.process_count(),
                               "exhaustive_points_this_process": n_arch * accel.n_buffers * len(
                                   range(jax.process_index(), accel.n_perf, jax.process_count()))}}
    with open(os.path.join(workdir, "result.json"), "w") as f:
        json.dump(_json(result), f, indent=1)
    with open(os.path.join(workdir, "details.json"), "w") as f:
        json.dump(_json(details), f, indent=1)
    return result
