"""A whole MAESTRO model file on one accelerator, as the MAESTRO binary evaluates it.

``evaluate_model(model, hw)`` turns each ``Layer`` into the spatial model's layer (MAESTRO's layer
types: TRCONV is analysed as CONV -- ``DFSL_parser.hpp`` builds a ConvLayer and the inner stride it
sets never reaches ``LayerDimension``; a layer type's tensors carry the batch dimension N when the
network's first layer of that type declares N: ``APIV2::AnalyzeClusters`` keys the tensor table by
layer type), groups layers that share a dataflow, a kind and a stride class into one batched
evaluation, and returns every layer's figures in file order, or the reason MAESTRO stops.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional

import jax
import numpy as np

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial._check import DEGENERATE_REASONS, _stride_groups, check_spatial
from codesign_jax.spatial._dataflow import Dataflow
from codesign_jax.spatial._files import ModelFile, ModelLayer
from codesign_jax.spatial._model import _MODE_ARGS, REPORT_FIELDS, layer_keys, layer_value, make_spatial_cost
from codesign_jax.workloads import SpatialLayer

__all__ = ["NetworkResult", "evaluate_model", "layer_table"]

_TYPE = {"TRCONV": "CONV"}  # MAESTRO's LayerType of each written type
_TENSOR_DIMS = {"input": ("N", "G", "C", "Y", "X"), "filter": ("G", "K", "C", "R", "S")}
_GEMM_DIMS = {"input": ("M", "K"), "filter": ("K", "N")}
_KEYS = REPORT_FIELDS + ("arithmetic_intensity",)


@functools.lru_cache(maxsize=None)
def _jitted_extras(df: Dataflow, kind: str, mode: str, simd: int):
    return jax.jit(make_spatial_cost(df, kind, extras=True, simd_lanes=simd, **_MODE_ARGS[mode]))


@dataclasses.dataclass(frozen=True)
class NetworkResult:
    """Per-layer figures of a model file (file order): ``fields`` maps each report field to ``[L]``;
    ``multi_level`` (dataflow with a Cluster), tensor sizes as MAESTRO counts them, and ``error``:
    '' or why MAESTRO stops on that layer (then the figures of that layer are NaN)."""

    network: str
    names: tuple
    kinds: tuple
    fields: dict
    multi_level: np.ndarray
    input_size: np.ndarray
    weight_size: np.ndarray
    error: tuple


def _values(layer: ModelLayer, kind: str) -> dict:
    """SpatialLayer field values of one model-file layer (raises ValueError naming what is missing)."""
    d = dict(layer.dims)
    where = f"layer {layer.name!r} ({layer.layer_type})"

    def need(k):
        if k not in d:
            raise ValueError(f"{where}: no dimension {k} (declared: {sorted(d)}).")
        return d[k]

    if kind == "GEMM":
        return dict(K=need("N"), C=need("K"), R=1, S=1, Y=need("M"), X=1, stride=1)
    st = dict(layer.strides)
    sy, sx = st.get("Y", 1), st.get("X", 1)
    if sy != sx:
        raise ValueError(f"{where}: strides X={sx}, Y={sy} differ; the spatial model takes one stride for both.")
    R, S = need("R"), need("S")
    Y = d["Y"] if "Y" in d else need("Y'") + R - 1  # ConstructConvDimensionTable: Y = Y' + R - 1
    X = d["X"] if "X" in d else need("X'") + S - 1
    v = dict(K=d.get("K", 1) if kind.startswith("DSCONV") else need("K"), C=need("C"), R=R, S=S, Y=Y, X=X, stride=sy)
    if kind.endswith("+N"):
        v["N"] = d.get("N", 1)
    if kind.startswith("NGCONV"):
        v["G"] = need("G")
    return v


def _tensor_size(layer: ModelLayer, kind: str, tensor: str) -> int:
    """APIV2::GetTensorSize: the product of the layer's declared dimensions coupled to ``tensor``."""
    coupled = _GEMM_DIMS[tensor] if kind == "GEMM" else _TENSOR_DIMS[tensor]
    if kind != "GEMM":
        coupled = tuple(c for c in coupled if (c != "N" or kind.endswith("+N")) and (c != "G" or "NGCONV" in kind)
                        and (c != "K" or not kind.startswith("DSCONV")))
    size = 1
    for name, v in layer.dims:
        if name in coupled:
            size *= v
    return size


