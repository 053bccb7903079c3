"""The jitted, validated entry point of the systolic model: :func:`systolic_cost`."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic._model import systolic_metrics
from codesign_jax.workloads import Gemm

__all__ = ["SystolicReport", "systolic_cost"]

@struct.dataclass
class SystolicReport:
    """SCALE-Sim report numbers as float64 arrays of the broadcast batch shape."""

    fields: dict

    def __getattr__(self, name):
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None


@functools.partial(jax.jit, static_argnums=(2, 3))
def _systolic_cost_jit(g, a, dataflow, bw_mode):
    if dataflow is not None:
        a = a.replace(dataflow=dataflow)
    if bw_mode is not None:
        a = a.replace(bw_mode=bw_mode)
    return systolic_metrics(jnp, g, a)


def _uniform(v):
    """The single value of a concrete array whose entries are all equal, else None."""
    try:
        arr = np.asarray(v)
    except (TypeError, jax.errors.TracerArrayConversionError):
        return None
    return int(arr.flat[0]) if arr.size and np.all(arr == arr.flat[0]) else None


def systolic_cost(gemm: Gemm, array: SystolicArray, *, exact: bool = False) -> SystolicReport:
    """Jitted SCALE-Sim-equivalent report for every (layer, design) pair (broadcasting).

    Args:
      gemm: layers, fields of shape ``[...]``.
      array: designs, fields broadcastable against the layers' shape. A dataflow or bandwidth
        mode shared by every design is compiled in statically (only its formulas are traced).
      exact: also run the host-side refinement
        (:func:`codesign_jax.systolic._exact.refine_calc`) that makes the CALC-mode DRAM
        timings, the ofmap write-back of layers whose ofmap overflows half its SRAM, and the
        DRAM reads of convolution ifmaps larger than a read-buffer epoch exact, and sums the
        per-fold utilisations in SCALE-Sim's order (bit-identical floats). Costs ~0.5 s per
        ResNet-18 on 2 CPU cores; the CLI uses it, sweeps use the closed form.

    Returns:
      :class:`SystolicReport` whose fields are float64 arrays of the broadcast shape.
    """
    fields = _systolic_cost_jit(gemm, array, _uniform(array.dataflow), _uniform(array.bw_mode))
    if not exact:
        return SystolicReport(fields)
    from codesign_jax.systolic._exact import refine_calc, sequential_fold_means  # host-side, numpy

    m = refine_calc(gemm, array, {k: np.asarray(v) for k, v in fields.items()})
    for k, v in sequential_fold_means(gemm, array).items():
        m[k] = np.broadcast_to(v, np.shape(m[k]))
    return SystolicReport(m)
