"""Checks ``python -m codesign_jax.nas`` against the real MAESTRO binary, network by network.

    python experiments/validate_nas_maestro.py --maestro PATH/TO/maestro --space alphanet \\
        --subset selected_1046 --accelerators ACCELS.csv --conv_dataflows kcp_ws,rs --workdir W

Every distinct MAESTRO layer of the chosen architectures (padded inputs; depthwise as DSCONV on
``--dw_dataflow``; fully connected as 1x1 CONV) runs in the real MAESTRO on every accelerator (HW-file
mode, as ``tests/data/maestro_reference.csv`` was made): all layers of one (accelerator, dataflow, layer
type) in one mapping file, or layer by layer when MAESTRO aborts on the file, so each crashing layer is
known. Per-layer figures are cached in ``W/maestro_layers.csv`` (reruns only run what is missing).
Network sums (runtime; energy = 18.61 x L2 + 1.68 x L1 accesses + MACs from MAESTRO's own access counts,
API_user-interface-v2.hpp) are compared with the CLI's OUT.csv (the CLI is run here as a user would).
Writes ``W/summary.json`` and ``W/networks.csv``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from absl import app, flags

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.nas import distinct_layers, load_space, spatial_layers
from codesign_jax.nas._cli import read_accelerators
from codesign_jax.spatial import get_dataflow

_MAESTRO = flags.DEFINE_string("maestro", None, "Path to the MAESTRO binary (maestro-project/maestro).")
_SPACE = flags.DEFINE_enum("space", "alphanet", ["alphanet", "nb201"], "Architecture space.")
_SUBSET = flags.DEFINE_string("subset", None, "Space subset (alphanet: all | selected_1046).")
_N_ARCH = flags.DEFINE_integer("n_arch", 0, "Random sample of this many architectures (0: all of the subset).")
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_ACCELS = flags.DEFINE_string("accelerators", None, "maestro-CLI accelerator CSV.")
_CONV_DFS = flags.DEFINE_string("conv_dataflows", "kcp_ws,rs", "Comma-separated CONV dataflows.")
_DW_DF = flags.DEFINE_string("dw_dataflow", "dpt", "Depthwise dataflow.")
_JOBS = flags.DEFINE_integer("jobs", 1, "MAESTRO processes at a time.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (and per-layer cache).")
flags.mark_flags_as_required(["maestro", "accelerators", "workdir"])

_DIMS = ("K", "C", "R", "S", "Y", "X", "stride")
_CACHE_COLS = ("dataflow", "hw", "layer_type", *_DIMS, "ok", "runtime_cycles", "energy_total_xmac", "num_macs",
               "error")
_L2 = [f"{t} l2 {a}" for t in ("input", "filter", "output") for a in ("read", "write")]
_L1 = [f"{t} l1 {a}" for t in ("input", "filter", "output") for a in ("read", "write")]


def _layer_text(name: str, lt: str, dims: tuple, df) -> str:
    k, c, r, s, y, x, st = dims
    body = "\n".join("      " + d.to_text() for d in df.directives)
    return (f"  Layer {name} {{\n    Type: {lt}\n    Stride {{ X: {st}, Y: {st} }}\n"
            f"    Dimensions {{ K: {k}, C: {c}, R: {r}, S: {s}, Y: {y}, X: {x} }}\n    Dataflow {{\n{body}\n    }}\n  }}\n")


def _run(binary: str, hw: dict, lt: str, layers: list, df) -> tuple[list, int]:
    """Runs MAESTRO on ``layers`` (dims tuples) in one mapping file; returns (per-layer dicts, return code)."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "hw.m"), "w") as f:
            f.write("".join(f"{k}: {hw[k]}\n" for k in ("num_pes", "l1_size_cstr", "l2_size_cstr", "noc_bw_cstr",
                                                         "offchip_bw_cstr")))
        with open(os.path.join(d, "m.m"), "w") as f:
            f.write("Network n {\n" + "".join(_layer_text(f"L{i}", lt, l, df) for i, l in enumerate(layers)) + "}\n")
        p = subprocess.run(["nice", "-n", "19", binary, "--HW_file=hw.m", "--Mapping_file=m.m", "--print_res=false",
                            "--print_res_csv_file=true", "--print_log_file=false"], cwd=d, capture_output=True,
                           text=True, timeout=3600)
        out = []
        path = os.path.join(d, "m.csv")
        if os.path.exists(path):
            with open(path) as f:
                for row in csv.DictReader(f, skipinitialspace=True):
                    row = {k.strip(): v for k, v in row.items() if k}
                    num = lambda k: float(row[k])
                    e = 18.61 * sum(num(k) for k in _L2) + 1.68 * sum(num(k) for k in _L1) + num("Num MACs")
                    out.append({"runtime_cycles": num("Runtime (Cycles)"), "energy_total_xmac": e,
                                "num_macs": num("Num MACs")})
        return out, p.returncode


