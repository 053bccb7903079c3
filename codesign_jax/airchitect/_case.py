"""What a case study is: inputs, configuration classes, labels, and how a prediction is scored.

A :class:`Case` bundles pure functions over numpy dicts of inputs (``{name: int64 [n]}``, or
``[n, 4]`` for the scheduling case): sampling, validation, the model features, the exact labels
(exhaustive search with the cost model) and the exact cost of any predicted class. The model and
the training loop only see ``features [n, f]``, ``buckets [n, b]`` and :class:`Labels`; they are
generic over the case (a new case only needs a new :class:`Case`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from codesign_jax._validate import validate_positive_int

__all__ = ["Case", "Labels", "log_buckets", "log_uniform_int", "positive_inputs", "pow2_features"]


@dataclasses.dataclass(frozen=True)
class Labels:
    """Exact search results for ``n`` samples over ``C`` classes (numpy).

    Attributes:
      label: int64 ``[n]``: the optimal class (the case's documented tie rule).
      opt_cost: float64 ``[n]``: the optimum's cost (cycles, KB, makespan).
      optimal: bool ``[n, C]``: classes whose cost equals the optimum's (ties count as correct).
      feasible: bool ``[n, C]``: classes allowed for the sample (e.g. under the MAC budget).
      log_cost: float32 ``[n, C]`` or None: natural log of each class's cost, the cost head's
        regression target (finite everywhere; None when the search did not evaluate every class).
      extra: case-specific float64 ``[n]`` arrays the scoring needs (e.g. reference cycles).
    """

    label: np.ndarray
    opt_cost: np.ndarray
    optimal: np.ndarray
    feasible: np.ndarray
    log_cost: np.ndarray | None = None
    extra: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def take(self, ix) -> "Labels":
        """The labels of samples ``ix``."""
        lc = None if self.log_cost is None else self.log_cost[ix]
        return Labels(self.label[ix], self.opt_cost[ix], self.optimal[ix], self.feasible[ix], lc,
                      {k: v[ix] for k, v in self.extra.items()})

    @staticmethod
    def concat(parts: list["Labels"]) -> "Labels":
        cat = lambda xs: np.concatenate(xs, axis=0)
        lc = None if any(p.log_cost is None for p in parts) else cat([p.log_cost for p in parts])
        return Labels(cat([p.label for p in parts]), cat([p.opt_cost for p in parts]),
                      cat([p.optimal for p in parts]), cat([p.feasible for p in parts]), lc,
                      {k: cat([p.extra[k] for p in parts]) for k in parts[0].extra})


@dataclasses.dataclass(frozen=True)
class Case:
    """A case study (see module doc). Inputs are dicts of int64 arrays keyed by ``input_names``.

    Attributes:
      name: registry name (``'array'``, ``'sram'``, ``'sched'``); ``params``: its factory's
        keyword arguments (what :func:`codesign_jax.airchitect.make_case` needs to rebuild it).
      input_names: the inputs, in ``Predictor.predict``'s positional order.
      input_width: 1 (one value per sample) or the trailing length of each input (4 GEMMs / arrays).
      classes: decoded outputs of each class id, ``{name: [C] array}``.
      sample(rng, n): ``n`` random inputs (the training distribution).
      check(inputs): validated int64 inputs ``[n]`` / ``[n, w]``; raises ``ValueError`` naming
        the field and value.
      features(inputs): float32 ``[n, f]`` model features.
      buckets(inputs): int32 ``[n, b]`` bucket ids for the paper-style embedding baseline, each
        column ``< bucket_sizes[j]``.
      feasible(inputs): bool ``[n, C]`` classes allowed for each sample.
      label(inputs, progress): exact :class:`Labels` by exhaustive search.
      score(inputs, cls, labels): outputs of the predicted classes ``cls [n]`` with their exact
        cost (``'cycles'``, ...); with ``labels`` also ``correct`` (bool: the cost equals the
        optimum's) and ``ratio`` (performance ratio in (0, 1], 1 when correct).
      score(inputs, cls, labels, known=...): cases whose ``select`` computes costs also take
        ``known``, the exact costs ``select`` returned for ``cls`` (not computed again).
      select(inputs, scores): optional; the answer of each sample from the model's scores
        ``[n, C]`` without the whole ``feasible`` table (when feasibility costs as much as the
        search: case 4 checks candidates in score order; case 2 checks the best ones exactly):
        class ids ``[n]``, or ``(ids, known)`` with ``known`` a dict of exact costs of those ids
        for ``score``. None: argmax over ``feasible``.
    """

    name: str
    params: Mapping
    input_names: tuple
    input_width: int
    classes: Mapping[str, np.ndarray]
    sample: Callable
    check: Callable
    features: Callable
    buckets: Callable
    bucket_sizes: tuple
    feasible: Callable
    label: Callable
    score: Callable
    output_names: tuple = ()
    select: Callable | None = None

    @property
    def n_classes(self) -> int:
        return int(len(next(iter(self.classes.values()))))


def log_uniform_int(rng: np.random.Generator, hi: int, size) -> np.ndarray:
    """Integers in ``[1, hi]`` with ``P(k) = log((k+1)/k) / log(hi+1)``: ``floor(exp(U))``,
    ``U ~ Uniform(0, log(hi + 1))`` (log-uniform over the real interval ``[1, hi+1)``)."""
    x = np.floor(np.exp(rng.uniform(0.0, np.log(hi + 1.0), size)))
    return np.clip(x, 1, hi).astype(np.int64)


def pow2_features(x: np.ndarray, ceil_pows, soft_pows) -> np.ndarray:
    """Features of a positive integer dimension relative to powers of two, float64 ``[n, f]``.

    ``log x``; ``log ceil(x / 2^p)`` for ``p`` in ``ceil_pows`` (the fold count of a tile of
    ``2^p``: where x crosses a multiple of 2^p the cost of every 2^p-wide design jumps); and
    ``log(x + 2^p)`` for ``p`` in ``soft_pows`` (x against a geometric grid of scales: smooth
    fill/drain-like terms). Natural logs, unscaled (standardized later).
    """
    x = np.asarray(x, np.float64)[..., None]
    cp = 2.0 ** np.asarray(list(ceil_pows), np.float64)
    sp = 2.0 ** np.asarray(list(soft_pows), np.float64)
    return np.concatenate([np.log(x), np.log(np.ceil(x / cp)), np.log(x + sp)], axis=-1)


def log_buckets(x: np.ndarray, hi: float, n: int) -> np.ndarray:
    """Bucket ids ``floor(n log x / log(hi + 1))`` clipped to ``[0, n)`` (log-spaced buckets)."""
    b = np.floor(n * np.log(np.asarray(x, np.float64)) / np.log(hi + 1.0))
    return np.clip(b, 0, n - 1).astype(np.int32)


def positive_inputs(inputs: Mapping, names: tuple, width: int = 1) -> dict:
    """``{name: int64 array}`` for every name: present, finite, integral, >= 1, one shape.

    ``width == 1``: arrays of any broadcastable shapes, flattened to ``[n]``; otherwise each
    input is ``[n, width]`` (a single ``[width]`` row is taken as ``n = 1``).
    """
    missing = [k for k in names if k not in inputs]
    if missing:
        raise ValueError(f"missing input(s) {missing}; this case takes {list(names)}.")
    extra = [k for k in inputs if k not in names]
    if extra:
        raise ValueError(f"unknown input(s) {extra}; this case takes {list(names)}.")
    arrs = {k: validate_positive_int(k, inputs[k]) for k in names}
    if width == 1:
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrs.values()))
        except ValueError:
            raise ValueError(f"inputs {list(names)} do not broadcast together: shapes "
                             f"{[a.shape for a in arrs.values()]}.") from None
        return {k: np.broadcast_to(a, shape).reshape(-1) for k, a in arrs.items()}
    out = {}
    for k, a in arrs.items():
        a = a.reshape(1, -1) if a.ndim == 1 else a
        if a.ndim != 2 or a.shape[1] != width:
            raise ValueError(f"{k} must have shape [n, {width}], got {np.shape(inputs[k])}.")
        out[k] = a
    n = {a.shape[0] for a in out.values()}
    if len(n) != 1:
        raise ValueError(f"inputs {list(names)} must have the same number of rows, got "
                         f"{[a.shape[0] for a in out.values()]}.")
    return out
