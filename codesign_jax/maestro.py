"""``python -m codesign_jax.maestro``: every layer x accelerator x dataflow in one batch, MAESTRO's figures out.

  python -m codesign_jax.maestro --layers LAYERS.csv --accelerators ACCELS.csv \\
      --dataflow kcp_ws,rs,xp_ws --out OUT.csv

LAYERS.csv: ``layer,layer_type,K,C,R,S,Y,X,stride`` (layer_type CONV, DSCONV or GEMM; Y/X are input
sizes as MAESTRO takes them; GEMM M x K @ K x N is written Y=M, C=K, K=N, R=S=X=stride=1).
ACCELS.csv: ``hw,num_pes,l1_size_cstr,l2_size_cstr,noc_bw_cstr,offchip_bw_cstr`` (optional
``noc_hops``). OUT.csv: one row per (dataflow, hw, layer): the keys, MAESTRO's outputs named as in
tests/data/maestro_reference.csv, then ``ok,error``; rejected combinations get ok=0 and the reason.
Custom dataflows: ``--dataflow_file NAME=path.m`` (MAESTRO directive text), repeatable.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from typing import Sequence

import jax
import numpy as np

from codesign_jax import spatial as sp
from codesign_jax.spatial import DATAFLOWS, parse_dataflow

LAYER_COLUMNS = ("layer", "layer_type", "K", "C", "R", "S", "Y", "X", "stride")
ACCEL_COLUMNS = ("hw", "num_pes", "l1_size_cstr", "l2_size_cstr", "noc_bw_cstr", "offchip_bw_cstr")
OUTPUT_FIELDS = tuple(f for f in sp.REPORT_FIELDS if f not in ("l1_fits", "l2_fits"))
_INT_FIELDS = ("runtime_cycles", "num_macs_top", "peak_noc_bw_req", "offchip_bw_req")


def _read_table(path: str, columns: Sequence[str], optional: Sequence[str] = (), ignore: Sequence[str] = (),
                aliases: dict | None = None) -> list[dict]:
    """Reads a CSV with exactly-named columns; positive integers everywhere but the name/type columns.

    ``ignore``: extra columns accepted and dropped; ``aliases``: ``{header name: column}`` renames."""
    aliases = aliases or {}
    try:
        f = open(path, newline="")
    except OSError as e:
        raise ValueError(f"{path}: cannot open ({e.strerror}).") from None
    with f:
        reader = csv.DictReader(f)
        header = [aliases.get(h.strip(), h.strip()) for h in (reader.fieldnames or [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise ValueError(f"{path}, line 1: missing column(s) {missing}; expected {list(columns)}, got {header}.")
        unknown = [c for c in header if c not in columns and c not in optional and c not in ignore]
        if unknown:
            raise ValueError(f"{path}, line 1: unknown column(s) {unknown}; expected {list(columns)}.")
        rows = []
        for lineno, raw in enumerate(reader, start=2):
            row = {aliases.get(k.strip(), k.strip()): (v or "").strip() for k, v in raw.items()
                   if k is not None and k.strip() not in ignore}
            if not any(row.values()):
                continue
            for c in list(columns[1:]) + [c for c in optional if row.get(c, "") != ""]:
                if c == "layer_type":
                    t = row[c].upper()
                    if t not in sp.LAYER_TYPES:
                        raise ValueError(f"{path}, line {lineno}, field {c}: {row[c]!r} is not one of "
                                         f"{sp.LAYER_TYPES}.")
                    row[c] = t
                    continue
                try:
                    v = int(row[c])
                except ValueError:
                    raise ValueError(f"{path}, line {lineno}, field {c}: {row[c]!r} is not an integer.") from None
                if v <= 0:
                    raise ValueError(f"{path}, line {lineno}, field {c}: {v} must be positive.")
                row[c] = v
            if not row[columns[0]]:
                raise ValueError(f"{path}, line {lineno}, field {columns[0]}: empty name.")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no data rows.")
    return rows


def evaluate(layers: list[dict], accels: list[dict], dataflows: Sequence[str], backend: str = "numpy") -> list[dict]:
    """All (dataflow, hw, layer) rows; one batched evaluation per (dataflow, layer type).

    ``backend='numpy'`` (default) starts instantly; 'jax' compiles once per (dataflow, layer type,
    stride-1 or not) (seconds each) and evaluates the layers x accelerators grid with
    ``spatial_cost_grid``: it pays off for large tables.
    """
    out = []
    for df in dataflows:
        for lt in sp.LAYER_TYPES:
            ls = [l for l in layers if l["layer_type"] == lt]
            if not ls:
                continue
            pairs = [(a, l) for a in accels for l in ls]  # accelerator-major
            col = lambda rows, k, d=None: np.array([float(r.get(k) or d) for r in rows])
            grid_layers = sp.SpatialLayer(*(col(ls, k) for k in ("K", "C", "R", "S", "Y", "X", "stride")), lt)
            grid_accels = sp.SpatialAccelerator(
                col(accels, "num_pes"), col(accels, "l1_size_cstr"), col(accels, "l2_size_cstr"),
                col(accels, "noc_bw_cstr"), col(accels, "offchip_bw_cstr"), col(accels, "noc_hops", 1))
            layer = jax.tree.map(lambda x: np.tile(x, len(accels)), grid_layers)
            accel = jax.tree.map(lambda x: np.repeat(x, len(ls)), grid_accels)
            err = sp.check_spatial(layer, accel, df)
            keep = np.flatnonzero(err == "")
            vals = None
            if keep.size and backend == "jax":
                # Every layer on every accelerator: the num_pes-grouped grid evaluator, [L, A] -> pair order
                # (accelerator-major, as ``pairs``). Rejected pairs are computed too but never written.
                grid = sp.spatial_cost_grid(grid_layers, grid_accels, df, validate=False)
                vals = {f: np.asarray(getattr(grid, f)).T.reshape(-1) for f in OUTPUT_FIELDS}
            elif keep.size:
                sub = lambda t: type(t)(*[np.asarray(getattr(t, f.name))[keep] if f.name != "layer_type"
                                          else t.layer_type for f in t.__dataclass_fields__.values()
                                          if f.init])
                rep = sp.spatial_cost(sub(layer), sub(accel), df, backend=backend)
                vals = {f: np.full(len(pairs), np.nan) for f in OUTPUT_FIELDS}
                for f in OUTPUT_FIELDS:
                    vals[f][keep] = np.asarray(getattr(rep, f))
            ok = set(int(i) for i in keep)
            for i, (a, l) in enumerate(pairs):
                row = {"dataflow": df if isinstance(df, str) else df.name, "hw": a["hw"], "layer": l["layer"]}
                if i in ok:
                    for f in OUTPUT_FIELDS:
                        v = float(vals[f][i])
                        row[f] = int(v) if f in _INT_FIELDS or f.endswith(("_read", "_write", "_size_req")) else repr(v)
                    row.update(ok=1, error="")
                else:
                    row.update({f: "" for f in OUTPUT_FIELDS}, ok=0, error=err[i])
                out.append(row)
    return out


def write_atomic(path: str, rows: list[dict]) -> None:
    """Writes the report to a temp file in the target directory, then renames it over ``path``."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".maestro_", suffix=".csv", dir=d)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["dataflow", "hw", "layer", *OUTPUT_FIELDS, "ok", "error"])
            w.writeheader()
            w.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m codesign_jax.maestro", description=__doc__.split("\n")[0])
    p.add_argument("--layers", required=True, help="LAYERS.csv: " + ",".join(LAYER_COLUMNS))
    p.add_argument("--accelerators", required=True, help="ACCELS.csv: " + ",".join(ACCEL_COLUMNS))
    p.add_argument("--dataflow", default="kcp_ws,xp_ws,rs,ykp_os,dpt",
                   help=f"comma-separated dataflow names; registered: {','.join(DATAFLOWS)}")
    p.add_argument("--dataflow_file", action="append", default=[], help="NAME=path to MAESTRO directive text")
    p.add_argument("--out", required=True, help="output CSV (written atomically)")
    p.add_argument("--backend", default="numpy", choices=("numpy", "jax"),
                   help="numpy: no compile (default); jax: jit-compiled, for very large batches")
    a = p.parse_args(argv)
    try:
        for spec in a.dataflow_file:
            name, _, path = spec.partition("=")
            if not name or not path:
                raise ValueError(f"--dataflow_file {spec!r}: expected NAME=path.")
            with open(path) as f:
                DATAFLOWS[name] = parse_dataflow(f.read(), name)
        names = [d.strip() for d in a.dataflow.split(",") if d.strip()]
        unknown = [d for d in names if d not in DATAFLOWS]
        if unknown or not names:
            raise ValueError(f"--dataflow: unknown {unknown or names}; registered: {sorted(DATAFLOWS)}.")
        layers = _read_table(a.layers, LAYER_COLUMNS)
        accels = _read_table(a.accelerators, ACCEL_COLUMNS, optional=("noc_hops",))
        rows = evaluate(layers, accels, names, a.backend)
        write_atomic(a.out, rows)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    n_ok = sum(r["ok"] for r in rows)
    print(f"wrote {len(rows)} rows ({n_ok} ok, {len(rows) - n_ok} rejected) to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
