"""Co-design objectives: a goal, budgets, and a total order on (architecture, design) pairs.

Goals (``Objective.goal``):

* ``max_accuracy``: maximize accuracy s.t. latency <= L, energy <= E, area <= A;
* ``min_latency`` / ``min_energy`` / ``min_edp``: minimize latency, energy or latency x energy s.t.
  accuracy >= a (and any of the other budgets);
* ``weighted``: minimize ``w_lat * lat / s_lat + w_en * en / s_en + w_area * area / s_area - w_acc * acc / 100``
  (scales ``s``, e.g. the reference accelerator's medians) s.t. the budgets.

Every goal is a lexicographic key (primary value, then the tie-breaks below, then area, then the lowest
architecture index and design index), so the optimum is unique and two searches agree exactly when they
return the same pair. Every key is non-decreasing in area, latency and energy where they enter, which is
what lets the buffer axes be resolved by the smallest fitting buffers (``_metrics``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["BUDGETS", "GOALS", "Objective", "objective_from_config"]

GOALS = ("max_accuracy", "min_latency", "min_energy", "min_edp", "weighted")
#: budget field -> (metric, sense): the pair must have metric <= budget ('max') or >= budget ('min').
BUDGETS = {"max_latency": ("latency", "max"), "max_energy": ("energy", "max"), "max_area": ("area", "max"),
           "min_accuracy": ("accuracy", "min")}
_WEIGHTS = ("latency", "energy", "area", "accuracy")


@dataclasses.dataclass(frozen=True)
class Objective:
    """A goal with budgets (``inf`` / ``-inf`` = no budget).

    Attributes:
      goal: one of :data:`GOALS`.
      max_latency: cycles. max_energy: the model's energy unit. max_area: mm^2. min_accuracy: %.
      weights, scales: ``{'latency', 'energy', 'area', 'accuracy'}`` weights (>= 0) and scales (> 0) of the
        ``weighted`` goal.
    """

    goal: str = "max_accuracy"
    max_latency: float = math.inf
    max_energy: float = math.inf
    max_area: float = math.inf
    min_accuracy: float = -math.inf
    weights: tuple = ()
    scales: tuple = ()

    def __post_init__(self):
        if self.goal not in GOALS:
            raise ValueError(f"objective.goal={self.goal!r} must be one of {GOALS}.")
        for name in BUDGETS:
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.integer, np.floating)) or math.isnan(v):
                raise ValueError(f"objective.{name}={v!r} must be a number (or +-inf for no budget).")
            if name != "min_accuracy" and v <= 0:
                raise ValueError(f"objective.{name}={v!r} must be positive.")
        if self.goal == "weighted":
            w, s = dict(self.weights), dict(self.scales)
            for name, d in (("weights", w), ("scales", s)):
                bad = sorted(set(d) - set(_WEIGHTS))
                if bad:
                    raise ValueError(f"objective.{name}: unknown key(s) {bad}; expected {_WEIGHTS}.")
            for k, v in w.items():
                if not v >= 0:
                    raise ValueError(f"objective.weights.{k}={v!r} must be >= 0.")
            for k, v in s.items():
                if not v > 0:
                    raise ValueError(f"objective.scales.{k}={v!r} must be > 0.")
            if not any(w.values()):
                raise ValueError(f"objective.weights={w} needs a positive weight.")

    def budgets(self) -> dict:
        """``{budget field: value}`` of the finite budgets."""
        return {k: float(getattr(self, k)) for k in BUDGETS if math.isfinite(getattr(self, k))}

    def keys(self, xp, latency, energy, area, accuracy) -> list:
        """The lexicographic key columns (lower is better), broadcast arrays of the pair metrics."""
        acc = -accuracy + 0 * latency
        if self.goal == "max_accuracy":
            return [acc, latency, energy, area]
        if self.goal == "min_latency":
            return [latency, acc, energy, area]
        if self.goal == "min_energy":
            return [energy, acc, latency, area]
        if self.goal == "min_edp":
            return [latency * energy, acc, latency, area]
        w, s = dict(self.weights), dict(self.scales)
        term = lambda k, x: w.get(k, 0.0) * x / s.get(k, 1.0)
        value = term("latency", latency) + term("energy", energy) + term("area", area) - w.get("accuracy", 0.0) * (
            accuracy / 100.0)
        return [value, acc, latency, area]

    def meets(self, latency, energy, area, accuracy) -> np.ndarray:
        """bool: the pairs within every budget (NaN metrics never do)."""
        with np.errstate(invalid="ignore"):
            return ((latency <= self.max_latency) & (energy <= self.max_energy) & (area <= self.max_area)
                    & (accuracy >= self.min_accuracy))


def objective_from_config(cfg: Mapping[str, Any]) -> Objective:
    """An :class:`Objective` from a config mapping (missing budgets: none); unknown keys rejected by name."""
    cfg = dict(cfg)
    fields = {f.name for f in dataclasses.fields(Objective)}
    unknown = sorted(set(cfg) - fields)
    if unknown:
        raise ValueError(f"objective: unknown field(s) {unknown}; expected {sorted(fields)}.")
    for k in ("weights", "scales"):
        if k in cfg:
            cfg[k] = tuple(sorted(dict(cfg[k]).items()))
    for k in BUDGETS:
        if k in cfg and cfg[k] is None:
            cfg[k] = math.inf if BUDGETS[k][1] == "max" else -math.inf
    return Objective(**cfg)
