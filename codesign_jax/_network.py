"""Whole-network costs: per-layer figures of a :class:`~codesign_jax.workloads.LayerTable`'s lowering
summed back to the table's rows (each lowered row times its run count), with network totals.

Used by :func:`codesign_jax.systolic.systolic_network_cost` and
:func:`codesign_jax.spatial.spatial_network_cost`.
"""

from __future__ import annotations

import numpy as np
from flax import struct

__all__ = ["NetworkCost", "per_row"]


@struct.dataclass
class NetworkCost:
    """A layer table's cost on a batch of designs (host float64 arrays).

    Attributes:
      layers: ``{field: [n, *designs]}``, each table row's additive figure (cycles, accesses, energy)
        for all its runs: ``sum(count * figure)`` over the lowered rows that come from it.
      total: ``{field: [*designs]}``, the sums over all rows, plus the derived network figures each
        model's function names.
      names: the table's row names.
      network: int ``[n]``, each row's network id (a table may hold several networks).
    """

    layers: dict
    total: dict
    network: np.ndarray
    names: tuple = struct.field(pytree_node=False, default=())

    def by_network(self) -> dict:
        """``{field: [networks, *designs]}``: the additive fields summed per network id."""
        n = int(self.network.max()) + 1 if self.network.size else 0
        out = {}
        for k, v in self.layers.items():
            acc = np.zeros((n,) + v.shape[1:])
            np.add.at(acc, self.network, v)
            out[k] = acc
        return out


def per_row(n_rows: int, index: np.ndarray, count: np.ndarray, fields: dict) -> dict:
    """``{k: [n_rows, *d]}`` = per table row, the sum of ``count * fields[k]`` (``[r, *d]``) over the
    lowered rows ``index`` maps to it."""
    out = {}
    for k, v in fields.items():
        v = np.asarray(v, np.float64)
        acc = np.zeros((n_rows,) + v.shape[1:])
        np.add.at(acc, index, np.reshape(count, (-1,) + (1,) * (v.ndim - 1)) * v)
        out[k] = acc
    return out
