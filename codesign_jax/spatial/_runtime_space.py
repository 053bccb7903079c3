"""Runtime of every layer on a (num_pes x static constants) design space: the labelling fast path.

:func:`spatial_cost_grid` returns every report field with the constants traced (one graph for every
value). For an exhaustive argmin over a small design space that is mostly wasted work: the search
needs only ``runtime_cycles`` and the validity flag, and a constant that takes a dozen values is
better folded. :func:`spatial_runtime_space` therefore compiles one graph per combination of
constant values (the values substituted as integers, so the symbolic engine folds every tile-only
node), asks XLA for ``runtime_cycles`` and ``degenerate`` only (the other fields are dead code), and
evaluates each graph on layers ``[chunk, 1]`` x PE counts ``[1, P]``: layer-only subexpressions run
once per layer, and ``chunk`` layers at a time (``lax.map``) keep the intermediates in cache.

On the AIRCHITECT-v2 space (num_pes 1..64 x KTileSz 1..12, ConfuciuX's three mapping files) this is
3.3x (eye), 3.4x (shi) and 8.9x (dla) the points per second of the all-fields grid with the tile
traced, on the same 1024 layers in one run (``python experiments/benchmark.py --suite=runtime_space``;
benchmarks/runtime_space_cpu.json), at the price of 12 compiles per dataflow instead of one. The numbers are the same:
``runtime_cycles`` and ``degenerate`` are bit-identical to :func:`spatial_cost` (tests).
"""

from __future__ import annotations

import concurrent.futures
import functools
import itertools
import os
from collections.abc import Mapping, Sequence
from typing import Union

import jax
import jax.numpy as jnp
import numpy as np

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial._dataflow import Dataflow, get_dataflow
from codesign_jax.spatial._model import _MODE_ARGS, make_spatial_cost
from codesign_jax.workloads import SpatialLayer

__all__ = ["spatial_runtime_space"]

_KEYS = ("K", "C", "R", "S", "Y", "X")
_HW = ("l1_size", "l2_size", "noc_bw", "offchip_bw", "noc_hops")


@functools.lru_cache(maxsize=None)
def _space_fn(df: Dataflow, mode: str, hw: tuple, chunk: int, width: int, n_pes: int):
    """Compiled (layer columns [6, width], num_pes [n_pes]) -> (runtime, degenerate) [width, n_pes]
    for one dataflow whose constants are all substituted or bound to num_pes (``width`` a multiple of
    ``chunk``)."""
    cost = make_spatial_cost(df, "CONV", block=0, **_MODE_ARGS[mode])

    def one(cols, pes):  # cols [6, chunk] -> [chunk, P]
        K, C, R, S, Y, X = (c[:, None] for c in cols)
        rep = cost(SpatialLayer(K=K, C=C, R=R, S=S, Y=Y, X=X, stride=jnp.ones_like(K)),
                   SpatialAccelerator(pes[None, :], *hw))
        return rep.runtime_cycles, rep.degenerate

    def run(cols, pes):
        blocks = cols.reshape(cols.shape[0], -1, chunk).transpose(1, 0, 2)
        rt, dg = jax.lax.map(lambda c: one(c, pes), blocks)
        return rt.reshape(-1, pes.shape[0]), dg.reshape(-1, pes.shape[0])

    spec = lambda *shape: jax.ShapeDtypeStruct(shape, jnp.float64)
    return jax.jit(run).lower(spec(len(_KEYS), width), spec(n_pes)).compile()


def _compile_all(dfs: list, mode: str, hw: tuple, chunk: int, width: int, n_pes: int) -> list:
    """The compiled graphs of ``dfs``, compiled concurrently (XLA compiles outside the GIL; the
    eye / shi graphs take ~9 s each on one core)."""
    with concurrent.futures.ThreadPoolExecutor(max(1, min(len(dfs), os.cpu_count() or 1))) as ex:
        return list(ex.map(lambda d: _space_fn(d, mode, hw, chunk, width, n_pes), dfs))


def _layer_columns(layer: SpatialLayer) -> tuple[np.ndarray, str]:
    """float64 ``[6, L]`` (K, C, R, S, Y, X) of a CONV layer batch and the stride mode."""
    if layer.layer_type != "CONV" or layer.batch:
        raise ValueError(f"layer_type={layer.layer_type!r} (batch={layer.batch}): spatial_runtime_space "
                         "takes CONV layers without batch tensors.")
    cols = [np.asarray(getattr(layer, k), np.float64) for k in _KEYS]
    stride = np.asarray(layer.stride, np.float64)
    shape = np.broadcast_shapes(*(c.shape for c in cols), stride.shape)
    cols = np.stack([np.broadcast_to(c, shape).reshape(-1) for c in cols])
    stride = np.broadcast_to(stride, shape).reshape(-1)
    for k, c in zip(_KEYS + ("stride",), list(cols) + [stride]):
        bad = ~(np.isfinite(c) & (c >= 1) & (c == np.floor(c)))
        if bad.any():
            raise ValueError(f"layer field {k} must be a positive integer, got {c[bad][0]!r}.")
    if np.any(stride != 1):
        raise ValueError(f"spatial_runtime_space takes stride-1 layers, got stride={stride[stride != 1][0]!r}.")
    return cols, "unit"


