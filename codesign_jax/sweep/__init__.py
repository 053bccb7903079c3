"""Design-space sweeps: every (workload, design) point of a lazy grid, in bounded memory.

* ``_grid``: design spaces (lazy Cartesian grids decoded from flat indices; ``systolic_space``);
* ``_spatial``: MAESTRO-style accelerator spaces whose axes may be dataflow constants (``spatial_space``);
* ``_objectives``: objectives and ready-made cost functions;
* ``_step``: the jitted, sharded chunk step; ``_reduce``: streaming argmin / top-k / Pareto merges;
* ``_host``: progress and the exact host-side Pareto merge; ``_engine``: :func:`sweep` itself;
* ``_distributed``: multi-process sweeps (``jax.distributed``; each process its share of the chunks);
* ``_network``: :func:`sweep_table`, a whole layer table (repeats counted) per network;
* ``experiment``: the user-facing networks x systolic-grid study (``experiments/sweep.py``).
"""

from codesign_jax.sweep._distributed import define_flags as define_distributed_flags
from codesign_jax.sweep._distributed import initialize as initialize_distributed
from codesign_jax.sweep._distributed import initialize_from_flags as initialize_distributed_from_flags
from codesign_jax.sweep._engine import evaluate_points
from codesign_jax.sweep._engine import sweep
from codesign_jax.sweep._grid import DesignGrid
from codesign_jax.sweep._grid import DesignSpace
from codesign_jax.sweep._grid import systolic_space
from codesign_jax.sweep._network import counted_cost_fn
from codesign_jax.sweep._network import sweep_table
from codesign_jax.sweep._objectives import BUILTIN_OBJECTIVES
from codesign_jax.sweep._objectives import compute_cycles_cost_fn
from codesign_jax.sweep._objectives import resolve_objectives
from codesign_jax.sweep._objectives import systolic_cost_fn
from codesign_jax.sweep._objectives import systolic_energy_cost_fn
from codesign_jax.sweep._reduce import NO_INDEX
from codesign_jax.sweep._reduce import pareto_front_np
from codesign_jax.sweep._result import SweepResult
from codesign_jax.sweep._result import SweepStats
from codesign_jax.sweep._spatial import spatial_cost_fn
from codesign_jax.sweep._spatial import spatial_space

__all__ = [
    "BUILTIN_OBJECTIVES",
    "DesignGrid",
    "DesignSpace",
    "NO_INDEX",
    "SweepResult",
    "SweepStats",
    "compute_cycles_cost_fn",
    "counted_cost_fn",
    "define_distributed_flags",
    "evaluate_points",
    "initialize_distributed",
    "initialize_distributed_from_flags",
    "pareto_front_np",
    "resolve_objectives",
    "spatial_cost_fn",
    "spatial_space",
    "sweep",
    "sweep_table",
    "systolic_cost_fn",
    "systolic_energy_cost_fn",
    "systolic_space",
]
