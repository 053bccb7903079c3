"""The user-facing accelerator sweep (``experiments/sweep.py``): networks x systolic grid.

``run(config, workdir)`` loads the networks, sweeps the grid with per-network latency/energy
(segment sums over layers), and writes to ``workdir``:

* ``best_designs.csv`` / ``.json``: the ``top_k`` designs per network for ``config.objective``;
* ``pareto.csv`` / ``.json``: each network's exact Pareto front over ``config.pareto_objectives``;
* ``pareto.png``: the fronts (matplotlib);
* ``summary.json``: sweep size, timing, device.
"""

from __future__ import annotations

import csv
import json
import os
from typing import Any

import jax
import numpy as np

from codesign_jax.hardware import BW_MODES, DATAFLOWS
from codesign_jax.sweep import (
    DesignSpace,
    SweepResult,
    compute_cycles_cost_fn,
    evaluate_points,
    resolve_objectives,
    sweep,
    systolic_energy_cost_fn,
    systolic_space,
)
from codesign_jax.topology import load_topology, shipped_topologies, shipped_topology_path, topology_kind
from codesign_jax.workloads import Gemm

__all__ = ["load_networks", "run", "space_from_config"]

_FIELDS = ("rows", "cols", "dataflow", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb",
           "bw_mode", "bandwidth", "ifmap_dram_bw", "filter_dram_bw")
_REPORT = ("total_cycles", "total_energy_pj", "area_mm2", "pes")  # network sums + design


def load_networks(networks, input_type: str = "") -> tuple[list[str], Gemm, np.ndarray]:
    """``(names, layers, segment_ids)``: all networks' layers concatenated, one segment each.

    ``networks``: shipped topology names or SCALE-Sim CSV paths. ``input_type``: 'conv' /
    'gemm' for paths, '' to infer (from the header's column names, else 'gemm' if the file stem
    ends in '_gemm').
    """
    if isinstance(networks, str):
        networks = [networks]
    if not networks:
        raise ValueError("config.networks is empty; name a shipped topology or a CSV path.")
    shipped = shipped_topologies()
    names, gemms, seg = [], [], []
    for i, net in enumerate(networks):
        if net in shipped:
            topo = load_topology(shipped_topology_path(net), shipped[net])
        elif os.path.isfile(net):
            kind = input_type or topology_kind(net) or (
                "gemm" if os.path.basename(net).rsplit(".", 1)[0].endswith("_gemm") else "conv")
            topo = load_topology(net, kind)
        else:
            raise ValueError(f"config.networks[{i}]={net!r} is neither a shipped topology "
                             f"({sorted(shipped)}) nor an existing CSV file.")
        names.append(topo.name)
        gemms.append(topo.gemm)
        seg.append(np.full(len(topo), i, np.int64))
    cat = {f: np.concatenate([np.asarray(getattr(g, f)) for g in gemms])
           for f in ("M", "N", "K", "ifmap_unique", "ifmap_valid")}
    return names, Gemm(**cat), np.concatenate(seg)


def space_from_config(config) -> DesignSpace:
    """:func:`~codesign_jax.sweep.systolic_space` from ``config.grid`` and the budgets."""
    g = {k: (list(v) if isinstance(v, (tuple, list)) else v)
         for k, v in config.grid.to_dict().items()}
    bad = sorted(set(g) - set(_FIELDS))
    if bad:
        raise ValueError(f"config.grid has unknown field(s) {bad}; valid: {list(_FIELDS)}.")
    if "rows" not in g or "cols" not in g:
        raise ValueError("config.grid needs rows and cols.")
    return systolic_space(**g, max_macs=config.max_macs or None,
                             max_area_mm2=config.max_area_mm2 or None)


def _cost_fn(model: str):
    if model == "systolic":
        return systolic_energy_cost_fn()
    if model == "compute":
        return compute_cycles_cost_fn()
    raise ValueError(f"config.model must be 'systolic' or 'compute', got {model!r}.")


