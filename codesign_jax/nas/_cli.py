"""``python -m codesign_jax.nas``: every architecture of a space on every accelerator, MAESTRO's network sums.

  python -m codesign_jax.nas --space alphanet --arch 16,2049 --accelerators ACCELS.csv \\
      --conv_dataflow kcp_ws --dw_dataflow dpt --out OUT.csv

ACCELS.csv: the ``python -m codesign_jax.maestro`` accelerator table
(``hw,num_pes,l1_size_cstr,l2_size_cstr,noc_bw_cstr,offchip_bw_cstr``, optional ``noc_hops``; an ``acc_id``
column is read as ``hw`` and a ``source`` column is ignored). OUT.csv: one row per (architecture,
accelerator), architecture-major: ``arch_index, hw, runtime_cycles, energy_total_xmac, macs, accuracy,
ok, error`` -- the sums over the network's layers of MAESTRO's runtime (cycles), total energy (x MAC
energy) and MAC count (``Num MACs``; the network's MACs except where MAESTRO over-counts an edge case, see
:class:`~codesign_jax.nas.NetworkCost`); ``ok=0`` with the first rejected layer's error when MAESTRO rejects
any layer on that accelerator (runtime and energy empty, macs the network's MACs). Pooling and elementwise ops
are not layers (no MACs in MAESTRO's model).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from typing import Sequence

import numpy as np

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.maestro import ACCEL_COLUMNS, _read_table
from codesign_jax.nas._cost import FC_MODES, NetworkCost, spatial_network_cost
from codesign_jax.nas._space import SPACES, ArchSpace, load_space
from codesign_jax.spatial import DATAFLOWS

__all__ = ["OUT_COLUMNS", "main", "read_accelerators", "write_rows"]

OUT_COLUMNS = ("arch_index", "hw", "runtime_cycles", "energy_total_xmac", "macs", "accuracy", "ok", "error")


def read_accelerators(path: str) -> tuple[list[str], SpatialAccelerator]:
    """``(names, accelerators [A])`` from a maestro-CLI accelerator CSV (errors name the file, line, field)."""
    rows = _read_table(path, ACCEL_COLUMNS, optional=("noc_hops",), ignore=("source",), aliases={"acc_id": "hw"})
    col = lambda k, d=None: np.array([float(r.get(k) or d) for r in rows])
    return [r["hw"] for r in rows], SpatialAccelerator(col("num_pes"), col("l1_size_cstr"), col("l2_size_cstr"),
                                                       col("noc_bw_cstr"), col("offchip_bw_cstr"), col("noc_hops", 1))


def write_rows(path: str, space: ArchSpace, hw: Sequence[str], cost: NetworkCost) -> int:
    """Writes OUT.csv atomically (temp file in the target directory, then rename); returns rows written."""
    errors = cost.errors()
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".nas_", suffix=".csv", dir=d)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(OUT_COLUMNS)
            for i, a in enumerate(space.arch_index):
                macs, acc = int(cost.macs[i]), repr(float(space.accuracy[i]))
                for j, name in enumerate(hw):
                    if cost.ok[i, j]:
                        w.writerow((int(a), name, int(cost.runtime_cycles[i, j]), repr(float(cost.energy_total_xmac[i, j])),
                                    int(cost.maestro_macs[i, j]), acc, 1, ""))
                    else:
                        w.writerow((int(a), name, "", "", macs, acc, 0, errors[i, j]))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return len(space) * len(hw)


def _parse_arch(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ValueError(f"--arch {text!r}: expected comma-separated integer indices.") from None


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m codesign_jax.nas", description=__doc__.split("\n")[0])
    p.add_argument("--space", required=True, choices=tuple(SPACES))
    p.add_argument("--arch", default="", help="comma-separated architecture indices (default: the whole subset)")
    p.add_argument("--dataset", default=None, help="nb201: cifar10 (default), cifar100, imagenet16_120")
    p.add_argument("--subset", default=None, help="alphanet: all (default) or selected_1046")
    p.add_argument("--accelerators", required=True, help="ACCELS.csv: " + ",".join(ACCEL_COLUMNS))
    p.add_argument("--conv_dataflow", default="kcp_ws", help="dataflow of CONV (and, with --fc conv, FC) layers")
    p.add_argument("--dw_dataflow", default="dpt", help="dataflow of depthwise (DSCONV) layers")
    p.add_argument("--fc", default="conv", choices=FC_MODES,
                   help="fully connected layers as 1x1 CONV layers (the paper's front end) or as GEMM layers")
    p.add_argument("--gemm_dataflow", default="gemm_nmk", help="dataflow of GEMM layers with --fc gemm")
    p.add_argument("--backend", default="auto", choices=("auto", "jax", "numpy"))
    p.add_argument("--out", required=True, help="output CSV (written atomically)")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        for flag in ("conv_dataflow", "dw_dataflow", "gemm_dataflow"):
            if getattr(a, flag) not in DATAFLOWS:
                raise ValueError(f"--{flag} {getattr(a, flag)!r} is not a registered dataflow: {sorted(DATAFLOWS)}.")
        hw, accels = read_accelerators(a.accelerators)
        space = load_space(a.space, dataset=a.dataset, subset=a.subset, arch=_parse_arch(a.arch))
        cost = spatial_network_cost(space.layers, accels, conv_dataflow=a.conv_dataflow, dw_dataflow=a.dw_dataflow,
                                    fc=a.fc, gemm_dataflow=a.gemm_dataflow, backend=a.backend)
        n = write_rows(a.out, space, hw, cost)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    n_ok = int(cost.ok.sum())
    print(f"wrote {n} rows ({len(space)} architectures x {len(hw)} accelerators; {n_ok} ok, {n - n_ok} rejected) "
          f"to {a.out} in {time.perf_counter() - t0:.1f} s")
    return 0
