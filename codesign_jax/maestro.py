"""``python -m codesign_jax.maestro``: MAESTRO's own command line, or every layer x accelerator x dataflow
of two CSV tables in one batch.

MAESTRO drop-in (a script switches binaries and nothing else)::

  python -m codesign_jax.maestro --HW_file=data/hw/accelerator_1.m --Mapping_file=data/mapping/x.m \\
      --print_res=false --print_res_csv_file=true --print_log_file=false
  python -m codesign_jax.maestro --Mapping_file=x.m --num_pes=64 --l1_size_cstr=512 --l2_size_cstr=108000 \\
      --noc_bw_cstr=64 --offchip_bw_cstr=32 --noc_hop_latency=1

reads MAESTRO's model file (``Constant`` lines, ``Network { Layer { Type, Stride, Dimensions,
Dataflow } }``; CONV, DSCONV, GEMM, NGCONV, TRCONV) and writes the CSV MAESTRO writes
(``<mapping basename>.csv`` in the working directory, appended as MAESTRO appends), with MAESTRO's
flag semantics (see ``_maestro_options``). What MAESTRO refuses or crashes on exits non-zero with the
reason, and no CSV is written (MAESTRO writes it only after every layer is analysed).

Tables::

  python -m codesign_jax.maestro --layers LAYERS.csv --accelerators ACCELS.csv \\
      --dataflow kcp_ws,rs,xp_ws --out OUT.csv

LAYERS.csv: ``layer,layer_type,K,C,R,S,Y,X,stride`` (layer_type CONV, DSCONV or GEMM; Y/X are input
sizes as MAESTRO takes them; GEMM M x K @ K x N is written Y=M, C=K, K=N, R=S=X=stride=1).
ACCELS.csv: ``hw,num_pes,l1_size_cstr,l2_size_cstr,noc_bw_cstr,offchip_bw_cstr`` (optional
``noc_hops``, and one column per dataflow constant, e.g. ``KTileSz``, overriding the file's
``Constant`` defaults). OUT.csv: one row per (dataflow, hw, layer): the keys, MAESTRO's outputs
named as in tests/data/maestro_reference.csv, then ``ok,error``; rejected combinations and points
where MAESTRO's own answer is meaningless (runtime 0) get ok=0 and the reason. Custom dataflows:
``--dataflow_file NAME=path.m`` (directive text, optionally ``Constant`` lines and a
``Dataflow { ... }`` block), repeatable.
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
OUTPUT_FIELDS = tuple(f for f in sp.REPORT_FIELDS if f not in ("l1_fits", "l2_fits", "degenerate"))
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
                if v < (0 if c == "noc_hops" else 1):
                    raise ValueError(f"{path}, line {lineno}, field {c}: {v} must be "
                                     f"{'non-negative' if c == 'noc_hops' else 'positive'}.")
                row[c] = v
            if not row[columns[0]]:
                raise ValueError(f"{path}, line {lineno}, field {columns[0]}: empty name.")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no data rows.")
    return rows


def _accel_constants(accels: list[dict], df, path: str = "accelerators") -> dict:
    """Per-accelerator values of the constants ``df`` uses: a column of the accelerators table where
    given (empty cells take the default), else the default ('num_pes' follows the PE count)."""
    out = {}
    for name in df.constant_names:
        default = df.defaults.get(name)
        if all(a.get(name, "") == "" for a in accels):
            if default is None:
                raise ValueError(f"{path}: dataflow {df.name!r} needs constant {name}: add a column {name} or a "
                                 f"'Constant {name} value;' line.")
            continue
        vals = []
        for i, a in enumerate(accels):
            v = a.get(name, "")
            if v == "":
                if default is None:
                    raise ValueError(f"{path}, hw {a['hw']!r}: no value for constant {name} and no default.")
                v = a["num_pes"] if default == "num_pes" else default
            vals.append(float(v))
        out[name] = np.array(vals)
    return out


def evaluate(layers: list[dict], accels: list[dict], dataflows: Sequence, backend: str = "numpy") -> list[dict]:
    """All (dataflow, hw, layer) rows; one batched evaluation per (dataflow, layer type).

    ``dataflows``: registered names or :class:`~codesign_jax.spatial.Dataflow` objects. ``backend='numpy'``
    (default) starts instantly; 'jax' compiles once per (dataflow, layer type, stride-1 or not) (seconds
    each) and evaluates the layers x accelerators grid with ``spatial_cost_grid``: it pays off for large
    tables. Points where MAESTRO's answer is meaningless (``SpatialReport.degenerate``) get ok=0.
    """
    out = []
    for df in dataflows:
        df = sp.get_dataflow(df)
        for lt in sp.LAYER_TYPES:
            ls = [l for l in layers if l["layer_type"] == lt]
            if not ls:
                continue
            pairs = [(a, l) for a in accels for l in ls]  # accelerator-major
            col = lambda rows, k, d=None: np.array([float(r.get(k) or d) for r in rows])
            grid_layers = sp.SpatialLayer(*(col(ls, k) for k in ("K", "C", "R", "S", "Y", "X", "stride")), lt)
            grid_accels = sp.SpatialAccelerator(
                col(accels, "num_pes"), col(accels, "l1_size_cstr"), col(accels, "l2_size_cstr"),
                col(accels, "noc_bw_cstr"), col(accels, "offchip_bw_cstr"), col(accels, "noc_hops", 1),
                constants=_accel_constants(accels, df))
            layer = jax.tree.map(lambda x: np.tile(np.broadcast_to(x, len(ls)), len(accels)), grid_layers)
            accel = jax.tree.map(lambda x: np.repeat(x, len(ls)), grid_accels)
            err = sp.check_spatial(layer, accel, df)
            keep = np.flatnonzero(err == "")
            vals = None
            if keep.size and backend == "jax":
                # Every layer on every accelerator: the num_pes-grouped grid evaluator, [L, A] -> pair order
                # (accelerator-major, as ``pairs``). Rejected pairs are computed too but never written.
                grid = sp.spatial_cost_grid(grid_layers, grid_accels, df, validate=False)
                vals = {f: np.asarray(getattr(grid, f)).T.reshape(-1) for f in sp.REPORT_FIELDS}
            elif keep.size:
                rep = sp.spatial_cost(*jax.tree.map(lambda x: x[keep], (layer, accel)), df, backend=backend)
                vals = {f: np.full(len(pairs), np.nan) for f in sp.REPORT_FIELDS}
                for f in sp.REPORT_FIELDS:
                    vals[f][keep] = np.asarray(getattr(rep, f))
            if vals is not None:
                bad = sp.degenerate_errors(sp.SpatialReport(**vals))
                err = np.where((err == "") & (bad != ""), bad, err)
            for i, (a, l) in enumerate(pairs):
                row = {"dataflow": df.name, "hw": a["hw"], "layer": l["layer"]}
                if err[i] == "" or vals is not None and vals["degenerate"][i] == 1:
                    for f in OUTPUT_FIELDS:
                        v = float(vals[f][i])
                        whole = f in _INT_FIELDS or f.endswith(("_read", "_write", "_size_req"))
                        row[f] = int(v) if whole and np.isfinite(v) else repr(v)
                else:
                    row.update({f: "" for f in OUTPUT_FIELDS})
                row.update(ok=int(err[i] == ""), error=err[i])
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


#: MAESTRO's options (maestro-project/maestro@4eb08d1 option.hpp: Options::parse) and their defaults;
#: None: accepted and without effect on the figures (printing, design-space exploration).
_MAESTRO_OPTIONS = {
    "Mapping_file": "", "HW_file": "", "num_pes": 7, "l1_size_cstr": 2**31 - 1, "l2_size_cstr": 2**31 - 1,
    "noc_bw_cstr": 2**31 - 1, "offchip_bw_cstr": 70000, "noc_hops": 1, "noc_hop_latency": 0, "num_simd_lanes": 1,
    "print_res_csv_file": True, "print_res": True, "print_log_file": False, "msg_print_lv": 0,
    "noc_mc_support": True, "top_bw_only": False, "bw_sweep": False, "full_buffer": None,
    "do_implicit_reduction": None, "do_fg_sync": None, "do_reduction_op": None, "do_dse": None, "verbose": None,
    "print_design_space": None, "print_space": None, "min_num_PEs": None, "min_noc_bw": None, "max_num_PEs": None,
    "max_noc_bw": None, "pe_tick": None, "bw_tick": None, "area_constraint": None, "power_constraint": None,
    "optimization_target": None, "dataflow_file": None, "layer_file": None, "help": None,
}
_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False, "on": True, "off": False}


def is_maestro_command_line(argv: Sequence[str]) -> bool:
    """True when ``argv`` is MAESTRO's own command line (``--Mapping_file=...`` and friends)."""
    return any(a.startswith("--") and a[2:].split("=")[0] in ("Mapping_file", "HW_file") for a in argv)


