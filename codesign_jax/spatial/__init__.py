"""MAESTRO-equivalent spatial-accelerator model (multi-dataflow: weight-, output-, row-stationary, ...).

* ``_dataflow``: dataflows as data (MAESTRO directive tables, ``parse_dataflow``);
* ``_engine`` / ``_analysis`` / ``_sym``: MAESTRO's iteration cases as exact array formulas, interned
  at trace time; ``_model``: the unvalidated kernel ``make_spatial_cost``;
* ``_check``: where MAESTRO refuses a combination; ``_cost``: the validated ``spatial_cost``;
* ``_grid``: the layers x accelerators evaluator; ``_runtime_space``: runtime only over a
  num_pes x static-constants design space (exhaustive-search labels); ``_area``: area and power;
* ``_network``: a whole layer table in one call (``spatial_network_cost``);
* ``_files``: MAESTRO's model and hardware files; ``_run``: a model file on one accelerator, as
  MAESTRO runs it; ``_csv``: the CSV MAESTRO writes.
The layer (:class:`~codesign_jax.workloads.SpatialLayer`) and accelerator
(:class:`~codesign_jax.hardware.SpatialAccelerator`) types are re-exported here.
"""

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial._area import spatial_area_power
from codesign_jax.spatial._check import DEGENERATE_REASONS
from codesign_jax.spatial._check import check_spatial
from codesign_jax.spatial._check import degenerate_errors
from codesign_jax.spatial._cost import spatial_cost
from codesign_jax.spatial._dataflow import DATAFLOWS
from codesign_jax.spatial._dataflow import Const
from codesign_jax.spatial._dataflow import Dataflow
from codesign_jax.spatial._dataflow import get_dataflow
from codesign_jax.spatial._dataflow import parse_dataflow
from codesign_jax.spatial._grid import grid_errors
from codesign_jax.spatial._grid import spatial_cost_grid
from codesign_jax.spatial._runtime_space import spatial_runtime_space
from codesign_jax.spatial._model import DRAM_ENERGY_XMAC
from codesign_jax.spatial._model import KINDS
from codesign_jax.spatial._model import REPORT_FIELDS
from codesign_jax.spatial._model import SpatialReport
from codesign_jax.spatial._model import make_spatial_cost
from codesign_jax.spatial._network import DEFAULT_NETWORK_DATAFLOWS
from codesign_jax.spatial._network import SPATIAL_ADDITIVE_FIELDS
from codesign_jax.spatial._network import spatial_network_cost
from codesign_jax.workloads import LAYER_TYPES
from codesign_jax.workloads import SpatialLayer
from codesign_jax.workloads import conv_layer
from codesign_jax.workloads import dsconv_layer
from codesign_jax.workloads import gemm_layer

__all__ = [
    "Const",
    "DATAFLOWS",
    "DEGENERATE_REASONS",
    "DEFAULT_NETWORK_DATAFLOWS",
    "DRAM_ENERGY_XMAC",
    "Dataflow",
    "KINDS",
    "LAYER_TYPES",
    "REPORT_FIELDS",
    "SPATIAL_ADDITIVE_FIELDS",
    "SpatialAccelerator",
    "SpatialLayer",
    "SpatialReport",
    "check_spatial",
    "conv_layer",
    "degenerate_errors",
    "dsconv_layer",
    "gemm_layer",
    "get_dataflow",
    "grid_errors",
    "make_spatial_cost",
    "parse_dataflow",
    "spatial_area_power",
    "spatial_cost",
    "spatial_cost_grid",
    "spatial_runtime_space",
    "spatial_network_cost",
]
