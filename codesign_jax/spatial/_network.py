"""A whole :class:`~codesign_jax.workloads.LayerTable` on spatial accelerators in one call."""

from __future__ import annotations

from typing import Mapping, Union

import numpy as np

from codesign_jax._network import NetworkCost, per_row
from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial._cost import spatial_cost
from codesign_jax.spatial._dataflow import Dataflow
from codesign_jax.workloads import LAYER_TYPES, LayerTable, SpatialLayer

__all__ = ["DEFAULT_NETWORK_DATAFLOWS", "NUMPY_MAX_POINTS", "SPATIAL_ADDITIVE_FIELDS", "spatial_network_cost"]

#: One dataflow per MAESTRO layer type by default (MAESTRO rejects K-mapping dataflows on DSCONV).
DEFAULT_NETWORK_DATAFLOWS = {"CONV": "kcp_ws", "DSCONV": "dpt", "GEMM": "gemm_nmk"}

#: Report fields that add up over layers run one after another.
SPATIAL_ADDITIVE_FIELDS = (
    "runtime_cycles", "num_macs_top", "energy_total_xmac", "energy_l2_xmac", "energy_l1_xmac",
    "energy_offchip_xmac", "static_energy_xmac") + tuple(f"{t}_{lvl}_{op}" for t in ("input", "filter", "output")
                                   for lvl in ("l2", "l1") for op in ("read", "write"))


#: Most (layer, accelerator) points per layer type the ``'auto'`` backend evaluates with numpy (no
#: compile; about 1e4 points/s here) before it compiles the jitted model (10-30 s per layer type).
NUMPY_MAX_POINTS = 20_000


def spatial_network_cost(table: LayerTable, accel: SpatialAccelerator,
                         dataflows: Union[str, Dataflow, Mapping, None] = None, *,
                         backend: str = "auto") -> NetworkCost:
    """Every layer of ``table`` on every accelerator of ``accel`` (any batch shape ``[*designs]``).

    The table is lowered to MAESTRO's layers (:meth:`LayerTable.to_spatial`: CONV, DSCONV, GEMM,
    grouped convs one group counted ``groups`` times); each type runs :func:`spatial_cost` with its
    dataflow (``dataflows``: ``{layer type: name or Dataflow}``, or one for all types; default
    :data:`DEFAULT_NETWORK_DATAFLOWS`), times each layer's run count. ``backend`` as in
    :func:`spatial_cost` (``'jax'`` or ``'numpy'``: the same numbers), or ``'auto'``: numpy up to
    :data:`NUMPY_MAX_POINTS` points per layer type.

    Returns:
      :class:`NetworkCost` with :data:`SPATIAL_ADDITIVE_FIELDS` per row ``[n, *designs]`` and in
      ``total`` ``[*designs]``, plus network-level ``throughput_macs_per_cycle``.

    Raises:
      ValueError: a layer type of the table without a dataflow, or a (layer, accelerator, dataflow)
        MAESTRO rejects (as :func:`spatial_cost`).
    """
    if backend not in ("auto", "jax", "numpy"):
        raise ValueError(f"backend must be 'auto', 'jax' or 'numpy', got {backend!r}.")
    if dataflows is None:
        dataflows = DEFAULT_NETWORK_DATAFLOWS
    if isinstance(dataflows, (str, Dataflow)):
        dataflows = {t: dataflows for t in LAYER_TYPES}
    dshape = np.broadcast_shapes(*(np.shape(getattr(accel, k)) for k in
                                   ("num_pes", "l1_size", "l2_size", "noc_bw", "offchip_bw", "noc_hops")))
    acc = accel.replace(**{k: np.broadcast_to(np.asarray(getattr(accel, k)), dshape)[None] for k in
                           ("num_pes", "l1_size", "l2_size", "noc_bw", "offchip_bw", "noc_hops")})
    layers = {k: np.zeros((len(table),) + dshape) for k in SPATIAL_ADDITIVE_FIELDS}
    for lt, low in table.to_spatial().items():
        if lt not in dataflows:
            raise ValueError(f"spatial_network_cost: the table has {lt} layers but dataflows has no {lt!r} "
                             f"entry (given: {sorted(dataflows)}).")
        col = lambda x: np.reshape(np.asarray(x, np.float64), (-1,) + (1,) * len(dshape))
        L = SpatialLayer(*(col(getattr(low.layers, k)) for k in ("K", "C", "R", "S", "Y", "X", "stride")), lt)
        points = len(low.index) * int(np.prod(dshape))
        use = backend if backend != "auto" else ("numpy" if points <= NUMPY_MAX_POINTS else "jax")
        rep = spatial_cost(L, acc, dataflows[lt], backend=use)
        part = per_row(len(table), low.index, low.count,
                       {k: np.broadcast_to(np.asarray(getattr(rep, k)), (len(low.index),) + dshape)
                        for k in SPATIAL_ADDITIVE_FIELDS})
        for k in layers:
            layers[k] += part[k]
    total = {k: v.sum(axis=0) for k, v in layers.items()}
    total["throughput_macs_per_cycle"] = total["num_macs_top"] / total["runtime_cycles"]
    return NetworkCost(layers=layers, total=total, names=table.names, network=table.network.copy())
