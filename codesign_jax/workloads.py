"""Workload tables: GEMM and convolution layers as struct-of-arrays pytrees.

A network is a table: every field is an integer array of shape ``[n_layers]`` (or any
broadcastable batch shape). Convolutions lower to GEMMs exactly as SCALE-Sim 3.0.0 does
(``scalesim/topology_utils.py: topologies.topo_calc_hyperparams`` and
``scalesim/compute/operand_matrix.py``):

* ``M`` = ofmap pixels per filter = ``E_h * E_w`` with ``E = ceil((I - F + s) / s)``,
* ``N`` = number of filters,
* ``K`` = conv window = ``F_h * F_w * C``.

A GEMM topology row ``(M, N, K)`` is itself loaded by SCALE-Sim as a conv with ifmap ``M x K``,
filter ``1 x K``, one channel, ``N`` filters and stride 1 (``topologies.load_arrays_gemm``).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from importlib import resources
from typing import Sequence

import numpy as np
from flax import struct

__all__ = [
    "GEMM_ARRAY_FIELDS",
    "Gemm",
    "Conv",
    "Topology",
    "load_topology",
    "load_gemm_csv",
    "load_conv_csv",
    "shipped_topologies",
    "shipped_topology_path",
    "validate_positive_int",
    "parse_positive_int",
]


def validate_positive_int(name: str, value, *, minimum: int = 1) -> np.ndarray:
    """Returns ``value`` as an int64 array, or raises ``ValueError`` naming ``name``.

    Rejects NaN/inf, non-integers, and values below ``minimum``.
    """
    arr = np.asarray(value)
    if arr.size == 0:
        raise ValueError(f"{name} is empty.")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype} ({value!r}).")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            bad = arr[~np.isfinite(arr)].ravel()[0]
            raise ValueError(f"{name} must be finite, got {bad}.")
        if not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)].ravel()[0]
            raise ValueError(f"{name} must be an integer, got {bad}.")
    if np.any(arr < minimum):
        bad = arr[arr < minimum].ravel()[0]
        raise ValueError(f"{name} must be >= {minimum}, got {bad}.")
    return arr.astype(np.int64)


GEMM_ARRAY_FIELDS = ("M", "N", "K", "ifmap_unique", "ifmap_valid", "ofmap_w", "filt_h", "filt_w",
                     "channels", "last_h", "last_w")


@struct.dataclass
class Gemm:
    """A table of GEMMs ``out[M, N] = A[M, K] @ B[K, N]`` (int arrays, any common batch shape).

    In SCALE-Sim terms ``A`` is the ifmap operand (``M`` ofmap pixels x ``K`` window), ``B`` the
    filter operand (``K`` x ``N`` filters).

    ``ifmap_unique`` and ``ifmap_valid`` describe the ifmap operand's addresses: the number of
    distinct ifmap words the operand touches and the number of its ``M*K`` entries that are real
    addresses (SCALE-Sim marks window positions that fall off the ifmap edge with -1,
    ``operand_matrix.calc_ifmap_elem_addr``). For a plain GEMM both equal ``M*K``.

    Lowered convolutions also carry their window geometry (``None`` for a plain GEMM, whose
    windows never leave the ifmap): ``ofmap_w`` (pixels per ofmap row), ``filt_h``, ``filt_w``,
    ``channels`` and ``last_h``/``last_w``, the in-range filter rows/cols of the last ofmap
    row/column's windows (``ifmap - (ofmap - 1) * stride``, may be <= 0). They locate the -1
    entries that move SCALE-Sim's last ifmap SRAM request (the DETAILED report's stop cycle).
    """

    M: np.ndarray
    N: np.ndarray
    K: np.ndarray
    ifmap_unique: np.ndarray
    ifmap_valid: np.ndarray
    names: tuple = struct.field(pytree_node=False, default=())
    ofmap_w: np.ndarray | None = None
    filt_h: np.ndarray | None = None
    filt_w: np.ndarray | None = None
    channels: np.ndarray | None = None
    last_h: np.ndarray | None = None
    last_w: np.ndarray | None = None

    @classmethod
    def create(cls, M, N, K, names: Sequence[str] = ()) -> "Gemm":
        """Validated constructor: ``M, N, K`` >= 1 integers (broadcast together)."""
        M = validate_positive_int("M", M)
        N = validate_positive_int("N", N)
        K = validate_positive_int("K", K)
        M, N, K = np.broadcast_arrays(M, N, K)
        return cls(M=M, N=N, K=K, ifmap_unique=M * K, ifmap_valid=M * K, names=tuple(names))

    @property
    def macs(self) -> np.ndarray:
        return self.M * self.N * self.K

    def with_geometry(self) -> "Gemm":
        """This table with conv window geometry filled in; a plain GEMM is SCALE-Sim's 1-channel
        ``M x K`` ifmap under a ``1 x K`` filter (topologies.load_arrays_gemm)."""
        if self.ofmap_w is not None:
            return self
        one = np.ones_like(np.asarray(self.M))
        return self.replace(ofmap_w=one, filt_h=one, filt_w=np.asarray(self.K), channels=one,
                            last_h=one, last_w=np.asarray(self.K))

    @classmethod
    def concat(cls, tables: Sequence["Gemm"]) -> "Gemm":
        """Concatenates 1-D tables along the layer axis (geometry kept if any table has it)."""
        if any(t.ofmap_w is not None for t in tables):
            tables = [t.with_geometry() for t in tables]
        names = tuple(n for t in tables for n in (t.names or ("",) * len(t)))
        fields = [f for f in GEMM_ARRAY_FIELDS if getattr(tables[0], f) is not None]
        return cls(names=names, **{f: np.concatenate([np.ravel(getattr(t, f)) for t in tables])
                                   for f in fields})

    @property
    def shape(self) -> tuple:
        return np.shape(self.M)

    def __len__(self) -> int:
        return int(np.size(self.M))


def _touched(extent, out, filt, stride, valid):
    """Distinct input coordinates read along one axis by ``out`` windows of size ``filt``.

    Windows start at ``o * stride``; coordinates at or beyond ``extent`` are not addresses
    (SCALE-Sim ``calc_ifmap_elem_addr`` marks them -1). Without overlap (stride >= filt) every
    in-range coordinate is distinct (``valid``); with overlap the windows cover one interval.
    """
    return np.where(stride >= filt, valid, np.minimum(extent, (out - 1) * stride + filt))


def _valid(extent, out, filt, stride):
    """Sum over windows of the in-range coordinates (the -1-free entries along one axis)."""
    o = np.arange(int(np.max(out)))
    starts = o[None, :] * np.reshape(stride, (-1, 1))
    in_range = np.clip(np.reshape(extent, (-1, 1)) - starts, 0, np.reshape(filt, (-1, 1)))
    in_range = np.where(o[None, :] < np.reshape(out, (-1, 1)), in_range, 0)
    return in_range.sum(axis=1).reshape(np.shape(extent))


@struct.dataclass
class Conv:
    """A table of 2-D convolutions in SCALE-Sim's topology terms (int arrays ``[n_layers]``).

    Fields: ``ifmap_h, ifmap_w, filt_h, filt_w, channels, num_filters, stride`` (SCALE-Sim uses
    one stride for both axes). No padding: SCALE-Sim's topologies list padded ifmap sizes.
    """

    ifmap_h: np.ndarray
    ifmap_w: np.ndarray
    filt_h: np.ndarray
    filt_w: np.ndarray
    channels: np.ndarray
    num_filters: np.ndarray
    stride: np.ndarray
    names: tuple = struct.field(pytree_node=False, default=())

    @classmethod
    def create(cls, ifmap_h, ifmap_w, filt_h, filt_w, channels, num_filters, stride=1,
               names: Sequence[str] = ()) -> "Conv":
        """Validated constructor; every field >= 1 and the filter must fit in the ifmap."""
        f = {k: validate_positive_int(k, v) for k, v in dict(
            ifmap_h=ifmap_h, ifmap_w=ifmap_w, filt_h=filt_h, filt_w=filt_w, channels=channels,
            num_filters=num_filters, stride=stride).items()}
        arrs = np.broadcast_arrays(*f.values())
        f = dict(zip(f.keys(), arrs))
        for a, b in (("filt_h", "ifmap_h"), ("filt_w", "ifmap_w")):
            if np.any(f[a] > f[b]):
                i = int(np.argmax((f[a] > f[b]).ravel()))
                raise ValueError(
                    f"{a}={f[a].ravel()[i]} exceeds {b}={f[b].ravel()[i]}"
                    + (f" in layer {names[i]!r}" if names else "") + ".")
        return cls(**f, names=tuple(names))

    @property
    def ofmap_h(self):
        # topologies.topo_calc_hyperparams: ofmap_h = ceil((ifmap_h - filt_h + stride) / stride)
        return -(-(self.ifmap_h - self.filt_h + self.stride) // self.stride)

    @property
    def ofmap_w(self):
        return -(-(self.ifmap_w - self.filt_w + self.stride) // self.stride)

    def to_gemm(self) -> Gemm:
        """Lowers to the GEMM SCALE-Sim simulates (im2col): M=E_h*E_w, N=filters, K=Fh*Fw*C."""
        eh, ew = self.ofmap_h, self.ofmap_w
        M = eh * ew
        K = self.filt_h * self.filt_w * self.channels
        vh = _valid(self.ifmap_h, eh, self.filt_h, self.stride)
        vw = _valid(self.ifmap_w, ew, self.filt_w, self.stride)
        uniq = (_touched(self.ifmap_h, eh, self.filt_h, self.stride, vh)
                * _touched(self.ifmap_w, ew, self.filt_w, self.stride, vw) * self.channels)
        valid = vh * vw * self.channels
        return Gemm(M=M, N=self.num_filters, K=K, ifmap_unique=uniq, ifmap_valid=valid,
                    names=self.names, ofmap_w=ew, filt_h=self.filt_h, filt_w=self.filt_w,
                    channels=self.channels, last_h=self.ifmap_h - (eh - 1) * self.stride,
                    last_w=self.ifmap_w - (ew - 1) * self.stride)

    def __len__(self) -> int:
        return int(np.size(self.ifmap_h))


@dataclasses.dataclass(frozen=True)
class Topology:
    """A named list of layers loaded from a SCALE-Sim topology file."""

    name: str
    layer_names: tuple
    gemm: Gemm
    conv: Conv | None = None  # set for conv topologies

    def __len__(self) -> int:
        return len(self.layer_names)


def _rows(path: str):
    """Yields ``(line_no, fields)`` for a SCALE-Sim CSV: header skipped, trailing commas and
    spaces tolerated, blank lines skipped."""
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    if not lines:
        raise ValueError(f"{path}: empty topology file (expected a header line).")
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [x.strip() for x in next(csv.reader([line]))]
        while fields and fields[-1] == "":
            fields.pop()
        yield no, fields


def parse_positive_int(text: str, where: str) -> int:
    """Parses a text field as an integer >= 1; errors start with ``where`` (file:line, field)."""
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{where} is not a number: {text!r}.") from None
    if not np.isfinite(v) or v != int(v):
        raise ValueError(f"{where} must be an integer, got {text!r}.")
    if v < 1:
        raise ValueError(f"{where} must be >= 1, got {text!r}.")
    return int(v)


def _int_field(path, no, name, text):
    return parse_positive_int(text, f"{path}:{no}: field {name!r}")


_GEMM_FIELDS = ("M", "N", "K")
_CONV_FIELDS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                "Num Filter", "Strides")


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
    gemm = Gemm.create(a[:, 0], a[:, 1], a[:, 2], names=names)
    return Topology(_topo_name(path), tuple(names), gemm)


def load_conv_csv(path: str) -> Topology:
    """Loads a SCALE-Sim conv topology (``Layer name, IFMAP Height, IFMAP Width, Filter Height,
    Filter Width, Channels, Num Filter, Strides,``).

    As SCALE-Sim does, a layer whose name contains ``DP`` is depthwise and expands into one
    single-channel layer per channel, named ``<name>Channel_<i>``.
    """
    names, vals = [], []
    for no, fields in _rows(path):
        if len(fields) < 8:
            raise ValueError(f"{path}:{no}: expected 8 fields ({', '.join(_CONV_FIELDS)} after "
                             f"the layer name), got {len(fields)}: {fields}.")
        v = [_int_field(path, no, n, t) for n, t in zip(_CONV_FIELDS, fields[1:8])]
        if v[2] > v[0] or v[3] > v[1]:
            raise ValueError(f"{path}:{no}: filter {v[2]}x{v[3]} larger than ifmap "
                             f"{v[0]}x{v[1]} in layer {fields[0]!r}.")
        if "DP" in fields[0]:
            for ch in range(v[4]):
                names.append(f"{fields[0]}Channel_{ch}")
                vals.append(v[:4] + [1] + v[5:])
        else:
            names.append(fields[0])
            vals.append(v)
    if not vals:
        raise ValueError(f"{path}: no layers found.")
    a = np.asarray(vals, dtype=np.int64)
    conv = Conv.create(*a.T, names=names)
    return Topology(_topo_name(path), tuple(names), conv.to_gemm(), conv)


def load_topology(path: str, input_type: str = "conv") -> Topology:
    """Loads a SCALE-Sim topology CSV; ``input_type`` is ``'conv'`` or ``'gemm'`` (as ``-i``)."""
    if input_type == "gemm":
        return load_gemm_csv(path)
    if input_type == "conv":
        return load_conv_csv(path)
    raise ValueError(f"input_type must be 'conv' or 'gemm', got {input_type!r}.")


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
