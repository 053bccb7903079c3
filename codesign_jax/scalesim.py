"""SCALE-Sim-compatible command line: ``python -m codesign_jax.scalesim -c CFG -t TOPO -p LOGDIR``.

Takes the same flags as ``python -m scalesim.scale`` (``-c`` config, ``-t`` topology, ``-p``
log dir, ``-i gemm|conv``, ``-l`` layout, ``-s`` save traces) and writes SCALE-Sim 3.0.0's
``COMPUTE_REPORT.csv``, ``BANDWIDTH_REPORT.csv`` and ``DETAILED_ACCESS_REPORT.csv`` (same header
lines, one row per layer) into ``LOGDIR/<run_name>/``, plus our own ``ENERGY_REPORT.csv``. All
layers are evaluated as one jitted batch. Reports are written to a temporary directory and moved
into place only once all of them are complete, so a failure never leaves half-written reports.

Without ``-c``/``-t`` it runs the shipped default: a 32x32 output-stationary array
(``codesign_jax/data/configs/scale.cfg``) on ResNet-18 (``data/topologies/resnet18.csv``).
"""

from __future__ import annotations

import argparse
import configparser
import os
import shutil
import sys
import tempfile
import time
from importlib import resources

import numpy as np

from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic import (BANDWIDTH_REPORT_FIELDS, COMPUTE_REPORT_FIELDS, DETAILED_REPORT_FIELDS,
                                   ENERGY_FIELDS, default_energy_table, systolic_cost, systolic_energy)
from codesign_jax._validate import parse_positive_int
from codesign_jax.topology import load_topology, shipped_topology_path

__all__ = ["ScaleConfig", "read_config", "run", "main", "write_reports"]

# Header lines exactly as scalesim/simulator.py: simulator.generate_reports writes them.
COMPUTE_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, "
                  "Overall Util %, Mapping Efficiency %, Compute Util %,\n")
