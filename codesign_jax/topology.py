"""SCALE-Sim topology files: read into the :class:`~codesign_jax.workloads.LayerTable`.

SCALE-Sim 3.0.0 reads two kinds of topology CSV (``scalesim/topology_utils.py``): conv topologies
(``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter,
Strides,``; padded ifmap sizes) and GEMM topologies (``Layer, M, N, K,``), told apart by its ``-i``
flag. A conv layer whose name contains ``DP`` is depthwise: SCALE-Sim runs it as one
single-channel layer per channel, named ``<name>Channel_<i>``.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from importlib import resources

import numpy as np

from codesign_jax._validate import parse_positive_int
from codesign_jax.workloads import Gemm, LayerTable

__all__ = [
    "Topology",
    "load_conv_csv",
    "load_gemm_csv",
    "load_topology",
    "shipped_topologies",
    "shipped_topology_path",
    "topology_kind",
]

_GEMM_FIELDS = ("M", "N", "K")
_CONV_FIELDS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                "Num Filter", "Strides")


@dataclasses.dataclass(frozen=True)
class Topology:
    """A named network loaded from a SCALE-Sim topology file.

    Attributes:
      name: file stem. layers: one :class:`LayerTable` row per file row.
      gemm: the layers as SCALE-Sim simulates them (depthwise rows expanded per channel).
      layer_names: names of ``gemm``'s rows (SCALE-Sim's report order).
    """

    name: str
    layers: LayerTable
    gemm: Gemm
    layer_names: tuple

    def __len__(self) -> int:
        return len(self.layer_names)


def _split(path: str, no: int, line: str) -> list:
    fields = [x.strip() for x in next(csv.reader([line]))]
    while fields and fields[-1] == "":
        fields.pop()
    if len(fields) == 1 and "\t" in line:
        raise ValueError(f"{path}:{no}: the line is tab-separated; SCALE-Sim topologies are "
                         f"comma-separated (got {line.strip()!r}).")
    return fields


def _lines(path: str) -> list:
    try:
        with open(path, newline="") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise ValueError(f"{path}: cannot open ({e.strerror}).") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (a SCALE-Sim topology is a CSV).") from None
    if not lines:
        raise ValueError(f"{path}: empty topology file (expected a header line).")
    return lines


def topology_kind(path: str) -> str | None:
    """'conv' or 'gemm' if the header line names SCALE-Sim's columns of that kind, else None."""
    header = [x.strip().lower() for x in _split(path, 1, _lines(path)[0])]
    if [h for h in header[1:4]] == ["m", "n", "k"]:
        return "gemm"
    if [h for h in header[1:8]] == [c.lower() for c in _CONV_FIELDS]:
        return "conv"
    return None


def _rows(path: str):
    """Yields ``(line_no, fields)`` for a SCALE-Sim CSV: header skipped, trailing commas and
    spaces tolerated, rows without any value (blank, or only commas) skipped."""
    lines = _lines(path)
    _split(path, 1, lines[0])  # a tab-separated header is named as such
    for no, line in enumerate(lines[1:], start=2):
        fields = _split(path, no, line) if line.strip() else []
        if any(fields):
            yield no, fields


def _int_field(path, no, name, text):
    return parse_positive_int(text, f"{path}:{no}: field {name!r}")


def load_gemm_csv(path: str) -> Topology:
    """Loads a SCALE-Sim GEMM topology (``Layer, M, N, K,``; optional sparsity column ignored)."""
    names, vals = [], []
    for no, fields in _rows(path):
        if len(fields) < 4:
            raise ValueError(f"{path}:{no}: expected 'Layer, M, N, K', got {len(fields)} "
                             f"field(s): {fields}.")
        names.append(fields[0])
        vals.append([_int_field(path, no, n, t) for n, t in zip(_GEMM_FIELDS, fields[1:4])])
    if not vals:
        raise ValueError(f"{path}: no layers found.")
    a = np.asarray(vals, dtype=np.int64)
    layers = LayerTable.gemm(a[:, 0], a[:, 1], a[:, 2], names=names)
    gemm = layers.to_gemm()
    return Topology(_topo_name(path), layers, gemm, gemm.names)


def load_conv_csv(path: str) -> Topology:
    """Loads a SCALE-Sim conv topology (``Layer name, IFMAP Height, IFMAP Width, Filter Height,
    Filter Width, Channels, Num Filter, Strides,``); ``DP`` layers are depthwise (see module doc)."""
    names, vals = [], []
    for no, fields in _rows(path):
        if len(fields) < 8:
            raise ValueError(f"{path}:{no}: expected 8 fields ({', '.join(_CONV_FIELDS)} after "
                             f"the layer name), got {len(fields)}: {fields}.")
        v = [_int_field(path, no, n, t) for n, t in zip(_CONV_FIELDS, fields[1:8])]
        if v[2] > v[0] or v[3] > v[1]:
            raise ValueError(f"{path}:{no}: filter {v[2]}x{v[3]} larger than ifmap "
                             f"{v[0]}x{v[1]} in layer {fields[0]!r}.")
        names.append(fields[0])
        vals.append(v)
    if not vals:
        raise ValueError(f"{path}: no layers found.")
    a = np.asarray(vals, dtype=np.int64)
    layers = LayerTable.from_scalesim(*a.T, depthwise=["DP" in n for n in names], names=names)
    gemm = layers.to_gemm()
    return Topology(_topo_name(path), layers, gemm, gemm.names)


def load_topology(path: str, input_type: str = "conv") -> Topology:
    """Loads a SCALE-Sim topology CSV; ``input_type`` is ``'conv'`` or ``'gemm'`` (as ``-i``).

    Raises:
      ValueError: naming the file and line; also when the header names the other kind's columns
        (a conv topology read with ``-i gemm`` would take M, N, K from the ifmap and filter sizes).
    """
    if input_type not in ("conv", "gemm"):
        raise ValueError(f"input_type must be 'conv' or 'gemm', got {input_type!r}.")
    kind = topology_kind(path)
    if kind is not None and kind != input_type:
        header = _lines(path)[0].strip()
        raise ValueError(f"{path}: the header names {kind} topology columns ({header!r}) but the "
                         f"input type is {input_type!r}; run with -i {kind}.")
    return load_gemm_csv(path) if input_type == "gemm" else load_conv_csv(path)


def _topo_name(path: str) -> str:
    base = os.path.basename(path)
    return base.rsplit(".", 1)[0] if "." in base else base


def shipped_topologies() -> dict:
    """Names of the topologies shipped as package data -> input type ('conv' or 'gemm')."""
    root = resources.files("codesign_jax") / "data" / "topologies"
    out = {}
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".csv"):
            stem = entry.name[:-4]
            out[stem] = "gemm" if stem.endswith("_gemm") else "conv"
    return out


def shipped_topology_path(name: str) -> str:
    """Filesystem path of a shipped topology (see :func:`shipped_topologies`)."""
    avail = shipped_topologies()
    if name not in avail:
        raise ValueError(f"unknown shipped topology {name!r}; available: {sorted(avail)}.")
    return str(resources.files("codesign_jax") / "data" / "topologies" / f"{name}.csv")
