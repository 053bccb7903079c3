"""codesign-jax: batched, jit-compiled accelerator cost models for HW/SW co-design.

Importing the package

* turns on ``jax_enable_x64``: cycle and access counts exceed 2**24 and must be exact
  (int64/float64), see DESIGN.md "Counts are exact";
* unless ``CODESIGN_JAX_KEEP_XLA_FLAGS=1``, adds ``--xla_cpu_experimental_ynn_fusion_type=`` to
  ``XLA_FLAGS`` (before JAX's CPU backend starts): XLA:CPU's YNNPACK fusions run our float64
  elementwise + reduction graphs 5-8x slower than its own loop emitter on x86 (measured in
  ``experiments/benchmark.py``); and, on CPUs with AVX-512, ``--xla_cpu_prefer_vector_width=512``
  (XLA defaults to 256-bit vectors; 512 runs the spatial model ~1.5x faster). Both only take effect
  if the package is imported before JAX runs anything.
"""

import os as _os


def _cpu_has_avx512() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:  # not Linux: keep XLA's default vector width
        return False


if _os.environ.get("CODESIGN_JAX_KEEP_XLA_FLAGS") != "1":
    for _name, _val, _wanted in (("xla_cpu_experimental_ynn_fusion_type", "", lambda: True),
                                 ("xla_cpu_prefer_vector_width", "512", _cpu_has_avx512)):
        if _name not in _os.environ.get("XLA_FLAGS", "") and _wanted():  # a user's own value wins
            _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + f" --{_name}={_val}").strip()

import jax as _jax  # noqa: E402

_jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"

# Public API (one symbol per line). Subpackages stay importable for the rest:
# codesign_jax.systolic, codesign_jax.spatial, codesign_jax.sweep, codesign_jax.nas, codesign_jax.codesign.
from codesign_jax.hardware import DATAFLOWS  # noqa: E402
from codesign_jax.hardware import SpatialAccelerator  # noqa: E402
from codesign_jax.hardware import SystolicArray  # noqa: E402
from codesign_jax.spatial import make_spatial_cost  # noqa: E402
from codesign_jax.spatial import parse_dataflow  # noqa: E402
from codesign_jax.spatial import spatial_area_power  # noqa: E402
from codesign_jax.spatial import spatial_cost  # noqa: E402
from codesign_jax.spatial import spatial_cost_grid  # noqa: E402
from codesign_jax.spatial import spatial_network_cost  # noqa: E402
from codesign_jax.sweep import DesignGrid  # noqa: E402
from codesign_jax.sweep import DesignSpace  # noqa: E402
from codesign_jax.sweep import SweepResult  # noqa: E402
from codesign_jax.sweep import sweep_table  # noqa: E402
from codesign_jax.sweep import systolic_space  # noqa: E402
from codesign_jax.systolic import REPORT_FIELDS  # noqa: E402
from codesign_jax.systolic import EnergyTable  # noqa: E402
from codesign_jax.systolic import SystolicReport  # noqa: E402
from codesign_jax.systolic import compute_cycles  # noqa: E402
from codesign_jax.systolic import default_energy_table  # noqa: E402
from codesign_jax.systolic import systolic_cost  # noqa: E402
from codesign_jax.systolic import systolic_energy  # noqa: E402
from codesign_jax.systolic import systolic_metrics  # noqa: E402
from codesign_jax.systolic import systolic_network_cost  # noqa: E402
from codesign_jax.topology import load_topology  # noqa: E402
from codesign_jax.topology import shipped_topologies  # noqa: E402
from codesign_jax.topology import shipped_topology_path  # noqa: E402
from codesign_jax.trace import trace_fn  # noqa: E402
from codesign_jax.trace import workloads_from_flax  # noqa: E402
from codesign_jax.trace import workloads_from_fn  # noqa: E402
from codesign_jax.workloads import Conv  # noqa: E402
from codesign_jax.workloads import Gemm  # noqa: E402
from codesign_jax.workloads import LayerTable  # noqa: E402
from codesign_jax.workloads import SpatialLayer  # noqa: E402

__all__ = [
    "Conv",
    "DATAFLOWS",
    "DesignGrid",
    "DesignSpace",
    "EnergyTable",
    "Gemm",
    "LayerTable",
    "REPORT_FIELDS",
    "SpatialAccelerator",
    "SpatialLayer",
    "SweepResult",
    "SystolicArray",
    "SystolicReport",
    "compute_cycles",
    "default_energy_table",
    "load_topology",
    "make_spatial_cost",
    "parse_dataflow",
    "shipped_topologies",
    "shipped_topology_path",
    "spatial_area_power",
    "spatial_cost",
    "spatial_cost_grid",
    "spatial_network_cost",
    "sweep_table",
    "systolic_cost",
    "systolic_energy",
    "systolic_metrics",
    "systolic_network_cost",
    "systolic_space",
    "trace_fn",
    "workloads_from_flax",
    "workloads_from_fn",
]