def _maestro_options(argv: Sequence[str]) -> dict:
    """MAESTRO's options from ``argv`` (boost::program_options: ``--name=value`` or ``--name value``, an
    unambiguous prefix of a name allowed), typed and defaulted as option.hpp does.

    Flag semantics (API_user-interface-v2.hpp ParseHW, maestro-top.cpp): with ``--HW_file`` the file's
    num_pes, l1/l2 sizes, NoC and off-chip bandwidths (absent keys: INT_MAX, PEs 1) replace the flags and
    the NoC hop latency is its ``NoC_NumHops`` (default 1); otherwise the hop latency is
    ``noc_hop_latency * noc_hops`` (default 0 * 1: a NoC transfer of x takes ceil(x / bw) - 1 cycles).
    """
    opts, it = {}, iter(argv)
    for arg in it:
        if not arg.startswith("--"):
            raise ValueError(f"MAESTRO option expected, got {arg!r}.")
        key, eq, val = arg[2:].partition("=")
        names = [n for n in _MAESTRO_OPTIONS if n == key] or [n for n in _MAESTRO_OPTIONS if n.startswith(key)]
        if len(names) != 1:
            raise ValueError(f"unrecognised option '--{key}'" + (f" (ambiguous: {names})" if names else "") +
                             " (MAESTRO: boost::program_options throws).")
        name = names[0]
        if not eq:
            val = next(it, None)
            if val is None:
                raise ValueError(f"option '--{name}' requires an argument.")
        default = _MAESTRO_OPTIONS[name]
        if isinstance(default, bool):
            if val.lower() not in _BOOL:
                raise ValueError(f"option '--{name}': {val!r} is not a boolean.")
            opts[name] = _BOOL[val.lower()]
        elif isinstance(default, int):
            try:
                opts[name] = int(val)
            except ValueError:
                raise ValueError(f"option '--{name}': {val!r} is not an integer.") from None
        else:
            opts[name] = val
    return {**{k: v for k, v in _MAESTRO_OPTIONS.items() if v is not None}, **opts}