def _collect(binary: str, accels: list, jobs: list, cache: dict, cache_path: str) -> None:
    """Runs every missing (dataflow, hw, layer type, dims) in ``jobs`` and appends them to the cache."""
    todo = {}
    for df_name, lt, dims in jobs:
        for hw in accels:
            key = (df_name, hw["hw"], lt, dims)
            if key not in cache:
                todo.setdefault((df_name, hw["hw"], lt), []).append(dims)
    hw_by = {a["hw"]: a for a in accels}
    new = not os.path.exists(cache_path)
    fh = open(cache_path, "a", newline="")
    w = csv.writer(fh)
    if new:
        w.writerow(_CACHE_COLS)

    def one(item):
        (df_name, hw, lt), layers = item
        df = get_dataflow(df_name)
        res, rc = _run(binary, hw_by[hw], lt, layers, df)
        if rc != 0 or len(res) != len(layers):  # a layer aborted MAESTRO: find which, layer by layer
            res = []
            for l in layers:
                r1, rc1 = _run(binary, hw_by[hw], lt, [l], df)
                res.append(r1[0] if rc1 == 0 and len(r1) == 1 else {"error": f"MAESTRO exit {rc1}"})
        return [((df_name, hw, lt, l), r) for l, r in zip(layers, res)]

    t0, done = time.time(), 0
    with ThreadPoolExecutor(_JOBS.value) as ex:
        for rows in ex.map(one, todo.items()):
            for key, r in rows:
                cache[key] = r
                ok = "error" not in r
                w.writerow([key[0], key[1], key[2], *key[3], int(ok), *(r.get(k, "") if ok else "" for k in
                           ("runtime_cycles", "energy_total_xmac", "num_macs")), r.get("error", "")])
            fh.flush()
            done += 1
            print(f"\r{done}/{len(todo)} MAESTRO files, {time.time() - t0:.0f} s", end="", file=sys.stderr)
    print(file=sys.stderr)
    fh.close()


def _load_cache(path: str) -> dict:
    cache = {}
    if os.path.exists(path):
        with open(path) as f:
            for r in csv.DictReader(f):
                key = (r["dataflow"], r["hw"], r["layer_type"], tuple(int(r[k]) for k in _DIMS))
                cache[key] = ({k: float(r[k]) for k in ("runtime_cycles", "energy_total_xmac", "num_macs")}
                              if r["ok"] == "1" else {"error": r["error"]})
    return cache


