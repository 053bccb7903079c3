"""Architecture spaces as layer tables, and whole spaces costed on accelerators.

* ``_data``: the shipped tables (``data/``, sources in ``data/README.md``); ``_nb201`` / ``_alphanet``:
  the skeletons that turn a NAS-Bench-201 cell / an AlphaNet subnet into layer rows; ``_space``:
  :func:`load_space` (one :class:`~codesign_jax.workloads.LayerTable` for a whole space, network id per
  architecture, with accuracies) and :func:`check_macs`;
* ``_distinct``: distinct layer rows + count matrix; ``_cost``: :func:`spatial_network_cost`
  (``[n_arch, n_accel]`` network sums of MAESTRO's figures); ``_cli``: ``python -m codesign_jax.nas``.

Pooling, activations, normalization and elementwise ops (residual adds, SE gating) are not layers:
MAESTRO and SCALE-Sim model only convolutions and matrix products.
"""

from codesign_jax.nas._alphanet import alphanet_layers
from codesign_jax.nas._cli import read_accelerators
from codesign_jax.nas._cost import FC_MODES
from codesign_jax.nas._cost import NetworkCost
from codesign_jax.nas._cost import spatial_layers
from codesign_jax.nas._cost import spatial_network_cost
from codesign_jax.nas._data import NB201_OPS
from codesign_jax.nas._data import alphanet_table
from codesign_jax.nas._data import nb201_arch_str
from codesign_jax.nas._data import nb201_table
from codesign_jax.nas._data import paper_accelerators_path
from codesign_jax.nas._distinct import DistinctLayers
from codesign_jax.nas._distinct import distinct_layers
from codesign_jax.nas._nb201 import NB201_DATASETS
from codesign_jax.nas._nb201 import nb201_layers
from codesign_jax.nas._space import SPACES
from codesign_jax.nas._space import ArchSpace
from codesign_jax.nas._space import check_macs
from codesign_jax.nas._space import load_space

__all__ = [
    "ArchSpace",
    "DistinctLayers",
    "FC_MODES",
    "NB201_DATASETS",
    "NB201_OPS",
    "NetworkCost",
    "SPACES",
    "alphanet_layers",
    "alphanet_table",
    "check_macs",
    "distinct_layers",
    "load_space",
    "nb201_arch_str",
    "nb201_layers",
    "nb201_table",
    "paper_accelerators_path",
    "read_accelerators",
    "spatial_layers",
    "spatial_network_cost",
]