def _csv_name(mapping_file: str) -> str:
    """APIV2::ConstructOutputFileName: drop up to two leading path components, cut at the first '.'."""
    name = mapping_file
    for _ in range(2):
        name = name[name.find("/") + 1:]
    dot = name.find(".")
    return (name if dot < 0 else name[:dot]) + ".csv"


def maestro_main(argv: Sequence[str]) -> int:
    """MAESTRO's command line: evaluate the model file, write MAESTRO's CSV; 0, or 2 where MAESTRO stops."""
    from codesign_jax.spatial import _csv, _files, _run  # noqa: PLC0415  (only the drop-in needs them)

    try:
        o = _maestro_options(argv)
        if o["num_simd_lanes"] < 1:
            raise ValueError(f"--num_simd_lanes={o['num_simd_lanes']}: MAESTRO divides by it.")
        if o["bw_sweep"] and o["top_bw_only"]:
            raise ValueError("--bw_sweep with --top_bw_only (MAESTRO's NoC bandwidth sweep) is not modelled.")
        if not o["Mapping_file"]:
            raise ValueError("no --Mapping_file given (MAESTRO: 'Failed to open the input file').")
        model = _files.read_model_file(o["Mapping_file"])
        if o["HW_file"]:
            hw = _files.read_hw_file(o["HW_file"])
            pes, l1, l2, noc_bw, off_bw, lat = hw.num_pes, hw.l1_size, hw.l2_size, hw.noc_bw, hw.offchip_bw, hw.noc_hops
        else:
            pes, l1, l2, noc_bw, off_bw = (o["num_pes"], o["l1_size_cstr"], o["l2_size_cstr"], o["noc_bw_cstr"],
                                           o["offchip_bw_cstr"])
            lat = o["noc_hop_latency"] * o["noc_hops"]
        for k, v in (("num_pes", pes), ("noc_bw", noc_bw), ("offchip_bw", off_bw)):
            if v <= 0:
                raise ValueError(f"{k}={v}: MAESTRO divides by it (SIGFPE).")
        accel = sp.SpatialAccelerator(float(pes), float(l1), float(l2), float(noc_bw), float(off_bw), float(lat))
        res = _run.evaluate_model(model, accel, simd=o["num_simd_lanes"])
        bad = _run.first_error(res)
        if bad is not None:
            i, name, why = bad
            raise ValueError(f"{o['Mapping_file']}: layer {i + 1} ({name!r}): {why}; MAESTRO stops here and writes "
                             "no CSV.")
        lines = _csv.csv_lines(res.network, res.names, res.fields, res.multi_level, res.input_size,
                               res.weight_size, res.fields["arithmetic_intensity"], pes, noc_bw,
                               o["num_simd_lanes"])
        if o["print_res_csv_file"]:
            path = _csv_name(o["Mapping_file"])
            new = not os.path.exists(path)
            with open(path, "a") as f:
                f.write((_csv.CSV_HEADER + "\n" if new else "") + "".join(line + "\n" for line in lines))
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    peak = np.nanmax(res.fields["peak_noc_bw_req"]) if len(lines) else 0
    off = np.nanmax(res.fields["offchip_bw_req"]) if len(lines) else 0
    print("BW Analysis:")  # APIV2::OutputResults
    if peak > noc_bw:
        print(f"[WARNING:BW] Per-layer NoC BW requirement [{int(peak)}] is larger than the given NoC BW [{noc_bw}]")
    if off > off_bw:
        print(f"[WARNING:BW] Per-layer OffChip BW requirement [{int(off)}] is larger than the given OffChip BW "
              f"[{off_bw}]")
    if peak <= noc_bw and off <= off_bw:
        print("[PASS]")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if is_maestro_command_line(argv):
        return maestro_main(argv)
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
        dataflows = dict(DATAFLOWS)
        for spec in a.dataflow_file:
            name, _, path = spec.partition("=")
            if not name or not path:
                raise ValueError(f"--dataflow_file {spec!r}: expected NAME=path.")
            with open(path) as f:
                dataflows[name] = parse_dataflow(f.read(), name)
        names = [d.strip() for d in a.dataflow.split(",") if d.strip()]
        if a.dataflow_file and a.dataflow == p.get_default("dataflow"):
            names = [s.partition("=")[0] for s in a.dataflow_file]  # --dataflow_file alone: just those
        unknown = [d for d in names if d not in dataflows]
        if unknown or not names:
            raise ValueError(f"--dataflow: unknown {unknown or names}; registered: {sorted(dataflows)}.")
        consts = sorted({c for d in names for c in dataflows[d].constant_names})
        layers = _read_table(a.layers, LAYER_COLUMNS)
        accels = _read_table(a.accelerators, ACCEL_COLUMNS, optional=("noc_hops", *consts))
        rows = evaluate(layers, accels, [dataflows[d] for d in names], a.backend)
        write_atomic(a.out, rows)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    n_ok = sum(r["ok"] for r in rows)
    print(f"wrote {len(rows)} rows ({n_ok} ok, {len(rows) - n_ok} rejected) to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
