"""Rank correlation of architectures' latency / energy across accelerators (the semi-decoupled premise).

For a sample of accelerators, the per-architecture latency and energy vectors are compared between every
pair of accelerators with Spearman's rho and Kendall's tau (``scipy.stats``), within one dataflow family and
across families, plus the overlap of their top-k (fastest / least-energy) architectures.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.stats

__all__ = ["rank_correlation", "sample_accelerators"]


def sample_accelerators(groups: np.ndarray, per_group: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of up to ``per_group`` random members of each group (e.g. perf points per dataflow)."""
    rng = np.random.default_rng(seed)
    groups = np.asarray(groups)
    out = [rng.choice(np.flatnonzero(groups == g), min(per_group, int(np.sum(groups == g))), replace=False)
           for g in np.unique(groups)]
    return np.sort(np.concatenate(out))


def _stats(mat: np.ndarray, same: np.ndarray) -> dict:
    iu = np.triu_indices(mat.shape[0], 1)
    v, s = mat[iu], same[iu]
    f = lambda x: {"min": float(np.min(x)), "median": float(np.median(x)), "max": float(np.max(x)),
                   "pairs": int(x.size)} if x.size else None
    return {"all": f(v), "within": f(v[s]), "across": f(v[~s])}


def _topk_overlap(x: np.ndarray, k: int) -> np.ndarray:
    """``[A, A]`` fraction of shared architectures among each pair's ``k`` smallest values (ties by index)."""
    top = np.argsort(x, axis=0, kind="stable")[:k]                      # [k, A]
    member = np.zeros((x.shape[0], x.shape[1]), bool)
    member[top, np.arange(x.shape[1])[None, :]] = True
    m = member.astype(np.float64)
    return (m.T @ m) / k


def rank_correlation(latency: np.ndarray, energy: np.ndarray, groups, *, kendall: bool = True,
                     top_k: tuple = (10, 100)) -> dict:
    """Spearman / Kendall / top-k overlap statistics between accelerators.

    Args:
      latency, energy: float64 ``[n_arch, A]`` per-architecture metrics on ``A`` accelerators (NaN: rejected;
        accelerators rejecting any architecture are left out and listed).
      groups: ``[A]`` dataflow family of each accelerator ('within' = same family).
      kendall: also compute Kendall's tau for every pair (O(A^2 n log n)).

    Returns:
      ``{'accelerators': kept columns, 'dropped': columns left out, 'spearman_latency' / 'spearman_energy' /
      'kendall_*' / 'top{k}_overlap_*': {'all' | 'within' | 'across': {'min', 'median', 'max', 'pairs'}},
      'matrices': {name: [A', A'] array}}``.
    """
    latency, energy = np.asarray(latency, np.float64), np.asarray(energy, np.float64)
    groups = np.asarray(groups)
    keep = ~(np.isnan(latency).any(axis=0) | np.isnan(energy).any(axis=0))
    if keep.sum() < 2:
        raise ValueError(f"rank correlation needs >= 2 accelerators accepting every architecture, got {keep.sum()}.")
    lat, en, g = latency[:, keep], energy[:, keep], groups[keep]
    same = g[:, None] == g[None, :]
    out = {"accelerators": np.flatnonzero(keep).tolist(), "dropped": np.flatnonzero(~keep).tolist(), "matrices": {}}
    for name, x in (("latency", lat), ("energy", en)):
        rho = np.atleast_2d(scipy.stats.spearmanr(x).statistic)
        out["matrices"][f"spearman_{name}"] = rho
        out[f"spearman_{name}"] = _stats(rho, same)
        if kendall:
            tau = np.eye(x.shape[1])
            for i, j in itertools.combinations(range(x.shape[1]), 2):
                tau[i, j] = tau[j, i] = scipy.stats.kendalltau(x[:, i], x[:, j]).statistic
            out["matrices"][f"kendall_{name}"] = tau
            out[f"kendall_{name}"] = _stats(tau, same)
        for k in top_k:
            if k < x.shape[0]:
                out[f"top{k}_overlap_{name}"] = _stats(_topk_overlap(x, k), same)
    return out
