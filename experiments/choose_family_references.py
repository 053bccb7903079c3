"""Chooses ``config.family_references`` (one stage-1 reference and one k per dataflow) on development settings.

    python experiments/choose_family_references.py --config configs/semi_decoupled_alphanet.py --workdir W

How AlphaNet's family references were chosen (issue 13), on the ``random.dev_seed`` settings only (the
reported ``random.seed`` settings play no part): the exhaustive table is computed once; for each dataflow
family, each candidate reference (``--num_pes`` x ``--noc_bw`` x ``--offchip_bw`` in that family) ranks the
architectures as stage 1 does, and a development optimum whose design is in the family is kept at ``k`` when
its architecture ranks within the first ``k``. A dynamic program splits the budget
``n_arch x n_families + sum_f k_f x designs(f) <= n_arch x n_designs / --points_ratio`` over the families
(each ``k_f >= --floor``) to keep the most development optima (ties: the smallest total, then the first
found); what is left of the budget is spread evenly (first families first). Writes
``W/family_references.json`` and prints the config entry.
"""

import itertools
import json
import os

import numpy as np
from absl import app, flags
from ml_collections import config_flags

import codesign_jax  # noqa: F401  (enables x64)
from codesign_jax.codesign import (accelerator_space, best_pairs, dominated_counts, exhaustive_search,
                                   objective_from_config)
from codesign_jax.codesign._study import random_objectives
from codesign_jax.nas import distinct_layers, load_space

_CONFIG = config_flags.DEFINE_config_file("config", None, "Co-design configuration file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for family_references.json.")
_PES = flags.DEFINE_list("num_pes", ["64", "256", "1024"], "Candidate reference PE counts.")
_NOC = flags.DEFINE_list("noc_bw", ["64", "256"], "Candidate reference NoC bandwidths.")
_OFF = flags.DEFINE_list("offchip_bw", ["50", "150", "350"], "Candidate reference off-chip bandwidths.")
_FLOOR = flags.DEFINE_integer("floor", 40, "Smallest k of any family.")
_RATIO = flags.DEFINE_float("points_ratio", 100.0, "The smallest points_ratio allowed.")
flags.mark_flags_as_required(["config", "workdir"])


def kept_curve(accuracy, latency, energy, arch, k_max: int) -> np.ndarray:
    """int64 ``[k_max + 1]``: how many of the architectures ``arch`` stage 1 keeps at each k (stage 1's order:
    dominance count in (accuracy, latency, energy), then accuracy, then index; ``latency``, ``energy``: ``[n]``)."""
    n = accuracy.size
    order = np.lexsort((np.arange(n), -accuracy, dominated_counts(accuracy, latency, energy)))
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    return np.array([(pos[arch] < k).sum() for k in range(k_max + 1)])


def allocate(curves: list, budget: int, floor: int) -> tuple[int, list]:
    """Per-family k (each >= ``floor``, sum <= ``budget``) maximizing ``sum_f curves[f][k_f]``; ties: the smallest
    sum, then the first found. ``curves[f]``: ``[budget + 1]`` kept counts. Returns (kept, [k_f])."""
    cur = {b: (0, []) for b in range(budget + 1)}
    for c in curves:
        new = {}
        for b in range(budget + 1):
            opts = [(cur[b - k][0] + c[k], cur[b - k][1] + [k]) for k in range(floor, b + 1)]
            new[b] = max(opts, key=lambda x: (x[0], -sum(x[1]))) if opts else (-(10 ** 9), [])
        cur = new
    return int(cur[budget][0]), cur[budget][1]


def spread(ks: list, budget: int) -> list:
    """``ks`` plus what is left of ``budget`` spread evenly, the first families first."""
    left = budget - sum(ks)
    return [k + left // len(ks) + (i < left % len(ks)) for i, k in enumerate(ks)]


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Too many command-line arguments: {argv[1:]}.")
    cfg = _CONFIG.value
    if cfg.random.get("dev_seed") is None:
        raise ValueError("config.random.dev_seed must be set: references are chosen on development settings.")
    space = load_space(cfg.space.name, dataset=cfg.space.dataset or None, subset=cfg.space.subset or None)
    accel = accelerator_space(cfg.accelerators.to_dict())
    full = exhaustive_search(accel, space, distinct_layers(space.layers), [objective_from_config(
        cfg.objective.to_dict())], backend=cfg.backend).metrics
    dev = random_objectives(full, space.accuracy, int(cfg.random.n), int(cfg.random.dev_seed), tuple(cfg.random.goals))
    opt = best_pairs(full, space.accuracy, space.arch_index, dev, accel.n_buffers)
    pts = accel.perf_points()
    fam_of = pts["dataflow"][np.array([c.perf for c in opt])]
    arch = np.array([c.arch_pos for c in opt])
    n, flows = len(space), list(accel.dataflows)
    per_family = accel.size // len(flows)
    budget = int((n * accel.size / _RATIO.value - n * len(flows)) // per_family)
    cands, curves = {}, {}
    for f in flows:
        for t in itertools.product(*(map(int, v.value) for v in (_PES, _NOC, _OFF))):
            p = np.flatnonzero((pts["dataflow"] == f) & (pts["num_pes"] == t[0]) & (pts["noc_bw"] == t[1])
                               & (pts["offchip_bw"] == t[2]))[0]
            cands.setdefault(f, []).append(t)
            curves.setdefault(f, []).append(kept_curve(space.accuracy, full.latency[:, p], full.energy[:, p],
                                                       arch[fam_of == f], budget))
    best = [np.max(curves[f], axis=0) for f in flows]
    kept, ks = allocate(best, budget, _FLOOR.value)
    refs = [cands[f][int(np.argmax([c[k] for c in curves[f]]))] for f, k in zip(flows, ks)]
    final = spread(ks, budget)
    out = {"dev_seed": int(cfg.random.dev_seed), "budget_sum_k": budget, "allocation": dict(zip(flows, ks)),
           "dev_kept": kept, "dev_settings": len(dev), "dev_optima_per_family": {f: int((fam_of == f).sum())
                                                                                for f in flows},
           "family_references": {f: dict(num_pes=t[0], noc_bw=t[1], offchip_bw=t[2], k=int(k))
                                 for f, t, k in zip(flows, refs, final)}}
    os.makedirs(_WORKDIR.value, exist_ok=True)
    with open(os.path.join(_WORKDIR.value, "family_references.json"), "w") as fh:
        json.dump(out, fh, indent=1)
    print(json.dumps(out))


if __name__ == "__main__":
    app.run(main)
