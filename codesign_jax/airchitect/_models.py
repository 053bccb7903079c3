"""Flax models mapping a workload (and its constraints) to scores over configuration ids.

* :class:`EmbedMLP`, the paper-style baseline (AIRCHITECT Fig. 1): every input value is bucketized
  and looked up in its own embedding table; the embeddings are concatenated, go through one dense
  ReLU layer and a dense layer whose softmax is over configuration ids.
* :class:`CostHead`, ours: continuous features (logs of the inputs and of the inputs relative to
  powers of two, standardized) -> the predicted natural log of every configuration's cost,
  ``wide(x) + deep_scale * deep(x)``: a linear ("wide") map fitted in closed form to the
  exhaustive-search cost table (:func:`ridge_init`) plus a residual MLP ("deep") whose output layer
  starts at zero. Scores are ``-inv_temp * predicted log cost``, so the argmax is the configuration
  with the smallest predicted cost.
* :class:`FactorHead`, ours for the SRAM case (a product of three 11-size factors): each
  factor's values scored by the MLP, a class scores the sum of its factors' scores (an
  independent choice per buffer shares every sample across its factor's 11 values instead of
  spreading it over 1331 class rows).
* :class:`PairMaxHead`, ours for the scheduling case: one MLP shared by the 16 (GEMM, array)
  pairs predicts each pair's log cycles; an assignment's predicted log makespan is the max over
  its 4 pairs (same scores and losses as the cost head).

All are generic over (features, number of classes); :func:`make_model` builds any from a
config dict, which the Predictor stores next to the parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

__all__ = ["CostHead", "EmbedMLP", "FactorHead", "PairMaxHead", "Standardizer", "make_model",
           "ridge_init"]


class EmbedMLP(nn.Module):
    """Paper-style baseline: per-input embeddings -> concat -> dense ReLU -> class logits.

    Attributes:
      bucket_sizes: number of buckets of each input column.
      n_classes: configuration ids.
      embed_dim: embedding width per input; hidden: width of the dense ReLU layer.
    """

    bucket_sizes: Sequence[int]
    n_classes: int
    embed_dim: int = 16
    hidden: int = 256

    @nn.compact
    def __call__(self, buckets):
        """``buckets`` int32 ``[b, k]`` -> logits float32 ``[b, n_classes]``."""
        embs = [nn.Embed(int(n), self.embed_dim, name=f"embed_{j}")(buckets[:, j])
                for j, n in enumerate(self.bucket_sizes)]
        h = nn.relu(nn.Dense(self.hidden, name="hidden")(jnp.concatenate(embs, axis=-1)))
        return nn.Dense(self.n_classes, name="out")(h)


class CostHead(nn.Module):
    """Ours: predicted log cost of every class from standardized features (wide + deep).

    Attributes:
      n_classes: configuration ids.
      width, depth: residual MLP width and number of residual blocks (pre-LayerNorm, ReLU).
      deep_scale: multiplies the MLP's output (small values keep its first Adam steps from
        disturbing a fitted wide part).
    """

    n_classes: int
    width: int = 256
    depth: int = 2
    deep_scale: float = 1.0

    @nn.compact
    def __call__(self, x):
        """``x`` float32 ``[b, f]`` -> predicted natural-log cost float32 ``[b, n_classes]``."""
        wide = nn.Dense(self.n_classes, name="wide")(x)
        deep = nn.Dense(self.n_classes, kernel_init=nn.initializers.zeros, name="head")(
            _residual_trunk(x, self.width, self.depth))
        return wide + self.deep_scale * deep


def _residual_trunk(x, width: int, depth: int):
    """The residual MLP both heads share, called inside a compact ``__call__`` (its layers belong to
    the caller, named ``embed``, ``res_i``, ``ln_i``, ``ln_out``): ``[..., f]`` -> ``[..., width]``,
    pre-LayerNorm ReLU blocks, ending in LayerNorm + ReLU."""
    h = nn.Dense(width, name="embed")(x)
    for i in range(depth):
        h = h + nn.Dense(width, name=f"res_{i}")(nn.relu(nn.LayerNorm(name=f"ln_{i}")(h)))
    return nn.relu(nn.LayerNorm(name="ln_out")(h))


class FactorHead(nn.Module):
    """Ours for product class spaces (case 2: ifmap x filter x ofmap sizes): the residual MLP
    scores each factor's values and a class scores the sum of its factors' scores, plus a full
    per-class correction that starts at zero (``full=True``). Classes are the row-major product
    (the last factor fastest). Returns ``-score`` (a predicted "cost", like :class:`CostHead`).

    Attributes:
      factors: the size of each factor (their product is the number of classes).
      width, depth: the residual MLP; full: add the per-class correction.
    """

    factors: Sequence[int]
    width: int = 256
    depth: int = 2
    full: bool = True

    @nn.compact
    def __call__(self, x):
        """``x`` float32 ``[b, f]`` -> ``-score`` float32 ``[b, prod(factors)]``."""
        h = _residual_trunk(x, self.width, self.depth)
        n = len(self.factors)
        score = 0.0
        for j, k in enumerate(self.factors):
            shape = [1] * n
            shape[j] = int(k)
            u = nn.Dense(int(k), name=f"factor_{j}")(h) + nn.Dense(int(k), name=f"wide_{j}")(x)
            score = score + u.reshape((-1, *shape))
        score = score.reshape(x.shape[0], -1)
        if self.full:
            score = score + nn.Dense(score.shape[-1], kernel_init=nn.initializers.zeros,
                                     name="full")(h)
        return -score


class PairMaxHead(nn.Module):
    """Ours for assignments (case 3): a shared residual MLP predicts the log cost of every
    (item, slot) pair from that pair's features; the predicted log cost of an assignment is the
    max over its pairs (a makespan), so the head is exact in structure and learns only pairs.

    Attributes:
      n_classes: assignments (``n_slots!``, in ``itertools.permutations`` order: class ``c``
        puts item ``perm_c[j]`` on slot ``j``).
      n_slots: items = slots; ``width``, ``depth``: the pair MLP.
    """

    n_classes: int
    n_slots: int = 4
    width: int = 128
    depth: int = 2

    @nn.compact
    def __call__(self, x):
        """``x`` float32 ``[b, n_slots^2 * f]`` (pair ``i * n_slots + j``: item i on slot j)
        -> predicted natural-log cost ``[b, n_classes]``."""
        n = self.n_slots
        perms = np.asarray(list(itertools.permutations(range(n))), np.int32)
        if len(perms) != self.n_classes:
            raise ValueError(f"n_classes must be {len(perms)} (= n_slots!), got {self.n_classes}.")
        x = x.reshape(x.shape[0], n * n, -1)
        pair = (nn.Dense(1, name="head")(_residual_trunk(x, self.width, self.depth))
                + nn.Dense(1, name="wide")(x))[..., 0].reshape(x.shape[0], n, n)
        self.sow("intermediates", "pair", pair)
        return jnp.max(pair[:, perms, np.arange(n)], axis=-1)


def make_model(spec: Mapping) -> nn.Module:
    """``spec['kind']``: ``'embed'`` (EmbedMLP), ``'cost'`` (CostHead), ``'pairmax'``
    (PairMaxHead) or ``'factor'`` (FactorHead); the rest are its fields."""
    kw = {k: v for k, v in spec.items() if k not in ("kind", "inv_temp")}
    if spec["kind"] == "embed":
        return EmbedMLP(bucket_sizes=tuple(int(b) for b in kw.pop("bucket_sizes")), **kw)
    if spec["kind"] == "cost":
        return CostHead(**kw)
    if spec["kind"] == "pairmax":
        return PairMaxHead(**kw)
    if spec["kind"] == "factor":
        return FactorHead(factors=tuple(int(k) for k in kw.pop("factors")),
                          **{k: v for k, v in kw.items() if k != "n_classes"})
    raise ValueError(f"model kind must be 'embed', 'cost', 'pairmax' or 'factor', got "
                     f"{spec['kind']!r}.")


class Standardizer:
    """Per-feature ``(x - mean) / std`` fitted on the training features (std floored at 1e-6)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        self.mean, self.std = np.asarray(mean, np.float64), np.asarray(std, np.float64)

    @classmethod
    def fit(cls, x: np.ndarray, block: int = 1 << 16) -> "Standardizer":
        n = len(x)
        s = np.zeros(x.shape[1])
        s2 = np.zeros(x.shape[1])
        for lo in range(0, n, block):
            xb = x[lo:lo + block].astype(np.float64)
            s += xb.sum(0)
            s2 += (xb * xb).sum(0)
        mean = s / n
        return cls(mean, np.sqrt(np.maximum(s2 / n - mean * mean, 0.0)) + 1e-6)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float64) - self.mean) / self.std).astype(np.float32)


def ridge_init(x: np.ndarray, y: np.ndarray, ridge: float = 1e-6,
               block: int = 1 << 15) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares linear map from features to the log-cost table, ``(kernel [f, C], bias [C])``.

    Solves ``(X^T X + ridge * n * I) W = X^T Y`` in float64 with a bias column (not penalized),
    accumulating the Gram matrices over blocks of rows (memory O(f * C)).
    """
    n, f = x.shape
    G = np.zeros((f + 1, f + 1))
    B = np.zeros((f + 1, y.shape[1]))
    for lo in range(0, n, block):
        xb = np.concatenate([x[lo:lo + block], np.ones((min(block, n - lo), 1))], axis=1)
        xb = xb.astype(np.float64)
        G += xb.T @ xb
        B += xb.T @ y[lo:lo + block].astype(np.float64)
    reg = ridge * n * np.eye(f + 1)
    reg[f, f] = 0.0
    W = np.linalg.solve(G + reg, B)
    return W[:f].astype(np.float32), W[f].astype(np.float32)
