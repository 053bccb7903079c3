"""AIRCHITECT (Samajdar et al., 2021): learn the design-space optimization itself.

A classifier maps a workload and its constraints straight to the optimal configuration id; labels
come from exhaustive search with the exact cost models.

* ``_case``: what a case study is (:class:`Case`, :class:`Labels`) and shared input helpers;
  ``_case_array`` (case 1: array shape + dataflow under a MAC budget), ``_case_sram`` (case 2:
  SRAM sizing in USER bandwidth mode), ``_case_sched`` (case 3: 4 GEMMs on 4 arrays);
  ``_registry``: cases by name;
* ``_models``: the paper-style embedding baseline and our heads (Flax: cost, pair-max,
  factor), ridge init;
* ``_train``: optax training with orbax checkpoints; ``_predictor``: :class:`Predictor`;
* ``experiment``: ``run(config, workdir)`` behind ``experiments/airchitect.py``.
"""

from codesign_jax.airchitect._case import Case
from codesign_jax.airchitect._case import Labels
from codesign_jax.airchitect._case_array import array_case
from codesign_jax.airchitect._case_sched import sched_case
from codesign_jax.airchitect._case_sram import sram_case
from codesign_jax.airchitect._case_v2 import v2_case
from codesign_jax.airchitect._models import CostHead
from codesign_jax.airchitect._models import EmbedMLP
from codesign_jax.airchitect._models import FactorHead
from codesign_jax.airchitect._predictor import Predictor
from codesign_jax.airchitect._registry import CASES
from codesign_jax.airchitect._registry import make_case
from codesign_jax.airchitect._train import train_model

__all__ = [
    "CASES",
    "Case",
    "CostHead",
    "EmbedMLP",
    "FactorHead",
    "Labels",
    "Predictor",
    "array_case",
    "make_case",
    "sched_case",
    "sram_case",
    "train_model",
    "v2_case",
]
