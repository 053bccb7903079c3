"""NAS-Bench-201 (NATS-Bench topology space) cells -> one layer table.

Skeleton (Dong & Yang, ICLR 2020, ``xautodl/models/cell_searchs`` / ``cell_infers/tiny_network.py``):
stem 3x3 conv 3 -> 16 at the input resolution; 3 stages of 5 cells with C = 16, 32, 64 channels at
R, R/2, R/4 pixels; between stages a ResNet basic block (3x3 stride-2 conv C -> 2C, 3x3 conv
2C -> 2C, shortcut 2x2 average pool + 1x1 conv C -> 2C); head global pool + linear 64 -> classes.
A cell has 6 edges (0->1, 0->2, 1->2, 0->3, 1->3, 2->3); ``nor_conv_1x1`` / ``nor_conv_3x3`` edges are
C -> C convolutions at stride 1 ('same' padding), the other ops (none, skip, 3x3 average pool) and
all ReLU / BN / additions carry no multiply-accumulates and are not layers here.
"""

from __future__ import annotations

import numpy as np

from codesign_jax.nas._rows import RowBuffer
from codesign_jax.workloads import LayerTable

__all__ = ["NB201_DATASETS", "nb201_layers"]

#: dataset -> (input resolution, classes).
NB201_DATASETS = {"cifar10": (32, 10), "cifar100": (32, 100), "imagenet16_120": (16, 120)}
_CONV_FILTER = {2: 1, 3: 3}  # op code -> filter size (nor_conv_1x1, nor_conv_3x3)


def nb201_layers(ops: np.ndarray, dataset: str = "cifar10") -> LayerTable:
    """Layer table of the cells ``ops`` (int ``[n, 6]`` op codes); network id = row of ``ops``.

    Rows per network in execution order: stem, cells (edges in ``arch_str`` order), residual blocks,
    classifier (a GEMM row ``[1, 64] @ [64, classes]``).
    """
    if dataset not in NB201_DATASETS:
        raise ValueError(f"dataset={dataset!r} must be one of {tuple(NB201_DATASETS)}.")
    ops = np.asarray(ops)
    if ops.ndim != 2 or ops.shape[1] != 6 or ops.size == 0 or ops.min() < 0 or ops.max() > 4:
        raise ValueError(f"ops must be an int array [n, 6] of op codes 0-4, got shape {ops.shape}.")
    res, classes = NB201_DATASETS[dataset]
    nets = np.arange(ops.shape[0])
    rows = RowBuffer()
    rows.conv(nets, res, 3, 16, 3)  # stem
    for stage, c in enumerate((16, 32, 64)):
        hw = res >> stage
        if stage:  # ResNet basic block, C/2 -> C, halving the resolution
            rows.conv(nets, 2 * hw, c // 2, c, 3, stride=2)
            rows.conv(nets, hw, c, c, 3)
            rows.conv(nets, hw, c // 2, c, 1)  # shortcut conv after the 2x2 average pool
        for _ in range(5):
            for e in range(6):
                for code, f in _CONV_FILTER.items():
                    rows.conv(nets[ops[:, e] == code], hw, c, c, f)
    rows.linear(nets, 64, classes)
    return rows.table()
