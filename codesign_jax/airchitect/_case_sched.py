"""Case study 3: schedule 4 GEMMs onto 4 heterogeneous systolic arrays (one GEMM per array).

Inputs ``M, N, K`` ``[n, 4]`` (GEMM ``i`` is ``[M_i, K_i] @ [K_i, N_i]``, log-uniform in
``[1, max_dim]``) and ``rows, cols`` ``[n, 4]`` (array ``j`` is ``rows_j x cols_j``, powers of two
``2^lo .. 2^hi``). Classes: the 24 assignments, ``assignment[j]`` = the GEMM array ``j`` runs, in
``itertools.permutations(range(4))`` order. Each array runs its GEMM in its best dataflow (fewest
SCALE-Sim compute cycles, :func:`codesign_jax.systolic.compute_cycles`; ties os < ws < is); the
cost of an assignment is its makespan (the slowest array's cycles).

Tie rule: the smallest makespan, then the smallest total busy cycles (sum over arrays), then the
lowest assignment index.
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np

from codesign_jax.airchitect._case import (Case, Labels, log_buckets, log_uniform_int,
                                           positive_inputs)
from codesign_jax.hardware import DATAFLOWS
from codesign_jax.sweep import DesignGrid, DesignSpace, sweep
from codesign_jax.systolic import compute_cycles

__all__ = ["sched_case"]

_INPUTS = ("M", "N", "K", "rows", "cols")
_W = 4


def _pair_cycles(xp, M, N, K, rows, cols):
    """Best-dataflow compute cycles of GEMM i on array j, ``[..., 4, 4]`` (and the dataflow)."""
    cyc = [compute_cycles(xp, M[..., :, None], N[..., :, None], K[..., :, None],
                          rows[..., None, :], cols[..., None, :], d) for d in range(3)]
    cyc = xp.stack(cyc, axis=-1)
    return xp.min(cyc, axis=-1), xp.argmin(cyc, axis=-1)


def sched_case(max_dim: int = 10_000, min_log2_array: int = 2, max_log2_array: int = 8,
               n_buckets: int = 32, block: int = 65536) -> Case:
    """Case 3 (see module doc).

    Args:
      max_dim: GEMM dimensions are sampled in ``[1, max_dim]``.
      min_log2_array, max_log2_array: array rows and cols are ``2^lo .. 2^hi`` (each uniform).
      n_buckets: log-spaced buckets per GEMM dimension for the embedding baseline.
      block: workload sets per sweep call when labelling.
    """
    if not 0 <= min_log2_array <= max_log2_array:
        raise ValueError(f"need 0 <= min_log2_array <= max_log2_array, got "
                         f"{min_log2_array=}, {max_log2_array=}.")
    params = dict(max_dim=max_dim, min_log2_array=min_log2_array, max_log2_array=max_log2_array,
                  n_buckets=n_buckets, block=block)
    perms = np.asarray(list(itertools.permutations(range(_W))), np.int64)      # [24, 4]
    C = len(perms)
    n_sizes = max_log2_array - min_log2_array + 1
    perm_table = jnp.asarray(perms)

    def sample(rng: np.random.Generator, n: int) -> dict:
        dims = log_uniform_int(rng, max_dim, (3, n, _W))
        arr = 2 ** rng.integers(min_log2_array, max_log2_array + 1, (2, n, _W))
        return {"M": dims[0], "N": dims[1], "K": dims[2], "rows": arr[0].astype(np.int64),
                "cols": arr[1].astype(np.int64)}

    def check(inputs) -> dict:
        return positive_inputs(inputs, _INPUTS, width=_W)

    def features(x) -> np.ndarray:
        # per (GEMM i, array j) pair, pair index i * 4 + j: log M, N, K, rows, cols and
        # log ceil(dim / edge) for the 6 (dim, edge) combinations (the fold counts an array edge
        # gives a GEMM dimension; which ones a dataflow uses is left to the model)
        n = x["M"].shape[0]
        d = {k: x[k].astype(np.float64)[:, :, None] for k in ("M", "N", "K")}       # [n, 4, 1]
        e = {k: x[k].astype(np.float64)[:, None, :] for k in ("rows", "cols")}     # [n, 1, 4]
        f = [np.broadcast_to(np.log(v), (n, _W, _W)) for v in (*d.values(), *e.values())]
        f += [np.log(np.ceil(d[a] / e[b])) for a in ("M", "N", "K") for b in ("rows", "cols")]
        return np.stack(f, axis=-1).reshape(n, -1).astype(np.float32)

    def buckets(x) -> np.ndarray:
        b = [log_buckets(x[k], max_dim, n_buckets) for k in ("M", "N", "K")]
        b += [np.clip(np.round(np.log2(x[k])) - min_log2_array, 0, n_sizes - 1)
              for k in ("rows", "cols")]
        return np.concatenate(b, axis=1).astype(np.int32)

    def feasible(x) -> np.ndarray:
        return np.ones((x["M"].shape[0], C), bool)

    def cost_fn(w, d):
        # w leaves [S, 1, 4]; d["assign"] [c, 4]: array j runs GEMM assign[j]
        pair, _ = _pair_cycles(jnp, w["M"][:, 0], w["N"][:, 0], w["K"][:, 0], w["rows"][:, 0],
                               w["cols"][:, 0])                              # [S, 4, 4]
        per = pair[:, d["assign"], jnp.arange(_W)[None, :]]                  # [S, c, 4]
        return {"total_cycles": jnp.max(per, axis=-1), "busy": jnp.sum(per, axis=-1)}

    space = DesignSpace(grid=DesignGrid.create(assignment=np.arange(C)),
                        build=lambda v: {"assign": perm_table[v["assignment"]]})

    def label(x, progress: bool = False) -> Labels:
        parts = []
        n = x["M"].shape[0]
        for lo in range(0, n, block):
            w = {k: v[lo:lo + block] for k, v in x.items()}
            res = sweep(cost_fn, w, space, ("latency", "busy"), full=True,
                        full_max_bytes=2 * w["M"].shape[0] * C * 8 + 1, progress=progress)
            mk, busy = res.full[0], res.full[1]
            opt = res.best_value                      # the sweep's min makespan
            cand = mk == opt[:, None]
            # ties: fewest busy cycles, then the lowest index (argmin's first)
            lab = np.argmin(np.where(cand, busy, np.inf), axis=1)
            parts.append(Labels(label=lab.astype(np.int64), opt_cost=opt, optimal=cand,
                                feasible=np.ones_like(cand), log_cost=np.log(mk).astype(np.float32),
                                extra={"busy": busy[np.arange(len(lab)), lab]}))
        return Labels.concat(parts)

    def score(x, c, labels: Labels | None = None) -> dict:
        c = np.asarray(c, np.int64)
        pair, dflow = _pair_cycles(np, x["M"].astype(np.float64), x["N"].astype(np.float64),
                                   x["K"].astype(np.float64), x["rows"].astype(np.float64),
                                   x["cols"].astype(np.float64))
        assign = perms[c]                                                   # [n, 4]
        n = np.arange(len(c))[:, None]
        per = pair[n, assign, np.arange(_W)[None, :]]
        df = dflow[n, assign, np.arange(_W)[None, :]]
        mk = per.max(axis=1)
        out = {"assignment": assign, "dataflow": np.asarray(DATAFLOWS)[df], "cycles": mk,
               "array_cycles": per, "config": c}
        if labels is not None:
            out["correct"] = mk == labels.opt_cost
            out["ratio"] = labels.opt_cost / mk
        return out

    return Case(name="sched", params=params, input_names=_INPUTS, input_width=_W,
                classes={"assignment": perms}, sample=sample, check=check, features=features,
                buckets=buckets, bucket_sizes=(n_buckets,) * 12 + (n_sizes,) * 8,
                feasible=feasible, label=label, score=score,
                output_names=("assignment", "dataflow", "cycles", "array_cycles"))