def _describe(space: DesignSpace, index: np.ndarray) -> dict:
    """SystolicArray field values (names for dataflow / bw_mode) of designs ``index [n]``."""
    ok = index >= 0
    a = space.build(space.grid.points(np.where(ok, index, 0)))
    out = {}
    for f in _FIELDS:
        v = np.broadcast_to(np.asarray(getattr(a, f)), index.shape)
        if f == "dataflow":
            v = np.asarray([DATAFLOWS[int(x)] for x in v])
        elif f == "bw_mode":
            v = np.asarray([BW_MODES[int(x)] for x in v])
        out[f] = v
    return out


def _write(workdir: str, stem: str, rows: list[dict], extra: dict | None = None):
    if jax.process_index() != 0:  # a multi-process sweep: process 0 writes the outputs
        return
    if rows:
        with open(os.path.join(workdir, stem + ".csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    with open(os.path.join(workdir, stem + ".json"), "w") as f:
        json.dump({**(extra or {}), "rows": rows}, f, indent=1, default=_json_default)


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(type(x))


def _records(net_names, space, net_ids, index, values: dict, rank=None) -> list:
    desc = _describe(space, index)
    rows = []
    for j in range(len(index)):
        r = {"network": net_names[net_ids[j]]}
        if rank is not None:
            r["rank"] = int(rank[j])
        r["design_index"] = int(index[j])
        r.update({f: desc[f][j].item() for f in _FIELDS})
        r.update({k: float(v[j]) for k, v in values.items()})
        rows.append(r)
    return rows


#: Units of the built-in objectives and report metrics, for axis labels.
_UNITS = {"latency": "cycles", "total_cycles": "cycles", "energy": "pJ", "total_energy_pj": "pJ",
          "edp": "pJ x cycles", "edp_pj_cycles": "pJ x cycles", "area": "mm^2", "area_mm2": "mm^2",
          "pes": "PEs", "static_energy_pj": "pJ"}


def _axis_label(name: str) -> str:
    """``'latency (cycles)'``: the objective and its unit (the bare name for unknown metrics)."""
    unit = _UNITS.get(name)
    return f"{name} ({unit})" if unit else name


def _plot(path: str, res: SweepResult, net_names, best: dict | None, objective: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = res.pareto_names[:2]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for s, name in enumerate(net_names):
        sel = res.pareto_workload == s
        if not np.any(sel):
            continue
        v = res.pareto_values[sel]
        order = np.argsort(v[:, 0], kind="stable")
        if v.shape[1] == 2:  # a staircase
            (line,) = ax.step(v[order, 0], v[order, 1], where="post", marker="o", ms=3,
                              label=f"{name} front ({sel.sum()})")
        else:  # 3 objectives: projection on the first two
            (line,) = ax.plot(v[order, 0], v[order, 1], "o", ms=3,
                              label=f"{name} front ({sel.sum()}, projected)")
        if best is not None and a in best and b in best and np.isfinite(best[a][s]):
            ax.plot(best[a][s], best[b][s], "*", ms=14, color=line.get_color(),
                    markeredgecolor="k", label=f"{name} best {objective}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_axis_label(a))
    ax.set_ylabel(_axis_label(b))
    ax.set_title("Pareto fronts" + (f" (3rd objective: {res.pareto_names[2]})"
                                    if len(res.pareto_names) > 2 else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(config, workdir: str) -> dict[str, Any]:
    """Runs the sweep of ``config`` (see ``configs/sweep_default.py``); returns the summary.

    Under ``jax.distributed`` (see :func:`codesign_jax.sweep.initialize_distributed`) every process
    runs this with the same config, evaluates its share of the design chunks, and process 0 writes
    the outputs (identical to a single-process run)."""
    writer = jax.process_index() == 0
    if writer:
        os.makedirs(workdir, exist_ok=True)
    net_names, layers, seg = load_networks(list(config.networks), config.input_type)
    space = space_from_config(config)
    cost = _cost_fn(config.model)
    pareto = tuple(config.pareto_objectives)
    objectives = [config.objective] + [p for p in pareto if p != config.objective]
    if config.top_k < 1:
        raise ValueError(f"config.top_k must be >= 1, got {config.top_k}.")
    res = sweep(cost, layers, space, objectives, segment_ids=seg, num_segments=len(net_names),
                   top_k=int(config.top_k), pareto=pareto if pareto else False,
                   chunk_size=config.chunk_size or None,
                   progress=None if config.progress else False)
    st = res.stats
    seg_kw = {"segment_ids": seg, "num_segments": len(net_names)}
    k = res.topk_index.shape[1]
    m = evaluate_points(cost, layers, space, res.topk_index, **seg_kw)
    obj_vals = {n: v for n, v in zip(res.objective_names, _objective_values(
        res.objective_names, m))}
    values = {**obj_vals, **{r: m[r] for r in _REPORT if r in m and r not in obj_vals}}
    ids = np.repeat(np.arange(len(net_names)), k)
    flat = {n: v.reshape(-1) for n, v in values.items()}
    keep = res.topk_index.reshape(-1) >= 0
    best_rows = _records(net_names, space, ids[keep], res.topk_index.reshape(-1)[keep],
                         {n: v[keep] for n, v in flat.items()},
                         rank=np.tile(np.arange(1, k + 1), len(net_names))[keep])
    summary = {
        "networks": net_names, "layers": len(seg), "designs": st.n_designs,
        "points": st.points, "seconds": st.seconds, "points_per_s": st.points_per_s,
        "device": st.device, "n_devices": st.n_devices, "chunk_size": st.chunk_size,
        "objective": config.objective, "pareto_objectives": list(pareto),
        "feasible_best": int(np.sum(res.best_index >= 0)),
        "n_processes": st.n_processes, "points_this_process": st.points_this_process,
        "points_per_process": list(st.points_per_process),
    }
    _write(workdir, "best_designs", best_rows, {"summary": summary})
    if pareto:
        pm = evaluate_points(cost, layers, space, _ragged(res, len(net_names)), **seg_kw)
        pv = {n: v for n, v in zip(res.objective_names, _objective_values(
            res.objective_names, pm))}
        vals = {**pv, **{r: pm[r] for r in _REPORT if r in pm and r not in pv}}
        mask = _ragged(res, len(net_names)) >= 0
        pidx = _ragged(res, len(net_names))[mask]
        pids = np.nonzero(mask)[0]
        pareto_rows = _records(net_names, space, pids, pidx,
                               {n: v[mask] for n, v in vals.items()})
        _write(workdir, "pareto", pareto_rows, {"objectives": list(res.pareto_names)})
        summary["pareto_points"] = len(pareto_rows)
        if config.plot and writer:
            best = {n: v[:, 0] for n, v in obj_vals.items()}
            _plot(os.path.join(workdir, "pareto.png"), res, net_names, best, config.objective)
    if writer:
        with open(os.path.join(workdir, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1, default=_json_default)
    return summary


def _ragged(res: SweepResult, n: int) -> np.ndarray:
    """Pareto indices as ``[n, max_front]`` padded with -1 (rows = networks)."""
    counts = np.bincount(res.pareto_workload, minlength=n)
    out = np.full((n, max(1, counts.max(initial=0))), -1, np.int64)
    for s in range(n):
        sel = res.pareto_index[res.pareto_workload == s]
        out[s, :len(sel)] = sel
    return out


def _objective_values(names, metrics: dict) -> list[np.ndarray]:
    """Objective values from (per-network) metrics with the sweep's objective definitions."""
    _, fns = resolve_objectives(list(names))
    return [np.asarray(fn(metrics), np.float64) for fn in fns]
