"""Hardware / neural-architecture co-design on whole NAS spaces: semi-decoupled search vs the joint optimum.

* ``_accel``: accelerator spaces (spatial MAESTRO grids, systolic SCALE-Sim grids) with an area model;
* ``_metrics``: ``[n_arch, n_perf]`` network latency / energy / area / feasibility (distinct layer rows
  evaluated once, summed through the count matrix; buffer axes resolved exactly);
* ``_objective``: goals with budgets and a total order; ``_search``: the batched joint search (optimum, or
  an infeasible result naming the binding budget and the closest pair);
* ``_semi``: stage 1 ranking on reference accelerators, stage 2, the exhaustive baseline;
* ``_rank``: Spearman / Kendall / top-k overlap between accelerators; ``_plots``: figures;
* ``experiment``: ``run(config, workdir)`` behind ``experiments/semi_decoupled.py``.
"""

from codesign_jax.codesign._accel import SPATIAL_DEFAULTS
from codesign_jax.codesign._accel import SYSTOLIC_DEFAULTS
from codesign_jax.codesign._accel import AcceleratorSpace
from codesign_jax.codesign._accel import accelerator_space
from codesign_jax.codesign._accel import spatial_accelerator_space
from codesign_jax.codesign._accel import systolic_array_space
from codesign_jax.codesign._metrics import PairMetrics
from codesign_jax.codesign._metrics import evaluate_pairs
from codesign_jax.codesign._objective import GOALS
from codesign_jax.codesign._objective import Objective
from codesign_jax.codesign._objective import objective_from_config
from codesign_jax.codesign._rank import rank_correlation
from codesign_jax.codesign._rank import sample_accelerators
from codesign_jax.codesign._search import Choice
from codesign_jax.codesign._search import best_pairs
from codesign_jax.codesign._semi import Ranking
from codesign_jax.codesign._semi import SearchRun
from codesign_jax.codesign._semi import dominated_counts
from codesign_jax.codesign._semi import exhaustive_search
from codesign_jax.codesign._semi import family_references
from codesign_jax.codesign._semi import per_reference_k
from codesign_jax.codesign._semi import reference_points
from codesign_jax.codesign._semi import semi_decoupled
from codesign_jax.codesign._semi import semi_points
from codesign_jax.codesign._semi import smallest_k
from codesign_jax.codesign._semi import stage1_ranking

__all__ = [
    "AcceleratorSpace",
    "Choice",
    "GOALS",
    "Objective",
    "PairMetrics",
    "Ranking",
    "SPATIAL_DEFAULTS",
    "SYSTOLIC_DEFAULTS",
    "SearchRun",
    "accelerator_space",
    "best_pairs",
    "dominated_counts",
    "evaluate_pairs",
    "exhaustive_search",
    "family_references",
    "objective_from_config",
    "per_reference_k",
    "rank_correlation",
    "reference_points",
    "sample_accelerators",
    "semi_decoupled",
    "semi_points",
    "smallest_k",
    "spatial_accelerator_space",
    "stage1_ranking",
    "systolic_array_space",
]
