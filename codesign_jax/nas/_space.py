"""Architecture spaces as one layer table with accuracies: :func:`load_space` ('nb201', 'alphanet')."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from flax import struct

from codesign_jax.nas._alphanet import alphanet_layers
from codesign_jax.nas._data import alphanet_table, nb201_table
from codesign_jax.nas._nb201 import NB201_DATASETS, nb201_layers
from codesign_jax.workloads import LayerTable

__all__ = ["ArchSpace", "SPACES", "check_macs", "load_space"]

#: space name -> (datasets, subsets); the first of each is the default.
SPACES = {"nb201": (tuple(NB201_DATASETS), ("all",)), "alphanet": (("imagenet",), ("all", "selected_1046"))}
#: NAS-Bench-201's published MAC range on CIFAR-10 (M), convolutions + classifier.
NB201_CIFAR10_MMACS = (7.78, 220.12)


@struct.dataclass
class ArchSpace:
    """``n`` architectures of one space as one layer table.

    Attributes:
      arch_index: int64 ``[n]``, each architecture's index in the full space (NB201 0-15624, AlphaNet
        0-9998); network id ``i`` of ``layers`` is architecture ``arch_index[i]``.
      accuracy: float64 ``[n]`` top-1 test accuracy (%) on ``dataset``.
      layers: :class:`LayerTable` of all architectures (conv, depthwise, fully connected rows; pooling
        and elementwise ops are not layers).
      reference_mmacs: float64 ``[n]`` the MACs the space's source reports (AlphaNet ``mflops``, in M),
        or None.
      name, dataset: static.
    """

    arch_index: np.ndarray
    accuracy: np.ndarray
    layers: LayerTable
    reference_mmacs: np.ndarray | None = None
    name: str = struct.field(pytree_node=False, default="")
    dataset: str = struct.field(pytree_node=False, default="")

    def __len__(self) -> int:
        return int(self.arch_index.size)

    @property
    def macs(self) -> np.ndarray:
        """int64 ``[n]`` multiply-accumulates per architecture."""
        return np.bincount(self.layers.network, self.layers.macs, minlength=len(self)).astype(np.int64)


def _select(n_total: int, arch: Sequence[int] | None, mask: np.ndarray | None) -> np.ndarray:
    idx = np.arange(n_total) if mask is None else np.flatnonzero(mask)
    if arch is None:
        return idx
    a = np.asarray(arch)
    if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu":
        raise ValueError(f"arch must be a non-empty list of integer indices, got {arch!r}.")
    bad = a[(a < 0) | (a >= n_total)]
    if bad.size:
        raise ValueError(f"arch index {int(bad[0])} is outside the space (0..{n_total - 1}).")
    out = np.isin(a, idx)
    if not out.all():
        raise ValueError(f"arch index {int(a[~out][0])} is not in the chosen subset.")
    return a.astype(np.int64)


def load_space(name: str, *, dataset: str | None = None, subset: str | None = None,
               arch: Sequence[int] | None = None) -> ArchSpace:
    """Loads an architecture space from the shipped data.

    Args:
      name: 'nb201' (NAS-Bench-201, 15,625 cells) or 'alphanet' (9,999 AlphaNet subnets).
      dataset: NB201: 'cifar10' (default), 'cifar100', 'imagenet16_120' (sets the input size, classes and
        accuracy); AlphaNet: 'imagenet'.
      subset: AlphaNet: 'all' (default) or 'selected_1046' (the subnets the semi-decoupled paper kept).
      arch: optional indices into the full space (in this order), e.g. ``[6111, 0]``.
    """
    if name not in SPACES:
        raise ValueError(f"space={name!r} must be one of {tuple(SPACES)}.")
    datasets, subsets = SPACES[name]
    dataset = datasets[0] if dataset is None else dataset
    subset = subsets[0] if subset is None else subset
    if dataset not in datasets:
        raise ValueError(f"dataset={dataset!r} must be one of {datasets} for space {name!r}.")
    if subset not in subsets:
        raise ValueError(f"subset={subset!r} must be one of {subsets} for space {name!r}.")
    if name == "nb201":
        t = nb201_table()
        idx = _select(t["ops"].shape[0], arch, None)
        return ArchSpace(arch_index=idx, accuracy=t[dataset][idx], layers=nb201_layers(t["ops"][idx], dataset),
                         name=name, dataset=dataset)
    t = alphanet_table()
    idx = _select(t["resolution"].size, arch, t["selected_1046"] if subset == "selected_1046" else None)
    layers = alphanet_layers(*(t[k][idx] for k in ("resolution", "width", "kernel_size", "expand_ratio", "depth")))
    return ArchSpace(arch_index=idx, accuracy=t["top1_acc"][idx], layers=layers, reference_mmacs=t["mflops"][idx],
                     name=name, dataset=dataset)


def check_macs(space: ArchSpace, rtol: float = 1e-6) -> dict:
    """Checks each architecture's MACs against the space's published figures; raises ValueError if off.

    AlphaNet: every subnet's MACs equal its ``mflops`` * 1e6 within ``rtol``. NB201 on CIFAR-10: the MAC
    range of the full space is 7.78-220.12 M (to the 0.01 M published), any subset lies inside it.
    Returns ``{'min_mmacs', 'max_mmacs', 'max_rel_err'}`` (``max_rel_err`` None without per-arch figures).
    """
    mm = space.macs / 1e6
    out = {"min_mmacs": float(mm.min()), "max_mmacs": float(mm.max()), "max_rel_err": None}
    if space.reference_mmacs is not None:
        rel = np.abs(mm / space.reference_mmacs - 1)
        out["max_rel_err"] = float(rel.max())
        if rel.max() > rtol:
            i = int(np.argmax(rel))
            raise ValueError(f"{space.name} architecture {space.arch_index[i]}: {mm[i]:.6f} M MACs vs reference "
                             f"{space.reference_mmacs[i]} M (relative error {rel[i]:.2e} > rtol={rtol}).")
    elif space.name == "nb201" and space.dataset == "cifar10":
        lo, hi = NB201_CIFAR10_MMACS
        if round(mm.min(), 2) < lo or round(mm.max(), 2) > hi or (len(space) == 15625 and (
                round(mm.min(), 2), round(mm.max(), 2)) != (lo, hi)):
            raise ValueError(f"nb201 MACs range {mm.min():.4f}-{mm.max():.4f} M is not the published {lo}-{hi} M.")
    return out
