"""The shipped NAS tables (``codesign_jax/nas/data/*.csv.gz``, sources in ``data/README.md``)."""

from __future__ import annotations

import csv
import functools
import gzip
import io
from importlib import resources

import numpy as np

__all__ = ["NB201_OPS", "alphanet_table", "nb201_arch_str", "nb201_table", "paper_accelerators_path"]

#: NAS-Bench-201 cell operations in the order of their op codes (0-4).
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Cell edges (from node, to node) in the order of ``arch_str`` / ``op_codes``.
NB201_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def _read(name: str) -> list[dict]:
    raw = resources.files("codesign_jax.nas").joinpath("data", name).read_bytes()
    return list(csv.DictReader(io.StringIO(gzip.decompress(raw).decode())))


@functools.lru_cache(maxsize=None)
def nb201_table() -> dict:
    """All 15,625 NAS-Bench-201 cells in the canonical index order.

    Returns ``{'ops': int8 [15625, 6] op codes (edge order of NB201_EDGES), 'cifar10' | 'cifar100' |
    'imagenet16_120': float64 [15625] test accuracy (%)}``.
    """
    rows = _read("nb201.csv.gz")
    out = {"ops": np.array([[int(c) for c in r["op_codes"]] for r in rows], np.int8)}
    for k in ("cifar10", "cifar100", "imagenet16_120"):
        out[k] = np.array([float(r[k]) for r in rows])
    return out


def nb201_arch_str(ops) -> str:
    """NAS-Bench-201's ``arch_str`` of one cell (6 op codes), e.g. ``|nor_conv_3x3~0|+|...|``."""
    ops = [int(o) for o in ops]
    nodes = []
    for to in (1, 2, 3):
        nodes.append("|" + "|".join(f"{NB201_OPS[ops[e]]}~{f}" for e, (f, t) in enumerate(NB201_EDGES)
                                     if t == to) + "|")
    return "+".join(nodes)


@functools.lru_cache(maxsize=None)
def alphanet_table() -> dict:
    """The 9,999 AlphaNet subnets sampled by the semi-decoupled paper's repository.

    Returns ``{'resolution': int64 [n], 'width': int64 [n, 9], 'kernel_size' | 'expand_ratio' | 'depth':
    int64 [n, 7], 'top1_acc' | 'mflops' | 'mparams': float64 [n], 'selected_1046': bool [n]}``.
    """
    rows = _read("alphanet.csv.gz")
    out = {"resolution": np.array([int(r["resolution"]) for r in rows], np.int64),
           "width": np.array([[int(w) for w in r["width"].split("-")] for r in rows], np.int64)}
    for k in ("kernel_size", "expand_ratio", "depth"):
        out[k] = np.array([[int(c) for c in r[k]] for r in rows], np.int64)
    for k in ("top1_acc", "mflops", "mparams"):
        out[k] = np.array([float(r[k]) for r in rows])
    out["selected_1046"] = np.array([r["selected_1046"] == "1" for r in rows])
    return out


def paper_accelerators_path() -> str:
    """Path of the semi-decoupled paper's 50 MAESTRO accelerators (maestro-CLI accelerator CSV)."""
    return str(resources.files("codesign_jax.nas").joinpath("data", "codesign_accelerators.csv"))
