"""Assembling one :class:`~codesign_jax.workloads.LayerTable` for many networks at once.

Space builders add layers for all architectures in bulk (one call per layer position of the skeleton,
vectorized over architectures); :class:`RowBuffer` keeps each group's position and returns the table
sorted by (network, position), i.e. every network's layers in execution order.
"""

from __future__ import annotations

import numpy as np

from codesign_jax.workloads import LayerTable

__all__ = ["RowBuffer", "make_divisible"]


def make_divisible(v, divisor: int = 8, min_value: int = 1) -> np.ndarray:
    """AttentiveNAS/OFA ``make_divisible`` (models/modules/nn_utils.py, after TF-slim mobilenet.py):
    round to the nearest multiple of ``divisor`` (at least ``min_value``), adding ``divisor`` when that
    rounds down by more than 10%. Vectorized over ``v``."""
    v = np.asarray(v, np.float64)
    new = np.maximum(min_value, np.floor(v + divisor / 2).astype(np.int64) // divisor * divisor)
    return np.where(new < 0.9 * v, new + divisor, new).astype(np.int64)


class RowBuffer:
    """Collects layer groups (:class:`LayerTable` pieces) with a skeleton position each."""

    def __init__(self):
        self._tables: list[LayerTable] = []
        self._pos: list[np.ndarray] = []
        self._next = 0

    def _add(self, make) -> None:
        """Adds ``make()`` (a table) at the next skeleton position; nothing for an empty group."""
        table = make()
        if table is not None:
            self._tables.append(table)
            self._pos.append(np.full(len(table), self._next, np.int64))
        self._next += 1

    def conv(self, network, in_hw, channels, filters, filt, stride=1, groups=1) -> None:
        """Square convolutions with 'same'-style padding ``filt - 1`` in total per axis (so the output
        is ``ceil(in / stride)`` for odd ``filt``), one row per entry of ``network`` (arrays
        broadcast). ``groups`` = ``channels`` is depthwise."""
        network = np.asarray(network, np.int64).reshape(-1)
        f = np.broadcast_to(np.asarray(filt, np.int64), network.shape)
        self._add(lambda: LayerTable.conv(in_h=in_hw, in_w=in_hw, channels=channels, filters=filters, filt_h=f,
                                          stride=stride, pad_h=f - 1, groups=groups, network=network)
                  if network.size else None)

    def linear(self, network, in_features, out_features) -> None:
        """Fully connected layers (one sample): GEMM rows ``[1, in] @ [in, out]``."""
        network = np.asarray(network, np.int64).reshape(-1)
        self._add(lambda: LayerTable.gemm(M=1, N=out_features, K=in_features, network=network)
                  if network.size else None)

    def table(self) -> LayerTable:
        """All rows, sorted by network, then by skeleton position (stable)."""
        t = LayerTable.concat(self._tables)
        order = np.lexsort((np.concatenate(self._pos), t.network))
        return t.select(order)
