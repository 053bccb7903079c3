"""Whole architecture spaces on MAESTRO-style accelerators: ``[n_networks, n_accelerators]`` sums.

Each distinct layer row is evaluated once per accelerator (:mod:`codesign_jax.nas._distinct`) with the
spatial model (:func:`~codesign_jax.spatial.spatial_cost_grid`), then networks are summed through the
count matrix. Layer conventions (as the semi-decoupled paper's MAESTRO front end,
Ren-Research/CoDesign ``tools/frontend/helpers/torch_maestro_summary.py``, writes its model files):
convolutions are CONV layers on ``conv_dataflow``; depthwise convolutions (groups == channels) are
DSCONV layers (K = 1) on ``dw_dataflow``; fully connected layers are 1x1 CONV layers on a 1x1 map
(``fc='conv'``, K = outputs, C = inputs, R = S = Y = X = 1) on ``conv_dataflow``, or MAESTRO GEMM
layers on ``gemm_dataflow`` (``fc='gemm'``). Input sizes are padded, ``Y = (Y_out - 1) * stride + R``,
so MAESTRO's output size (and MAC count) is the network's.
"""

from __future__ import annotations

import numpy as np
from flax import struct

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.nas._distinct import DistinctLayers, distinct_layers
from codesign_jax.spatial import check_spatial, get_dataflow, grid_errors, make_spatial_cost, spatial_cost_grid
from codesign_jax.workloads import LayerTable, Lowering, conv_layer

__all__ = ["FC_MODES", "NetworkCost", "spatial_layers", "spatial_network_cost"]

FC_MODES = ("conv", "gemm")
_FIELDS = ("runtime_cycles", "energy_total_xmac", "num_macs_top", "total_l1_size_req", "total_l2_size_req")
_SUMMED = ("runtime_cycles", "energy_total_xmac", "num_macs_top")


@struct.dataclass
class NetworkCost:
    """Network sums of MAESTRO's figures for every (network, accelerator) pair.

    Attributes:
      runtime_cycles: float64 ``[n, A]``, sum of the layers' runtimes (cycles); NaN where not ``ok``.
      energy_total_xmac: float64 ``[n, A]``, sum of the layers' total energy (x MAC energy); NaN where not ok.
      macs: float64 ``[n]``, multiply-accumulates per network (the layer table's).
      maestro_macs: float64 ``[n, A]``, the sum of MAESTRO's MAC counts (``num_macs_top``); equal to ``macs``
        except where MAESTRO's iteration cases over-count an edge (e.g. a 3x3 stride-2 CONV of 193 input rows on
        rs with 16 PEs: 4,064,256 instead of 3,981,312, as the real MAESTRO reports); NaN where not ok.
      ok: bool ``[n, A]``: MAESTRO accepts every layer of the network on the accelerator.
      error_code: int32 ``[n, A]``: 0 where ok, else 1 + index into ``messages`` of the network's first
        rejected layer's error.
      l1_req, l2_req: float64 ``[n, A]`` (or None): the largest ``total_l1_size_req`` /
        ``total_l2_size_req`` (elements) over the network's layers; NaN where not ok.
      messages: the error messages (static).
    """

    runtime_cycles: np.ndarray
    energy_total_xmac: np.ndarray
    macs: np.ndarray
    maestro_macs: np.ndarray
    ok: np.ndarray
    error_code: np.ndarray
    l1_req: np.ndarray | None = None
    l2_req: np.ndarray | None = None
    messages: tuple = struct.field(pytree_node=False, default=())

    def errors(self) -> np.ndarray:
        """Object ``[n, A]`` array of error strings ('' where ok)."""
        return np.asarray(("",) + self.messages, dtype=object)[self.error_code]