BANDWIDTH_HEADER = ("LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
                    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n")
DETAILED_HEADER = (
    "LayerID, "
    "SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
    "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
    "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
    "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
    "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
    "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n")
ENERGY_HEADER = ("LayerID, Layer Name, MAC Energy (pJ), IFMAP SRAM Energy (pJ), "
                 "FILTER SRAM Energy (pJ), OFMAP SRAM Energy (pJ), DRAM Energy (pJ), "
                 "Static Energy (pJ), Total Energy (pJ), Area (mm2), EDP (pJ*cycles),\n")

# SCALE-Sim prints Python ints for these (str(int)) and floats for the rest.
_INT_FIELDS = {"total_cycles_incl_prefetch", "total_cycles", "stall_cycles",
               "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
               "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes"}


class ScaleConfig(dict):
    """Parsed SCALE-Sim cfg: run_name plus the :class:`SystolicArray` fields."""


def _cfg_get(cp, path, section, key, kind=int, choices=None):
    if not cp.has_section(section):
        raise ValueError(f"{path}: missing section [{section}].")
    if not cp.has_option(section, key):
        raise ValueError(f"{path}: missing key {key!r} in section [{section}].")
    raw = cp.get(section, key).strip()
    if kind is str:
        if choices is not None and raw.lower() not in choices:
            raise ValueError(f"{path}: [{section}] {key} must be one of {sorted(choices)}, "
                             f"got {raw!r}.")
        return raw
    # scale_config.read_conf_file: int(...); `Bandwidth` may list several values, first is used
    return parse_positive_int(raw.split(",")[0].strip(), f"{path}: [{section}] {key}")


def read_config(path: str) -> ScaleConfig:
    """Reads a SCALE-Sim 3.0.0 ``.cfg`` (scale_config.read_conf_file keys); errors name the key."""
    if not os.path.isfile(path):
        raise ValueError(f"config file not found: {path}")
    cp = configparser.ConfigParser()
    try:
        cp.read(path)
    except configparser.Error as e:
        raise ValueError(f"{path}: malformed config file: {e}") from None
    arch = "architecture_presets"
    run_name = _cfg_get(cp, path, "general", "run_name", str)
    mode = _cfg_get(cp, path, "run_presets", "InterfaceBandwidth", str, {"calc", "user"}).upper()
    df = _cfg_get(cp, path, arch, "Dataflow", str, {"os", "ws", "is"}).lower()
    cfg = ScaleConfig(
        run_name=run_name,
        rows=_cfg_get(cp, path, arch, "ArrayHeight"),
        cols=_cfg_get(cp, path, arch, "ArrayWidth"),
        ifmap_sram_kb=_cfg_get(cp, path, arch, "IfmapSramSzkB"),
        filter_sram_kb=_cfg_get(cp, path, arch, "FilterSramSzkB"),
        ofmap_sram_kb=_cfg_get(cp, path, arch, "OfmapSramSzkB"),
        dataflow=df,
        bw_mode=mode,
        bandwidth=_cfg_get(cp, path, arch, "Bandwidth"),
    )
    # USER mode: ifmap/filter DRAM bandwidth come from the [layout] bank-bandwidth keys
    # (single_layer_sim.run: config.ifmap_sram_bank_bandwidth / filter_sram_bank_bandwidth).
    for key, name in (("IfmapSRAMBankBandwidth", "ifmap_dram_bw"),
                      ("FilterSRAMBankBandwidth", "filter_dram_bw")):
        if cp.has_section("layout") and cp.has_option("layout", key):
            cfg[name] = _cfg_get(cp, path, "layout", key)
        elif mode == "USER":
            raise ValueError(f"{path}: USER bandwidth mode needs [layout] {key}.")
        else:
            cfg[name] = cfg["bandwidth"]
    if cp.has_section("sparsity") and cp.has_option("sparsity", "SparsitySupport"):
        if cp.get("sparsity", "SparsitySupport").strip().lower() == "true":
            raise ValueError(f"{path}: [sparsity] SparsitySupport = true is not supported.")
    return cfg


def _fmt(name, v):
    v = float(v)
    if name in _INT_FIELDS:
        return str(int(round(v)))
    return repr(v)


def write_reports(outdir: str, names, m: dict, e: dict) -> None:
    """Writes the four report files for per-layer metric arrays ``m`` (and energies ``e``)."""
    def table(fname, header, fields, src, with_name=False):
        with open(os.path.join(outdir, fname), "w") as f:
            f.write(header)
            for i in range(len(names)):
                cells = [str(i)] + ([names[i]] if with_name else [])
                cells += [_fmt(k, src[k][i]) for k in fields]
                f.write(", ".join(cells) + ",\n")

    table("COMPUTE_REPORT.csv", COMPUTE_HEADER, COMPUTE_REPORT_FIELDS, m)
    table("BANDWIDTH_REPORT.csv", BANDWIDTH_HEADER, BANDWIDTH_REPORT_FIELDS, m)
    table("DETAILED_ACCESS_REPORT.csv", DETAILED_HEADER, DETAILED_REPORT_FIELDS, m)
    table("ENERGY_REPORT.csv", ENERGY_HEADER, ENERGY_FIELDS, e, with_name=True)


def run(config: str, topology: str, logdir: str, input_type: str = "conv",
        verbose: bool = True) -> str:
    """Evaluates every layer of ``topology`` on the design of ``config``; returns the report dir."""
    cfg = read_config(config)
    if not os.path.isfile(topology):
        raise ValueError(f"topology file not found: {topology}")
    topo = load_topology(topology, input_type)
    run_name = cfg.pop("run_name")
    array = SystolicArray.create(**cfg)
    t0 = time.perf_counter()
    rep = systolic_cost(topo.gemm, array, exact=True)
    m = {k: np.asarray(v) for k, v in rep.fields.items()}
    e = {k: np.asarray(v) for k, v in
         systolic_energy(np, m, array, default_energy_table()).items()}
    dt = time.perf_counter() - t0
    for k, v in m.items():
        if not np.all(np.isfinite(v)):
            i = int(np.argmin(np.isfinite(v)))
            raise ValueError(f"layer {topo.layer_names[i]!r}: {k} is not finite (total cycles "
                             f"{m['total_cycles'][i]:.0f}; SCALE-Sim divides by zero here too).")

    final = os.path.join(logdir, run_name)
    os.makedirs(logdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{run_name}.", dir=logdir)
    try:
        write_reports(tmp, topo.layer_names, m, e)
        os.makedirs(final, exist_ok=True)
        for fname in sorted(os.listdir(tmp)):
            os.replace(os.path.join(tmp, fname), os.path.join(final, fname))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if verbose:
        total = m["total_cycles"].sum()
        print(f"codesign_jax.scalesim: {len(topo)} layers of {topo.name} on "
              f"{cfg['rows']}x{cfg['cols']} {cfg['dataflow']} ({cfg['bw_mode']}) in "
              f"{dt * 1e3:.1f} ms (incl. compile)")
        print(f"  total cycles {int(total)}, compute util "
              f"{float(np.mean(m['compute_util_pct'])):.2f}% (mean), energy "
              f"{float(e['total_energy_pj'].sum()) * 1e-6:.3f} uJ")
        print(f"  reports: {final}/{{COMPUTE_REPORT,BANDWIDTH_REPORT,DETAILED_ACCESS_REPORT,"
              f"ENERGY_REPORT}}.csv")
    return final


def _default_config() -> str:
    return str(resources.files("codesign_jax") / "data" / "configs" / "scale.cfg")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m codesign_jax.scalesim",
        description="SCALE-Sim 3.0.0-compatible reports from codesign-jax's closed-form model.")
    p.add_argument("-t", metavar="Topology file", default=None,
                   help="topology CSV (default: shipped ResNet-18)")
    p.add_argument("-l", metavar="Layout file", default=None,
                   help="layout file (accepted for compatibility; custom layouts unsupported)")
    p.add_argument("-c", metavar="Config file", default=None,
                   help="SCALE-Sim .cfg (default: shipped 32x32 os, 64 KB SRAMs)")
    p.add_argument("-p", metavar="log dir", default="./results/", help="log dir")
    p.add_argument("-i", metavar="input type", default="conv", choices=("conv", "gemm"),
                   help="gemm: M,N,K topology; conv: conv topology")
    p.add_argument("-s", metavar="save trace", default="N",
                   help="accepted for compatibility; traces are not produced")
    args = p.parse_args(argv)
    topology = args.t or shipped_topology_path("resnet18")
    try:
        run(args.c or _default_config(), topology, args.p, args.i)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
