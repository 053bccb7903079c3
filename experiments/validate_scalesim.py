r"""Agreement of codesign-jax's systolic model with real SCALE-Sim 3.0.0 runs, per report field.

    python experiments/validate_scalesim.py                       # the shipped reference CSVs
    python experiments/validate_scalesim.py --csv my_runs.csv --json out.json

A CSV row holds one single-layer SCALE-Sim run (columns as tests/data/scalesim_reference.csv:
inputs, cfg fields and every report number). For each field and bandwidth mode this prints the
fraction of rows we match exactly, within 1% and within 3%, and the largest relative error.
"""

from __future__ import annotations

import csv
import json
import os

from absl import app, flags
import numpy as np

import codesign_jax  # noqa: F401  (enables x64)
from codesign_jax.systolic import REPORT_FIELDS, systolic_cost
from codesign_jax.hardware import SystolicArray
from codesign_jax.workloads import Conv, Gemm

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
FLAGS = flags.FLAGS
flags.DEFINE_multi_string(
    "csv", [os.path.join(_DATA, f) for f in ("scalesim_reference.csv", "scalesim_calc_extra.csv",
                                             "scalesim_user_extra.csv")],
    "CSV(s) of SCALE-Sim runs.")
flags.DEFINE_string("json", None, "Also write the table as JSON here.")
flags.DEFINE_bool("exact", True, "Use systolic_cost(exact=True) (the CLI's path).")

_CONV = ("ifmap_h", "ifmap_w", "filt_h", "filt_w", "channels", "num_filters", "stride")


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            rows += list(csv.DictReader(f))
    gs, arrs = [], []
    for x in rows:
        if x["input_type"] == "gemm":
            gs.append(Gemm.create(int(x["M"]), int(x["N"]), int(x["K"])))
        else:
            gs.append(Conv.create(*[int(x[k]) for k in _CONV]).to_gemm())
        arrs.append(SystolicArray.create(
            int(x["rows"]), int(x["cols"]), x["dataflow"], int(x["ifmap_sram_kb"]),
            int(x["filter_sram_kb"]), int(x["ofmap_sram_kb"]), x["bw_mode"], int(x["bandwidth"])))
    a = SystolicArray(**{k: np.concatenate([np.ravel(getattr(v, k)) for v in arrs])
                         for k in SystolicArray.__dataclass_fields__})
    return rows, Gemm.concat(gs), a


def agreement(rows, out):
    table = {}
    modes = np.asarray([x["bw_mode"] for x in rows])
    for mode in ("CALC", "USER"):
        sel = modes == mode
        if not sel.any():
            continue
        for k in REPORT_FIELDS:
            ref = np.asarray([float(x[k]) for x in rows])[sel]
            got = np.asarray(out[k])[sel]
            rel = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-12)
            exact = np.isclose(got, ref, rtol=1e-12, atol=1e-9)
            table[f"{mode}:{k}"] = {
                "rows": int(sel.sum()), "exact": float(exact.mean()),
                "bit_identical": float((got == ref).mean()),
                "within_1pct": float((rel <= 0.01).mean()),
                "within_3pct": float((rel <= 0.03).mean()), "max_rel_err": float(rel.max())}
        keys = ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "total_cycles",
                "total_cycles_incl_prefetch")
        all_ok = np.ones(int(sel.sum()), bool)
        for k in keys:
            ref = np.asarray([float(x[k]) for x in rows])[sel]
            all_ok &= np.isclose(np.asarray(out[k])[sel], ref, rtol=1e-12, atol=1e-9)
        table[f"{mode}:dram_counts_and_total_cycles_all_exact"] = {
            "rows": int(sel.sum()), "exact": float(all_ok.mean())}
    return table


def main(argv):
    del argv
    rows, g, a = load(FLAGS.csv)
    rep = systolic_cost(g, a, exact=FLAGS.exact) if FLAGS.exact else systolic_cost(g, a)
    table = agreement(rows, rep.fields)
    print(f"{'mode:field':48s} {'rows':>5s} {'bits':>7s} {'exact':>7s} {'<=1%':>7s} "
          f"{'<=3%':>7s} {'max err':>9s}")
    for k, v in table.items():
        print(f"{k:48s} {v['rows']:5d} "
              + (f"{v['bit_identical']:7.1%} {v['exact']:7.1%} {v['within_1pct']:7.1%} "
                 f"{v['within_3pct']:7.1%} {v['max_rel_err']:9.2e}" if "within_1pct" in v
                 else f"{'':7s} {v['exact']:7.1%}"))
    if FLAGS.json:
        with open(FLAGS.json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    app.run(main)