def spatial_layers(layers: LayerTable, fc: str = "conv") -> dict[str, Lowering]:
    """MAESTRO layers of ``layers`` (:meth:`LayerTable.to_spatial`), GEMM rows as 1x1 CONV layers of
    ``M`` pixels (``Y = M``, ``X = 1``, K = N outputs, C = K inputs) when ``fc == 'conv'``."""
    if fc not in FC_MODES:
        raise ValueError(f"fc={fc!r} must be one of {FC_MODES}.")
    parts = layers.to_spatial()
    if fc == "conv" and "GEMM" in parts:
        g = parts.pop("GEMM")
        as_conv = conv_layer(g.layers.K, g.layers.C, 1, 1, g.layers.Y, 1, 1)
        if "CONV" in parts:
            c = parts["CONV"]
            col = lambda low, lay, k: np.broadcast_to(getattr(lay, k), low.index.shape)
            cat = lambda k: np.concatenate([col(c, c.layers, k), col(g, as_conv, k)])
            merged = conv_layer(*(cat(k) for k in ("K", "C", "R", "S", "Y", "X", "stride")))
            parts["CONV"] = Lowering(merged, np.concatenate([c.index, g.index]), np.concatenate([c.count, g.count]))
        else:
            parts["CONV"] = Lowering(as_conv, g.index, g.count)
    return parts


def _describe(layer, i: int) -> str:
    f = {k: int(np.ravel(getattr(layer, k))[i]) for k in ("K", "C", "R", "S", "Y", "X", "stride")}
    return f"{layer.layer_type} K={f['K']} C={f['C']} R={f['R']} S={f['S']} Y={f['Y']} X={f['X']} stride={f['stride']}"


#: Fields that are not per-point arrays (static strings / flags, the constants dict).
_STATIC = ("layer_type", "batch", "constants")


def _columns(obj, shape) -> dict:
    """float64 array fields of a SpatialLayer / SpatialAccelerator reshaped to ``shape`` (e.g. ``(-1, 1)``)."""
    return {k: np.asarray(getattr(obj, k), np.float64).reshape(shape) for k in obj.__dataclass_fields__
            if k not in _STATIC and getattr(obj, k) is not None}


def _reshape_accels(accels: SpatialAccelerator, shape) -> SpatialAccelerator:
    """``accels`` with every field, dataflow constants included, as a float64 array of ``shape``."""
    cols = _columns(accels, (-1,))
    n = max(c.size for c in cols.values())
    fix = lambda v: np.broadcast_to(np.asarray(v, np.float64).reshape(-1), (n,)).reshape(shape)
    return type(accels)(**{k: fix(v) for k, v in cols.items()},
                        constants={k: fix(v) for k, v in dict(accels.constants).items()})


#: Below this many (layer, accelerator) points a group runs on numpy (no compilation); above, the
#: compiled grid evaluator (its compile, seconds per dataflow / layer type / stride class, pays off).
AUTO_NUMPY_POINTS = 1_000_000


def _evaluate(layer, accels: SpatialAccelerator, df, backend: str) -> tuple[dict, np.ndarray]:
    """``({field: [n, A]}, errors [n, A])`` for one layer type on one dataflow (rejected pairs: NaN).

    ``backend='auto'`` splits the layers into stride-1 and strided groups and runs each on numpy or on
    the compiled grid by its size (few strided layers then need no compilation of their own graph)."""
    lay = _columns(layer, (-1,))
    n, n_a = max(v.size for v in lay.values()), np.size(accels.num_pes)
    lay = {k: np.broadcast_to(v, (n,)) for k, v in lay.items()}
    if backend == "auto":
        unit = lay["stride"] == 1
        groups = [g for g in (unit, ~unit) if g.any()]
    else:
        groups = [np.ones(n, bool)]
    vals = {k: np.empty((n, n_a)) for k in _FIELDS}
    err = np.empty((n, n_a), object)
    for g in groups:
        sub = type(layer)(**{k: v[g] for k, v in lay.items()}, layer_type=layer.layer_type, batch=layer.batch)
        use_jax = backend == "jax" or (backend == "auto" and g.sum() * n_a > AUTO_NUMPY_POINTS)
        if use_jax:
            e = grid_errors(sub, accels, df)
            rep = spatial_cost_grid(sub, accels, df, validate=False)
        else:
            col = type(layer)(**_columns(sub, (-1, 1)), layer_type=layer.layer_type, batch=layer.batch)
            acc = _reshape_accels(accels, (1, -1))
            e = check_spatial(col, acc, df)
            with np.errstate(all="ignore"):
                rep = make_spatial_cost(df, layer.layer_type, backend="numpy")(col, acc)
        err[g] = e
        for k in _FIELDS:
            vals[k][g] = np.where(e == "", np.broadcast_to(np.asarray(getattr(rep, k), np.float64), e.shape), np.nan)
    return vals, err


