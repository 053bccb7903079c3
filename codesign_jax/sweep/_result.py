"""What a sweep returns: its reductions (:class:`SweepResult`) and how it ran (:class:`SweepStats`)."""

from __future__ import annotations

import dataclasses

import numpy as np
from flax import struct

__all__ = ["SweepResult", "SweepStats"]


@dataclasses.dataclass(frozen=True)
class SweepStats:
    """How a sweep ran: sizes, timing (seconds; the first chunk includes compilation) and
    engine counters (``compiles``: traces of the chunk function, 1 when nothing retraced).
    ``n_devices`` counts this process's devices; ``points_per_process`` the points each of the
    ``n_processes`` processes evaluated (a multi-process sweep splits the design chunks)."""

    points: int
    n_workloads: int
    n_designs: int
    chunk_size: int
    n_chunks: int
    n_devices: int
    device: str
    seconds: float
    first_chunk_seconds: float
    compiles: int
    pareto_fallbacks: int
    n_processes: int = 1
    process_index: int = 0
    points_per_process: tuple = ()
    chunks_this_process: int | None = None

    @property
    def points_this_process(self) -> int:
        """(Layer or workload, design) points this process evaluated."""
        return self.points_per_process[self.process_index] if self.points_per_process else self.points

    @property
    def points_per_s(self) -> float:
        """Throughput over the whole sweep (all processes), compilation included."""
        return self.points / self.seconds if self.seconds > 0 else float("inf")

    @property
    def steady_points_per_s(self) -> float:
        """This process's throughput after its first (compiling) chunk; NaN for one chunk."""
        n = self.n_chunks if self.chunks_this_process is None else self.chunks_this_process
        rest = self.seconds - self.first_chunk_seconds
        if n < 2 or rest <= 0:
            return float("nan")
        return self.points_this_process * (n - 1) / n / rest


@struct.dataclass
class SweepResult:
    """Reductions of a sweep (host numpy arrays). Index -1 = no feasible design.

    Attributes:
      best_value, best_index: ``[S]`` float64 / int64, min and argmin of objective 0.
      topk_value, topk_index: ``[S, k]`` sorted ascending (``None`` unless ``top_k``).
      overall_value, overall_workload, overall_index: ``[k]`` (``None`` unless ``overall_top_k``).
      pareto_workload, pareto_index: ``[n]`` int64; pareto_values ``[n, m]`` float64: every
        workload's front over the m objectives ``pareto_names``, by workload then objectives
        (``None`` unless ``pareto``).
      full: ``[n_obj, S, n_designs]`` float64 objectives (``None`` unless ``full``).
      objective_names, axis_names: static labels. stats: :class:`SweepStats`.
    """

    best_value: np.ndarray
    best_index: np.ndarray
    topk_value: np.ndarray | None = None
    topk_index: np.ndarray | None = None
    overall_value: np.ndarray | None = None
    overall_workload: np.ndarray | None = None
    overall_index: np.ndarray | None = None
    pareto_workload: np.ndarray | None = None
    pareto_index: np.ndarray | None = None
    pareto_values: np.ndarray | None = None
    full: np.ndarray | None = None
    objective_names: tuple = struct.field(pytree_node=False, default=())
    pareto_names: tuple = struct.field(pytree_node=False, default=())
    axis_names: tuple = struct.field(pytree_node=False, default=())
    stats: SweepStats | None = struct.field(pytree_node=False, default=None)