def main(argv):
    del argv
    os.makedirs(_WORKDIR.value, exist_ok=True)
    space = load_space(_SPACE.value, subset=_SUBSET.value)
    if _N_ARCH.value:
        pick = np.sort(np.random.default_rng(_SEED.value).choice(len(space), _N_ARCH.value, replace=False))
        space = load_space(_SPACE.value, subset=_SUBSET.value, arch=space.arch_index[pick])
    names, _ = read_accelerators(_ACCELS.value)
    with open(_ACCELS.value) as f:
        accels = [{("hw" if k == "acc_id" else k): v for k, v in r.items()} for r in csv.DictReader(f)]
    d = distinct_layers(space.layers)
    parts = spatial_layers(d.layers, "conv")
    dims = {lt: [tuple(int(np.ravel(getattr(low.layers, k))[i] if np.ndim(getattr(low.layers, k)) else
                           getattr(low.layers, k)) for k in _DIMS) for i in range(len(low.index))]
            for lt, low in parts.items()}
    cache_path = os.path.join(_WORKDIR.value, "maestro_layers.csv")
    cache = _load_cache(cache_path)
    conv_dfs = [x for x in _CONV_DFS.value.split(",") if x]
    jobs = [(df, "CONV", l) for df in conv_dfs for l in dims.get("CONV", [])]
    jobs += [(_DW_DF.value, "DSCONV", l) for l in dims.get("DSCONV", [])]
    _collect(_MAESTRO.value, accels, jobs, cache, cache_path)
    summary = {"space": space.name, "n_architectures": len(space), "n_accelerators": len(names),
               "distinct_maestro_layers": {lt: len(v) for lt, v in dims.items()}, "dataflows": {}}
    out_rows = []
    macs = space.macs
    arch_csv = ",".join(str(int(a)) for a in space.arch_index)
    for df in conv_dfs:
        out_csv = os.path.join(_WORKDIR.value, f"cli_{df}.csv")
        t0 = time.time()
        cmd = [sys.executable, "-m", "codesign_jax.nas", "--space", space.name, "--arch", arch_csv, "--accelerators",
               _ACCELS.value, "--conv_dataflow", df, "--dw_dataflow", _DW_DF.value, "--out", out_csv]
        if _SUBSET.value:
            cmd += ["--subset", _SUBSET.value]
        subprocess.run(cmd, check=True)
        cli_s = time.time() - t0
        with open(out_csv) as f:
            cli = {(int(r["arch_index"]), r["hw"]): r for r in csv.DictReader(f)}
        # real MAESTRO network sums: per distinct row, the lowered layer's figures x count
        n, u = len(space), len(d.layers)
        real = {k: np.zeros((u, len(names))) for k in ("runtime_cycles", "energy_total_xmac", "num_macs")}
        failed = np.zeros((u, len(names)), bool)
        for lt, low in parts.items():
            dfn = df if lt == "CONV" else _DW_DF.value
            for i, l in enumerate(dims[lt]):
                for j, hw in enumerate(names):
                    r = cache[(dfn, hw, lt, l)]
                    if "error" in r:
                        failed[low.index[i], j] = True
                    else:
                        for k in real:
                            real[k][low.index[i], j] = r[k] * low.count[i]
        net = {k: d.network_sum(v) for k, v in real.items()}
        net_failed = d.network_any(failed)
        stats = dict(completed=0, match_runtime=0, match_energy=0, match_both=0, failed=0, failed_flagged=0,
                     flagged_but_completed=0, macs_agree=0, maestro_macs_equal_network_macs=0,
                     max_rel_energy=0.0)
        for i, a in enumerate(space.arch_index):
            for j, hw in enumerate(names):
                c = cli[(int(a), hw)]
                if net_failed[i, j]:
                    stats["failed"] += 1
                    stats["failed_flagged"] += c["ok"] == "0"
                    out_rows.append((df, int(a), hw, "", "", "", c["runtime_cycles"], c["energy_total_xmac"], c["ok"]))
                    continue
                stats["completed"] += 1
                stats["flagged_but_completed"] += c["ok"] == "0"
                rt_ok = c["ok"] == "1" and float(c["runtime_cycles"]) == net["runtime_cycles"][i, j]
                rel = abs(float(c["energy_total_xmac"]) / net["energy_total_xmac"][i, j] - 1) if c["ok"] == "1" else 1.0
                stats["max_rel_energy"] = max(stats["max_rel_energy"], rel)
                en_ok = rel <= 1e-9
                stats["match_runtime"] += rt_ok
                stats["match_energy"] += en_ok
                stats["match_both"] += rt_ok and en_ok
                stats["macs_agree"] += c["ok"] == "1" and float(c["macs"]) == net["num_macs"][i, j]
                stats["maestro_macs_equal_network_macs"] += net["num_macs"][i, j] == macs[i]
                out_rows.append((df, int(a), hw, net["runtime_cycles"][i, j], net["energy_total_xmac"][i, j],
                                 net["num_macs"][i, j], c["runtime_cycles"], c["energy_total_xmac"], c["ok"]))
        stats = {k: (float(v) if isinstance(v, float) else int(v)) for k, v in stats.items()}
        stats["cli_seconds"] = round(cli_s, 1)
        summary["dataflows"][df] = stats
        print(df, stats)
    with open(os.path.join(_WORKDIR.value, "networks.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("conv_dataflow", "arch_index", "hw", "maestro_runtime_cycles", "maestro_energy_total_xmac",
                    "maestro_macs", "cli_runtime_cycles", "cli_energy_total_xmac", "cli_ok"))
        w.writerows(out_rows)
    with open(os.path.join(_WORKDIR.value, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    app.run(main)
