"""Differentiable relaxations of both cost models, and gradient-based hardware search on them.

* ``_ops``: the smooth op set (floor / ceil / trunc, max / min, comparisons, where, soft argmin) with
  a temperature; ``_numerics``: :class:`Relaxed`, the array namespace ``xp`` the exact models'
  formulas run on unchanged (one formula, two numerics), and its lowering of the spatial model's
  symbolic graph;
* ``_models``: the relaxed systolic and spatial models and soft dataflow choices;
* ``_problem``: search problems in both numerics (:func:`systolic_problem`);
* ``_optimize``: :func:`optimize` (optax over log-hardware, annealing, restarts, rounding, exact
  re-evaluation); ``_baselines``: random search, CMA-ES (evosax) and Bayesian optimization (optuna)
  on the same problems; ``experiment``: the comparison study (``experiments/relaxed_search.py``).
"""

from codesign_jax.relax._baselines import BaselineResult
from codesign_jax.relax._baselines import cmaes_search
from codesign_jax.relax._baselines import optuna_search
from codesign_jax.relax._baselines import point_evaluator
from codesign_jax.relax._baselines import random_search
from codesign_jax.relax._models import dataflow_weights
from codesign_jax.relax._models import relaxed_compute_cycles
from codesign_jax.relax._models import relaxed_spatial_cost
from codesign_jax.relax._models import relaxed_systolic_cost
from codesign_jax.relax._models import relaxed_systolic_metrics
from codesign_jax.relax._models import soft_choice
from codesign_jax.relax._numerics import Relaxed
from codesign_jax.relax._numerics import SoftArray
from codesign_jax.relax._ops import soft_ceil
from codesign_jax.relax._ops import soft_eq
from codesign_jax.relax._ops import soft_floor
from codesign_jax.relax._ops import soft_le
from codesign_jax.relax._ops import soft_lt
from codesign_jax.relax._ops import soft_max
from codesign_jax.relax._ops import soft_min
from codesign_jax.relax._ops import soft_trunc
from codesign_jax.relax._ops import soft_where
from codesign_jax.relax._ops import softmin_weights
from codesign_jax.relax._optimize import SearchResult
from codesign_jax.relax._optimize import make_search
from codesign_jax.relax._optimize import optimize
from codesign_jax.relax._optimize import search_evaluations
from codesign_jax.relax._problem import Param
from codesign_jax.relax._problem import Problem
from codesign_jax.relax._problem import SystolicWorkload
from codesign_jax.relax._problem import systolic_problem
from codesign_jax.relax._problem import systolic_workloads

__all__ = [
    "BaselineResult",
    "Param",
    "Problem",
    "Relaxed",
    "SearchResult",
    "SoftArray",
    "SystolicWorkload",
    "cmaes_search",
    "dataflow_weights",
    "make_search",
    "optimize",
    "optuna_search",
    "point_evaluator",
    "random_search",
    "relaxed_compute_cycles",
    "relaxed_spatial_cost",
    "relaxed_systolic_cost",
    "relaxed_systolic_metrics",
    "search_evaluations",
    "soft_ceil",
    "soft_choice",
    "soft_eq",
    "soft_floor",
    "soft_le",
    "soft_lt",
    "soft_max",
    "soft_min",
    "soft_trunc",
    "soft_where",
    "softmin_weights",
    "systolic_problem",
    "systolic_workloads",
]
