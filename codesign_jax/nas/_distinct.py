"""Distinct layer shapes of a many-network layer table and the count matrix that rebuilds each network.

An architecture space repeats a few hundred layer shapes across thousands of networks (NB201: 12
distinct rows among 687,500; AlphaNet: 588 among 1,069,476), so a model evaluates each distinct row
once per design and a network's cost is ``counts @ cost_per_distinct_row``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from flax import struct

from codesign_jax.workloads import _TABLE_FIELDS, LayerTable

__all__ = ["DistinctLayers", "distinct_layers"]

_SHAPE_FIELDS = tuple(k for k in _TABLE_FIELDS if k not in ("network", "repeat"))


@struct.dataclass
class DistinctLayers:
    """A layer table split into its distinct rows and per-network counts.

    Attributes:
      layers: :class:`LayerTable` of the ``u`` distinct rows (``repeat`` 1, ``network`` 0).
      counts: ``scipy.sparse.csr_matrix`` float64 ``[n_networks, u]``: how many times each network runs
        each distinct row (repeats included). Exact: counts are small integers.
      row_layer: int64 ``[n_rows]``, the distinct row of each row of the original table.
      row_network: int64 ``[n_rows]``, the network of each original row (rows of one network keep their
        table order, so the first row of a network with some property is its first layer with it).
    """

    layers: LayerTable
    counts: object = struct.field(pytree_node=False)
    row_layer: np.ndarray
    row_network: np.ndarray

    @property
    def n_networks(self) -> int:
        return int(self.counts.shape[0])

    def network_sum(self, per_layer: np.ndarray) -> np.ndarray:
        """``[n_networks, ...]`` sums of ``per_layer`` (``[u, ...]``, one entry per distinct row)."""
        per_layer = np.asarray(per_layer, np.float64)
        out = self.counts @ per_layer.reshape(per_layer.shape[0], -1)
        return np.asarray(out).reshape((self.n_networks,) + per_layer.shape[1:])

    def network_any(self, per_layer: np.ndarray) -> np.ndarray:
        """``[n_networks, ...]`` bool: does any layer of the network have ``per_layer`` (bool ``[u, ...]``)."""
        return self.network_sum(np.asarray(per_layer, bool).astype(np.float64)) > 0

    def network_max(self, per_layer: np.ndarray) -> np.ndarray:
        """``[n_networks, A]`` maxima over each network's layers of ``per_layer`` (``[u, A]``); 0 for a network
        without layers. One gather + maximum per slot of the longest network (networks hold few distinct rows)."""
        per_layer = np.asarray(per_layer, np.float64)
        c = self.counts
        keys = [c.indices[a:b].tobytes() for a, b in zip(c.indptr[:-1], c.indptr[1:])]
        _, first, inv = np.unique(np.asarray(keys, object), return_index=True, return_inverse=True)
        if first.size < self.n_networks:  # networks made of the same distinct rows share their maxima
            return self.replace(counts=c[first]).network_max(per_layer)[inv.ravel()]
        length = np.diff(c.indptr)
        pad = np.vstack([per_layer, np.full((1, per_layer.shape[1]), -np.inf)])  # row u: "no layer"
        out = np.full((self.n_networks, per_layer.shape[1]), -np.inf)
        for slot in range(int(length.max(initial=0))):
            idx = np.where(slot < length, c.indices[np.minimum(c.indptr[:-1] + slot, c.nnz - 1)], len(pad) - 1)
            np.maximum(out, pad[idx], out=out)
        return np.where(length[:, None] > 0, out, 0.0)

    def subset(self, networks) -> tuple["DistinctLayers", np.ndarray]:
        """The networks ``networks`` (int ``[m]``, in this order) with only the distinct rows they use:
        ``(DistinctLayers of m networks, used distinct-row ids [u'])``. Row sums keep their summation order
        (a network's column order is unchanged), so network sums are bit-identical to the full table's."""
        networks = np.asarray(networks, np.int64)
        sub = self.counts[networks]
        used = np.unique(sub.indices)
        remap = np.full(len(self.layers), -1, np.int64)
        remap[used] = np.arange(used.size)
        counts = sub[:, used].tocsr()
        counts.sort_indices()
        pos = np.full(self.n_networks, -1, np.int64)
        pos[networks] = np.arange(networks.size)
        keep = pos[self.row_network] >= 0
        order = np.argsort(pos[self.row_network[keep]], kind="stable")  # networks in the requested order
        layers = self.layers.select(used)
        return DistinctLayers(layers=layers, counts=counts, row_layer=remap[self.row_layer[keep]][order],
                              row_network=pos[self.row_network[keep]][order]), used

    def first_row(self, per_layer: np.ndarray) -> np.ndarray:
        """int64 ``[n_networks]``: index (into the original table) of each network's first row whose
        distinct row has ``per_layer`` (bool ``[u]``), -1 where none."""
        rows = np.flatnonzero(np.asarray(per_layer, bool)[self.row_layer])
        out = np.full(self.n_networks, -1, np.int64)
        nets, first = np.unique(self.row_network[rows], return_index=True)
        out[nets] = rows[first]
        return out


def _row_codes(table: LayerTable) -> np.ndarray:
    """One int64 code per row, equal exactly for rows equal in every shape field (mixed radix, re-compressed
    after each field so it never overflows)."""
    code = np.zeros(len(table), np.int64)
    for k in _SHAPE_FIELDS:
        vals, inv = np.unique(getattr(table, k), return_inverse=True)
        code = code * vals.size + inv.ravel()
        _, code = np.unique(code, return_inverse=True)
        code = code.ravel().astype(np.int64)
    return code


def distinct_layers(table: LayerTable, n_networks: int | None = None) -> DistinctLayers:
    """Splits ``table`` into distinct rows (every field but ``network`` / ``repeat``) and a count matrix.

    Args:
      table: rows of many networks (``network`` ids in ``[0, n_networks)``).
      n_networks: number of networks (default ``max(network) + 1``); networks without rows get zero rows.
    """
    if not len(table):
        raise ValueError("table has no rows.")
    n = int(table.network.max()) + 1 if n_networks is None else int(n_networks)
    if n < 1 or table.network.max() >= n:
        raise ValueError(f"n_networks={n_networks} must exceed the largest network id {table.network.max()}.")
    code = _row_codes(table)
    _, first = np.unique(code, return_index=True)
    uniq = table.select(first)
    layers = uniq.replace(repeat=np.ones(len(uniq), np.int64), network=np.zeros(len(uniq), np.int64))
    counts = scipy.sparse.csr_matrix((table.repeat.astype(np.float64), (table.network, code)),
                                     shape=(n, len(uniq)))
    counts.sum_duplicates()
    counts.sort_indices()
    return DistinctLayers(layers=layers, counts=counts, row_layer=code, row_network=table.network.copy())
