"""Layers x accelerators grid evaluation of the MAESTRO-style spatial model.

Every layer on every accelerator, faster than a flat batch of the same pairs: accelerators are
grouped by ``num_pes`` on the host into tiles, and in each (layers x accelerators) tile the layer /
num_pes part of MAESTRO's analysis -- about three quarters of the ops -- runs once per layer at
shape ``[Lc, 1]`` and only the NoC / off-chip bandwidth part per pair at ``[Lc, Ac]``
(``_sym.SymOps.lower_all`` materialises the ``[Lc, 1]`` values so XLA does not recompute
them per pair). Results are bit-identical to :func:`codesign_jax.spatial._model.spatial_cost`.
"""

from __future__ import annotations

import functools
from typing import Union

import jax
import jax.numpy as jnp
import numpy as np

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial._check import _stride_groups, _value_errors, check_spatial
from codesign_jax.spatial._dataflow import Dataflow, get_dataflow
from codesign_jax.spatial._model import (_ACCEL_KEYS, _MODE_ARGS, REPORT_FIELDS, SpatialReport, _check_kind,
                                         from_columns, layer_keys, layer_kind, make_spatial_cost)
from codesign_jax.workloads import SpatialLayer


def _grid_block_fn(df: Dataflow, kind: str, mode: str, names: tuple = ()):
    """(layer cols [Lc], accel cols [Ac] (constants ``names`` last)) -> report fields [Lc, Ac]; the
    block's accelerators share one num_pes, so every layer-only or (layer, num_pes) quantity -- about
    three quarters of the model -- is computed at [Lc, 1] and only the rest at [Lc, Ac]."""
    cost = make_spatial_cost(df, kind, block=0, **_MODE_ARGS[mode])

    def block(lcols, acols):
        col = lambda c: c[:, None]
        row = lambda c: c[None, :]
        return cost(*from_columns([col(c) for c in lcols], [acols[0][:1][None, :]] + [row(c) for c in acols[1:]],
                                  kind, names))

    return block


def _grid_plan(num_pes: np.ndarray, block_accels: int):
    """Host-side grouping of accelerators by num_pes into blocks of ``block_accels`` (one num_pes per
    block; a group's last block is padded with copies of its last member).

    Returns (index [n_blocks, Ac] into the accelerator list, position [A] of each accelerator in the
    flattened block layout)."""
    order = np.argsort(num_pes, kind="stable")
    blocks, pos = [], np.empty(num_pes.shape[0], np.int64)
    _, starts = np.unique(num_pes[order], return_index=True)
    bounds = list(starts) + [order.size]
    for a, b in zip(bounds[:-1], bounds[1:]):
        members = order[a:b]
        pad = -members.size % block_accels
        members_p = np.concatenate([members, np.repeat(members[-1:], pad)])
        base = len(blocks) * block_accels
        pos[members] = base + np.arange(members.size)
        blocks.extend(members_p.reshape(-1, block_accels))
    return np.stack(blocks), pos


def _flat_cols(obj, keys) -> tuple[dict, int]:
    """The fields ``keys`` of a layer / accelerator batch (an accelerator's constants last, keyed by
    name) as flat float64 columns of one length."""
    vals = {k: (1.0 if getattr(obj, k) is None else getattr(obj, k)) for k in keys}
    if isinstance(obj, SpatialAccelerator):
        vals.update(sorted(dict(obj.constants or {}).items()))
    cols = {k: np.asarray(v, np.float64).reshape(-1) for k, v in vals.items()}
    n = max(c.size for c in cols.values())
    return {k: np.broadcast_to(c, (n,)) for k, c in cols.items()}, n


def _grid_inputs(layer: SpatialLayer, accel: SpatialAccelerator, block_layers: int, block_accels: int):
    """Flat float64 columns of ``layer`` [L] and ``accel`` [A], padded and grouped into blocks."""
    lcols, n_l = _flat_cols(layer, layer_keys(layer_kind(layer)))
    lcols = list(lcols.values())
    acols, n_a = _flat_cols(accel, _ACCEL_KEYS)
    acols = list(acols.values())
    pow2 = lambda n: 1 << max(int(n) - 1, 0).bit_length()
    block_accels = min(block_accels, pow2(np.unique(acols[0], return_counts=True)[1].max()))
    block_layers = min(block_layers, pow2(n_l))  # small grids: no padding beyond the next power of 2
    idx, pos = _grid_plan(acols[0], block_accels)
    pad = -n_l % block_layers
    lb = [np.concatenate([c, np.repeat(c[:1], pad)]).reshape(-1, block_layers) for c in lcols]
    ab = [c[idx] for c in acols]
    return lb, ab, pos, n_l, n_a


