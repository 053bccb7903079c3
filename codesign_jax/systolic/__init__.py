"""SCALE-Sim 3.0.0-equivalent systolic-array model.

* ``_model``: closed forms of every report field, written once against ``xp`` (numpy or jax.numpy);
  ``_stops``: the SRAM/DRAM start-stop cycles that need conv window geometry or the ofmap drain;
* ``_user`` / ``_user_scan``: USER bandwidth mode's read-buffer recurrence (``lax.while_loop``);
  ``_user_pool``: many USER-mode points streamed through a fixed pool of lanes (resumed loop);
* ``_exact*``: the host-side exact refinement ``systolic_cost(..., exact=True)`` uses (the CLI);
* ``_energy``: energy and area tables (cited, overridable); ``_cost``: the jitted entry point;
* ``_network``: a whole layer table in one call (``systolic_network_cost``).
"""

from codesign_jax.systolic._cost import SystolicReport
from codesign_jax.systolic._cost import systolic_cost
from codesign_jax.systolic._energy import ENERGY_FIELDS
from codesign_jax.systolic._energy import EnergyTable
from codesign_jax.systolic._energy import default_energy_table
from codesign_jax.systolic._energy import systolic_area_mm2
from codesign_jax.systolic._energy import systolic_energy
from codesign_jax.systolic._model import BANDWIDTH_REPORT_FIELDS
from codesign_jax.systolic._model import COMPUTE_REPORT_FIELDS
from codesign_jax.systolic._model import DETAILED_REPORT_FIELDS
from codesign_jax.systolic._model import REPORT_FIELDS
from codesign_jax.systolic._model import compute_cycles
from codesign_jax.systolic._model import operand_shapes
from codesign_jax.systolic._model import systolic_metrics
from codesign_jax.systolic._network import SYSTOLIC_ADDITIVE_FIELDS
from codesign_jax.systolic._network import systolic_network_cost
from codesign_jax.systolic._user_idle import user_buffers_idle
from codesign_jax.systolic._user_pool import user_metrics_pool

__all__ = [
    "BANDWIDTH_REPORT_FIELDS",
    "COMPUTE_REPORT_FIELDS",
    "DETAILED_REPORT_FIELDS",
    "ENERGY_FIELDS",
    "EnergyTable",
    "REPORT_FIELDS",
    "SYSTOLIC_ADDITIVE_FIELDS",
    "SystolicReport",
    "compute_cycles",
    "default_energy_table",
    "operand_shapes",
    "systolic_area_mm2",
    "systolic_cost",
    "systolic_energy",
    "systolic_metrics",
    "systolic_network_cost",
    "user_buffers_idle",
    "user_metrics_pool",
]
