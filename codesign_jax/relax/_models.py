"""The relaxed cost models: the exact models' own formulas evaluated on :class:`~._numerics.Relaxed`.

* :func:`relaxed_systolic_metrics` is :func:`codesign_jax.systolic.systolic_metrics` with
  ``xp = Relaxed(t)``, :func:`relaxed_compute_cycles` likewise :func:`~codesign_jax.systolic.
  compute_cycles`; :func:`relaxed_systolic_cost` adds :func:`~codesign_jax.systolic.systolic_energy`
  (a smooth formula already: it runs on the relaxed counts unchanged).
* :func:`relaxed_spatial_cost` is the spatial model's ``_report`` (MAESTRO's analysis, interned into
  a symbolic graph) lowered by ``Relaxed.lower_graph``.
* :func:`dataflow_weights` / :func:`soft_choice`: a soft (softmax or Gumbel-softmax) choice among
  dataflows evaluated side by side; :func:`~._ops.softmin_weights` the relaxed argmin.

Hardware fields may be any positive floats (``rows = 37.5``): the relaxed models are functions of
continuous hardware. Every result converges to the exact model's as ``t -> 0`` at integer designs.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np

from codesign_jax.hardware import SpatialAccelerator, SystolicArray
from codesign_jax.relax._numerics import Relaxed, to_array
from codesign_jax.spatial import _model as _spatial_model
from codesign_jax.spatial._dataflow import Dataflow, get_dataflow
from codesign_jax.systolic import EnergyTable, compute_cycles, default_energy_table, systolic_energy, systolic_metrics
from codesign_jax.workloads import SpatialLayer

__all__ = ["dataflow_weights", "relaxed_compute_cycles", "relaxed_spatial_cost", "relaxed_systolic_cost",
           "relaxed_systolic_metrics", "soft_choice"]


def _check_temperature(temperature) -> None:
    try:
        t = np.asarray(temperature, np.float64)
    except (TypeError, jax.errors.TracerArrayConversionError):
        return  # traced: checked by the caller's own schedule
    if not (np.all(np.isfinite(t)) and np.all(t > 0)):
        raise ValueError(f"temperature must be finite and > 0, got {temperature!r}.")


def _check_calc(bw_mode) -> None:
    """The relaxed systolic model is CALC-mode only: USER mode is a ``lax.while_loop`` recurrence."""
    try:
        mode = np.asarray(bw_mode)
    except (TypeError, jax.errors.TracerArrayConversionError):
        raise ValueError("relaxed systolic model: bw_mode must be static (0 = CALC), got a traced "
                         "value.") from None
    if np.any(mode != 0):
        raise ValueError(f"relaxed systolic model: bw_mode must be 0 (CALC), got {bw_mode!r}; USER mode's "
                         "stalls come from a while-loop recurrence over folds (systolic/_user*.py), "
                         "which has no relaxation.")


def relaxed_systolic_metrics(g: Any, a: SystolicArray, temperature, *, broadcast: bool = True) -> dict:
    """:func:`~codesign_jax.systolic.systolic_metrics` at temperature ``t`` (the same formulas).

    Args:
      g: layers (a :class:`~codesign_jax.workloads.Gemm`; fields ``[...]``).
      a: designs; ``rows, cols`` and the SRAM sizes (KB) may be any positive floats, ``dataflow`` a
        static code (a Python int: that formula only) or an array of codes; ``bw_mode`` must be 0 (CALC).
      temperature: ``t > 0`` (float or traced scalar); ``t -> 0`` is the exact model.
      broadcast: as in ``systolic_metrics``.

    Returns:
      ``{field: float64 [...]}``: every REPORT_FIELDS entry plus ``macs`` and ``folds`` (cycles, words).
    """
    _check_temperature(temperature)
    _check_calc(a.bw_mode)
    out = systolic_metrics(Relaxed(temperature), g, a, broadcast=broadcast)
    return {k: to_array(v) for k, v in out.items()}


def relaxed_compute_cycles(M, N, K, rows, cols, dataflow, temperature):
    """:func:`~codesign_jax.systolic.compute_cycles` at temperature ``t``: ``F * L - 1`` cycles."""
    _check_temperature(temperature)
    return to_array(compute_cycles(Relaxed(temperature), M, N, K, rows, cols, dataflow))


def relaxed_systolic_cost(g: Any, a: SystolicArray, temperature, table: Optional[EnergyTable] = None,
                          *, broadcast: bool = True) -> dict:
    """:func:`relaxed_systolic_metrics` plus :func:`~codesign_jax.systolic.systolic_energy` (pJ, mm^2,
    pJ x cycles), the energy formula run unchanged on the relaxed counts."""
    m = relaxed_systolic_metrics(g, a, temperature, broadcast=broadcast)
    m.update(systolic_energy(jnp, m, a, default_energy_table() if table is None else table,
                             broadcast=broadcast))
    return m


def relaxed_spatial_cost(layer: SpatialLayer, accel: SpatialAccelerator, dataflow: Union[str, Dataflow],
                         temperature) -> dict:
    """The spatial model's report (:data:`codesign_jax.spatial.REPORT_FIELDS`) at temperature ``t``.

    The exact model's own graph (``spatial/_model._report``), lowered with the smooth op set. Hardware
    fields (``num_pes``, ``l1_size``, ``l2_size``, ``noc_bw``, ``offchip_bw``, ``noc_hops``) may be any
    positive floats; layer fields must be integers. ``l1_fits`` / ``l2_fits`` become probabilities.
    Unvalidated, like :func:`~codesign_jax.spatial.make_spatial_cost` (check the integer design with
    :func:`~codesign_jax.spatial.check_spatial`). Fields broadcast over the batch shape.
    """
    _check_temperature(temperature)
    df = get_dataflow(dataflow)
    rx = Relaxed(temperature)
    kind = _spatial_model.layer_kind(layer)
    given, stride = _spatial_model._dims(rx, layer, kind)
    mode = _spatial_model._stride_mode(layer.stride, None, None)
    with np.errstate(all="ignore"):
        out = _spatial_model._report(rx, kind, given, stride, accel, df, mode)
    return {k: to_array(v) for k, v in out.items()}


def dataflow_weights(logits, temperature=1.0, *, key: Optional[jax.Array] = None):
    """Soft dataflow choice ``[..., D]``: ``softmax(logits / tau)``, or Gumbel-softmax with ``key``
    (``softmax((logits + g) / tau)``, ``g ~ Gumbel(0, 1)``: a differentiable sample whose argmax is
    distributed as ``softmax(logits)``; Jang et al., ICLR 2017)."""
    logits = jnp.asarray(logits, jnp.float64)
    if key is not None:
        logits = logits + jax.random.gumbel(key, logits.shape, jnp.float64)
    return jax.nn.softmax(logits / temperature, axis=-1)


def soft_choice(costs, weights, axis: int = -1):
    """Expected cost ``sum_d w_d c_d`` of a soft choice ``weights`` among the ``costs`` on ``axis``."""
    return jnp.sum(jnp.asarray(weights) * jnp.asarray(costs), axis=axis)