def layer_table(model: ModelFile) -> list:
    """``(kind, values or None, error)`` per layer: MAESTRO's layer kind (batch tensors per layer type)
    and the :class:`SpatialLayer` values, or why the layer cannot be evaluated."""
    batch: dict = {}
    out = []
    for layer in model.layers:
        lt = _TYPE.get(layer.layer_type, layer.layer_type)
        if lt not in batch:
            batch[lt] = lt != "GEMM" and any(k == "N" for k, _ in layer.dims)
        kind = lt + ("+N" if batch[lt] else "")
        try:
            out.append((kind, _values(layer, kind), ""))
        except ValueError as e:
            out.append((kind, None, str(e)))
    return out


def evaluate_model(model: ModelFile, accel: SpatialAccelerator, backend: str = "numpy", simd: int = 1
                   ) -> NetworkResult:
    """Every layer of ``model`` on the scalar accelerator ``accel`` (``simd`` MAC lanes per PE); one batched
    call per group of layers sharing (dataflow, kind, stride class). ``backend``: 'numpy' (no compile) or
    'jax'."""
    table = layer_table(model)
    n = len(model.layers)
    fields = {k: np.full(n, np.nan) for k in _KEYS}
    errors = [e for _, _, e in table]
    groups: dict = {}
    for i, (layer, (kind, vals, err)) in enumerate(zip(model.layers, table)):
        if not err:
            groups.setdefault((layer.directives, kind), []).append(i)
    for (dirs, kind), idx in groups.items():
        df = Dataflow(model.network or "network", dirs)
        cols = {k: np.array([float(table[i][1][k]) for i in idx]) for k in layer_keys(kind)}
        lay = SpatialLayer(**cols, layer_type=kind.split("+")[0], batch=kind.endswith("+N"))
        err = check_spatial(lay, accel, df)
        for j, i in enumerate(idx):
            if err[j]:
                errors[i] = err[j]
        ok = np.flatnonzero(err == "")
        if not ok.size:
            continue
        sub = lay.replace(**{k: c[ok] for k, c in cols.items()})
        if backend == "numpy":
            rep = make_spatial_cost(df, kind, backend="numpy", extras=True, simd_lanes=simd)(sub, accel)
            vals = {k: np.broadcast_to(np.asarray(getattr(rep, k), np.float64), ok.shape) for k in _KEYS}
        else:
            vals = {k: np.empty(ok.shape) for k in _KEYS}
            for mask, mode in _stride_groups(sub.stride, kind):
                part = sub.replace(**{k: c[mask] for k, c in _cols(sub, kind).items()})
                rep = _jitted_extras(df, kind, mode, simd)(part, accel)
                for k in _KEYS:
                    vals[k][mask] = np.asarray(getattr(rep, k))
        for k in _KEYS:
            fields[k][np.asarray(idx)[ok]] = vals[k]
        code = vals["degenerate"]
        for j in np.flatnonzero(code >= 2):  # MAESTRO crashes (1: it prints the degenerate figures)
            errors[idx[ok[j]]] = DEGENERATE_REASONS[int(code[j])]
    multi = np.array([any(d.kind == "cluster" for d in layer.directives) for layer in model.layers], bool)
    sizes = {t: np.array([_tensor_size(layer, kind, t) for layer, (kind, _, _) in zip(model.layers, table)])
             for t in ("input", "filter")}
    return NetworkResult(model.network, tuple(x.name for x in model.layers), tuple(k for k, _, _ in table), fields,
                         multi, sizes["input"], sizes["filter"], tuple(errors))


def _cols(layer: SpatialLayer, kind: str) -> dict:
    return {k: np.asarray(layer_value(layer, k)) for k in layer_keys(kind)}


def first_error(result: NetworkResult) -> Optional[tuple]:
    """(layer index, name, reason) of the first layer MAESTRO stops on, or None."""
    for i, e in enumerate(result.error):
        if e:
            return i, result.names[i], e
    return None