def spatial_runtime_space(layer: SpatialLayer, dataflow: Union[str, Dataflow], num_pes: Sequence[int],
                          constants: Mapping[str, Sequence[int]], *, l1_size: float, l2_size: float,
                          noc_bw: float, offchip_bw: float, noc_hops: float = 1.0, chunk: int = 64,
                          block_layers: int = 16384, pad_to_block: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """MAESTRO runtime of every layer on every design ``num_pes x product(constants)``.

    Design ``j`` enumerates ``num_pes`` slowest, then the constants in the given order (the last one
    fastest): for ``num_pes=range(1, 65)``, ``constants={'KTileSz': range(1, 13)}`` this is
    AIRCHITECT-v2's ConfigID, ``(num_pes - 1) * 12 + (KTileSz - 1)``. Constants the dataflow binds
    to ``num_pes`` (``.bind(ClusterSz='num_pes')``) follow the PE count; others take their defaults.

    Args:
      layer: CONV :class:`SpatialLayer`, stride 1, leaves broadcastable to ``[L]`` (positive integers).
      dataflow: a registered name or a parsed :class:`Dataflow` with named constants.
      num_pes: the PE counts ``[P]`` (traced: one graph serves them all).
      constants: ``{name: values}``; each combination of values is one compiled graph (static).
      l1_size, l2_size, noc_bw, offchip_bw, noc_hops: the accelerator's other fields (shared).
      chunk: layers per ``lax.map`` step; block_layers: layers per host call (memory).
      pad_to_block: always call with ``block_layers`` layers (padded): one compiled shape serves
        every batch size (else batches under ``block_layers`` run at the next power of two, which
        compiles the graphs again for each new size).

    Returns:
      ``(runtime_cycles float64 [L, D], valid bool [L, D])``, ``D = P * prod(len(values))``;
      ``valid`` is False where the model's ``degenerate`` flag is set (MAESTRO's runtime 0 / negative
      counts, overflow, zero compute delay): a search must never pick those points.

    Raises:
      ValueError: a non-CONV layer, a stride other than 1, a non-positive / non-integer field,
        empty or non-positive ``num_pes`` / constant values, a constant the dataflow does not have.
    """
    df = get_dataflow(dataflow)
    cols, mode = _layer_columns(layer)
    pes = np.asarray(num_pes, np.float64).reshape(-1)
    if pes.size == 0 or np.any(~np.isfinite(pes) | (pes < 1) | (pes != np.floor(pes))):
        raise ValueError(f"num_pes must be a non-empty list of positive integers, got {num_pes!r}.")
    names = tuple(constants)
    unknown = [n for n in names if n not in df.constant_names]
    if unknown:
        raise ValueError(f"constants {unknown} are not constants of dataflow {df.name!r} "
                         f"(it has {list(df.constant_names)}).")
    values = []
    for n in names:
        v = [int(x) for x in constants[n]]
        if not v or min(v) < 1 or list(constants[n]) != v:
            raise ValueError(f"constants[{n!r}] must be a non-empty list of positive integers, got "
                             f"{constants[n]!r}.")
        values.append(v)
    hw = tuple(float(x) for x in (l1_size, l2_size, noc_bw, offchip_bw, noc_hops))
    for k, x in zip(_HW, hw):
        if not np.isfinite(x) or x <= 0:
            raise ValueError(f"{k} must be positive and finite, got {x!r}.")
    combos = list(itertools.product(*values))
    n_l = cols.shape[1]
    chunk = max(1, int(chunk) if pad_to_block else min(int(chunk), 1 << max(n_l - 1, 0).bit_length()))
    # blocks of one shape (a power of two up to block_layers): one compile serves calls of many sizes
    width = -(-int(block_layers) // chunk) * chunk
    if not pad_to_block:
        width = min(width, max(chunk, 1 << max(n_l - 1, 0).bit_length()))
    rt = np.empty((n_l, pes.size, len(combos)))
    dg = np.empty((n_l, pes.size, len(combos)), bool)
    fns = _compile_all([df.substitute(dict(zip(names, combo))) for combo in combos], mode, hw, chunk, width,
                       pes.size)
    for lo in range(0, n_l, width):
        c = cols[:, lo:lo + width]
        m = c.shape[1]
        pad = width - m
        if pad:  # copies of the first layer (a valid one)
            c = np.concatenate([c, np.repeat(c[:, :1], pad, axis=1)], axis=1)
        for j, fn in enumerate(fns):
            r, d = fn(c, pes)
            rt[lo:lo + m, :, j] = np.asarray(r)[:m]
            dg[lo:lo + m, :, j] = np.asarray(d)[:m] != 0
    return rt.reshape(n_l, -1), ~dg.reshape(n_l, -1)