@functools.lru_cache(maxsize=None)
def _grid_jitted(df: Dataflow, kind: str, mode: str, names: tuple = ()):
    """Jitted (layer blocks, accelerator blocks, L) -> report fields [L, n_ab * Ac] (grouped column order)."""
    block = _grid_block_fn(df, kind, mode, names)

    @functools.partial(jax.jit, static_argnums=2)
    def run(lb, ab, n_l):
        (n_lb, lc), (n_ab, ac) = lb[0].shape, ab[0].shape

        def body(p, bufs):  # each (layer block, accelerator block) tile written in place
            i, j = p // n_ab, p % n_ab
            rep = block([c[i] for c in lb], [c[j] for c in ab])
            return tuple(jax.lax.dynamic_update_slice(b, getattr(rep, k), (i * lc, j * ac))
                         for b, k in zip(bufs, REPORT_FIELDS))

        bufs = tuple(jnp.zeros((n_lb * lc, n_ab * ac)) for _ in REPORT_FIELDS)
        bufs = jax.lax.fori_loop(0, n_lb * n_ab, body, bufs)
        return tuple(b[:n_l] for b in bufs)

    return run


def grid_errors(layer: SpatialLayer, accel: SpatialAccelerator, dataflow: Union[str, Dataflow]) -> np.ndarray:
    """:func:`check_spatial` for every (layer, accelerator) pair of a grid: ``[L, A]`` error strings.

    Layer checks run once per (layer, distinct num_pes), hardware-field checks once per accelerator.
    """
    df = get_dataflow(dataflow)
    a, _ = _flat_cols(accel, _ACCEL_KEYS)
    names = sorted(dict(accel.constants or {}))
    key = np.stack([a["num_pes"]] + [a[n] for n in names], axis=1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = np.reshape(inv, -1)
    ones = np.ones((1, uniq.shape[0]))  # one valid representative accelerator per distinct (num_pes, constants)
    reps = SpatialAccelerator(uniq[None, :, 0], ones, ones, ones, ones, ones,
                              constants={n: uniq[None, :, i + 1] for i, n in enumerate(names)})
    lcols, _ = _flat_cols(layer, layer_keys(layer_kind(layer)))
    lay = SpatialLayer(**{k: c[:, None] for k, c in lcols.items()}, layer_type=layer.layer_type, batch=layer.batch)
    err_lp = check_spatial(lay, reps, df)
    hw = _value_errors({k: v for k, v in a.items() if k in _ACCEL_KEYS})  # once per accelerator; precedence
    return np.where(hw[None, :] != "", hw[None, :], err_lp[:, inv])


def spatial_cost_grid(layer: SpatialLayer, accel: SpatialAccelerator, dataflow: Union[str, Dataflow], *,
                      block_layers: int = 32, block_accels: int = 64, validate: bool = True) -> SpatialReport:
    """Every layer on every accelerator: report fields of shape ``[L, A]`` (numpy arrays; the same
    numbers as :func:`spatial_cost` on the broadcast pairs).

    Faster than the flat batch when accelerators share ``num_pes``: the accelerators are grouped by
    num_pes on the host into blocks of ``block_accels``, and in each (``block_layers`` x
    ``block_accels``) block the layer / num_pes part of the analysis runs once per layer and only the
    NoC / off-chip bandwidth part per pair. Stride-1 layers take the stride-1 graph.

    Args:
      layer: leaves of shape [L] (or scalars). accel: leaves of shape [A] (or scalars).
      validate: check every pair first (:func:`grid_errors`) and raise on the first rejected one.
    Raises:
      ValueError: naming the first rejected (layer, accelerator) pair, the dataflow and the reason.
    """
    df = get_dataflow(dataflow)
    lt = _check_kind(layer_kind(layer))
    if validate:
        err = grid_errors(layer, accel, df)
        bad = np.argwhere(err != "")
        if bad.size:
            i, j = map(int, bad[0])
            raise ValueError(f"spatial_cost_grid: {lt} layer {i} on accelerator {j} with dataflow {df.name!r} is "
                             f"rejected: {err[i, j]} ({bad.shape[0]} pair(s) rejected).")
    lcols, n_l = _flat_cols(layer, layer_keys(lt))
    names = tuple(sorted(dict(accel.constants or {})))
    parts, rows = [], []
    for mask, u in _stride_groups(lcols["stride"], lt):
        sub = layer.replace(**{k: lcols[k][mask] for k in lcols})
        lb, ab, pos, n_sub, _ = _grid_inputs(sub, accel, block_layers, block_accels)
        parts.append((_grid_jitted(df, lt, u, names)(lb, ab, n_sub), pos))
        rows.append(np.flatnonzero(mask))
    # Back to the caller's accelerator (column) and layer (row) order on the host: numpy's take is a
    # memory-speed copy, XLA:CPU's gather is ~10x slower here.
    out = {}
    for n, k in enumerate(REPORT_FIELDS):
        cols = [np.take(np.asarray(res[n]), pos, axis=1) for res, pos in parts]
        if len(cols) == 1:
            out[k] = cols[0]
        else:
            out[k] = np.empty((n_l, cols[0].shape[1]))
            for r, c in zip(rows, cols):
                out[k][r] = c
    return SpatialReport(**out)