def spatial_network_cost(layers: LayerTable | DistinctLayers, accels: SpatialAccelerator, *,
                         conv_dataflow="kcp_ws", dw_dataflow="dpt", fc: str = "conv", gemm_dataflow="gemm_nmk",
                         requirements: bool = False, backend: str = "auto") -> NetworkCost:
    """MAESTRO's network runtime and energy of every network on every accelerator.

    Args:
      layers: a table of many networks (``network`` ids ``0..n-1``) or its :func:`distinct_layers`.
      accels: :class:`SpatialAccelerator` with 1-D (or scalar) fields ``[A]``.
      conv_dataflow, dw_dataflow, gemm_dataflow: dataflow names (or :class:`Dataflow`) for CONV, DSCONV
        and (``fc='gemm'``) GEMM layers.
      fc: 'conv' (fully connected layers as 1x1 CONV, the paper's front end) or 'gemm'.
      requirements: also return each network's largest L1 / L2 requirement.
      backend: 'jax' (the compiled layers x accelerators grid; compiles once per dataflow, layer type
        and stride class), 'numpy' (no compilation, for small inputs) or 'auto' (each stride class of
        each layer type by its size, see ``AUTO_NUMPY_POINTS``). All give the same numbers.

    Returns:
      :class:`NetworkCost` with ``[n_networks, A]`` arrays.
    """
    if backend not in ("auto", "jax", "numpy"):
        raise ValueError(f"backend={backend!r} must be 'auto', 'jax' or 'numpy'.")
    d = layers if isinstance(layers, DistinctLayers) else distinct_layers(layers)
    acc = _reshape_accels(accels, (-1,))
    n_a = np.size(acc.num_pes)
    u = len(d.layers)
    per = {k: np.zeros((u, n_a)) for k in _FIELDS}
    err_code = np.zeros((u, n_a), np.int64)
    messages: dict[str, int] = {}
    dfs = {"CONV": get_dataflow(conv_dataflow), "DSCONV": get_dataflow(dw_dataflow),
           "GEMM": get_dataflow(gemm_dataflow)}
    for lt, low in spatial_layers(d.layers, fc).items():
        vals, err = _evaluate(low.layers, acc, dfs[lt], backend)
        for k in _FIELDS:
            scale = low.count[:, None] if k in _SUMMED else 1.0
            per[k][low.index] = vals[k] * scale
        for i in np.flatnonzero((err != "").any(axis=1)):
            row = err[i]
            desc = _describe(low.layers, int(i))
            for e in set(row[row != ""]):
                err_code[low.index[i], row == e] = messages.setdefault(f"{desc}: {e}", len(messages) + 1)
    bad = err_code != 0
    ok = ~d.network_any(bad)
    net_code = np.zeros((d.n_networks, n_a), np.int32)
    if bad.any():
        pats, inv = np.unique(err_code.T, axis=0, return_inverse=True)
        for p, pat in enumerate(pats):
            if not pat.any():
                continue
            first = d.first_row(pat != 0)
            has = first >= 0
            cols = np.flatnonzero(inv.ravel() == p)
            net_code[np.ix_(has, cols)] = pat[d.row_layer[first[has]]][:, None]
    nan = lambda x: np.where(ok, x, np.nan)
    zero = lambda x: np.where(bad, 0.0, x)
    out = dict(runtime_cycles=nan(d.network_sum(zero(per["runtime_cycles"]))),
               energy_total_xmac=nan(d.network_sum(zero(per["energy_total_xmac"]))),
               maestro_macs=nan(d.network_sum(zero(per["num_macs_top"]))),
               macs=d.network_sum(d.layers.macs.astype(np.float64)), ok=ok, error_code=net_code,
               messages=tuple(sorted(messages, key=messages.get)))
    if requirements:
        out["l1_req"] = nan(d.network_max(zero(per["total_l1_size_req"])))
        out["l2_req"] = nan(d.network_max(zero(per["total_l2_size_req"])))
    return NetworkCost(**out)
