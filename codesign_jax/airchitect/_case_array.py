"""Case study 1: systolic array shape + dataflow for one GEMM under a MAC budget.

Inputs ``M, N, K`` (GEMM ``[M, K] @ [K, N]``, integers log-uniform in ``[1, max_dim]``) and a MAC
budget ``B`` (training: ``2^5 .. 2^15``). Classes: ``rows = 2^a``, ``cols = 2^b`` (``a, b >= 1``,
``a + b <= max_log2_pes``) times dataflow os/ws/is; a class is feasible when ``rows * cols <= B``.
Cost: SCALE-Sim compute cycles (:func:`codesign_jax.systolic.compute_cycles`: folds x fold
latency - 1, no memory stalls).

Class ids are ordered by (PEs, rows, dataflow os < ws < is), and the label is the sweep's argmin
(ties to the lowest index): the fewest cycles, ties to fewer MACs, then fewer rows, then os, ws, is.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from codesign_jax.airchitect._case import (Case, Labels, log_buckets, log_uniform_int,
                                           positive_inputs, pow2_features)
from codesign_jax.hardware import DATAFLOWS
from codesign_jax.sweep import DesignGrid, DesignSpace, sweep
from codesign_jax.systolic import compute_cycles

__all__ = ["array_case"]

_INPUTS = ("M", "N", "K", "budget")


def _classes(max_log2: int) -> dict:
    key = sorted((a + b, a, d) for a in range(1, max_log2) for b in range(1, max_log2)
                 if a + b <= max_log2 for d in range(len(DATAFLOWS)))
    k = np.asarray(key, np.int64)
    return {"rows": 2 ** k[:, 1], "cols": 2 ** (k[:, 0] - k[:, 1]), "dataflow": k[:, 2],
            "pes": 2 ** k[:, 0]}


def array_case(max_dim: int = 10_000, min_log2_budget: int = 5, max_log2_budget: int = 15,
               n_buckets: int = 64, block: int = 65536) -> Case:
    """Case 1 (see module doc).

    Args:
      max_dim: M, N, K are sampled in ``[1, max_dim]``.
      min_log2_budget, max_log2_budget: budgets ``2^lo .. 2^hi`` (sampled uniformly); classes go
        up to ``2^hi`` PEs.
      n_buckets: log-spaced buckets per dimension for the embedding baseline.
      block: workloads per sweep call when labelling.
    """
    if not 2 <= min_log2_budget <= max_log2_budget:
        raise ValueError(f"need 2 <= min_log2_budget <= max_log2_budget, got "
                         f"{min_log2_budget=}, {max_log2_budget=}.")
    if max_dim < 1:
        raise ValueError(f"max_dim must be >= 1, got {max_dim}.")
    params = dict(max_dim=max_dim, min_log2_budget=min_log2_budget,
                  max_log2_budget=max_log2_budget, n_buckets=n_buckets, block=block)
    cls = _classes(max_log2_budget)
    C = len(cls["rows"])
    ceil_pows = range(1, max_log2_budget)          # every tile edge a class can have
    soft_pows = range(0, max_log2_budget + 1)
    table = {k: jnp.asarray(v) for k, v in cls.items()}

    def sample(rng: np.random.Generator, n: int) -> dict:
        dims = log_uniform_int(rng, max_dim, (3, n))
        b = 2 ** rng.integers(min_log2_budget, max_log2_budget + 1, n)
        return {"M": dims[0], "N": dims[1], "K": dims[2], "budget": b.astype(np.int64)}

    def check(inputs) -> dict:
        x = positive_inputs(inputs, _INPUTS)
        small = x["budget"] < cls["pes"].min()
        if np.any(small):
            raise ValueError(f"budget must be >= {cls['pes'].min()} MACs (the smallest design, "
                             f"2x2), got {x['budget'][small][0]}.")
        return x

    def features(x) -> np.ndarray:
        f = [pow2_features(x[k], ceil_pows, soft_pows) for k in ("M", "N", "K")]
        # only the largest feasible power of two matters (classes have 2^k PEs): floor(log2 B)
        f.append(np.floor(np.log2(np.minimum(x["budget"], 2 ** max_log2_budget)))[:, None])
        return np.concatenate(f, axis=1).astype(np.float32)

    def buckets(x) -> np.ndarray:
        b = [log_buckets(x[k], max_dim, n_buckets) for k in ("M", "N", "K")]
        lb = np.floor(np.log2(x["budget"])).astype(np.int64)
        b.append(np.clip(lb - min_log2_budget, 0, max_log2_budget - min_log2_budget))
        return np.stack(b, axis=1).astype(np.int32)

    def feasible(x) -> np.ndarray:
        return cls["pes"][None, :] <= x["budget"][:, None]

    def cost_fn(w, d):
        # SCALE-Sim compute cycles (systolic_compute_*: F * L - 1); infeasible = over budget
        cyc = compute_cycles(jnp, w["M"], w["N"], w["K"], d["rows"], d["cols"], d["dataflow"])
        return {"total_cycles": jnp.where(d["pes"] <= w["budget"], cyc, jnp.inf),
                "raw_cycles": cyc}

    space = DesignSpace(grid=DesignGrid.create(config=np.arange(C)),
                        build=lambda v: {k: t[v["config"]] for k, t in table.items()})

    def label(x, progress: bool = False) -> Labels:
        parts = []
        n = len(x["M"])
        for lo in range(0, n, block):
            w = {k: v[lo:lo + block] for k, v in x.items()}
            res = sweep(cost_fn, w, space, ("latency", "raw_cycles"), full=True,
                        full_max_bytes=2 * len(w["M"]) * C * 8 + 1, progress=progress)
            cyc, raw = res.full[0], res.full[1]
            opt = res.best_value
            parts.append(Labels(label=res.best_index.astype(np.int64), opt_cost=opt,
                                optimal=cyc == opt[:, None], feasible=np.isfinite(cyc),
                                log_cost=np.log(raw).astype(np.float32)))
        return Labels.concat(parts)

    def score(x, c, labels: Labels | None = None) -> dict:
        c = np.asarray(c, np.int64)
        rows, cols, df = cls["rows"][c], cls["cols"][c], cls["dataflow"][c]
        cyc = compute_cycles(np, x["M"], x["N"], x["K"], rows, cols, df)
        out = {"rows": rows, "cols": cols, "dataflow": np.asarray(DATAFLOWS)[df], "cycles": cyc,
               "config": c}
        if labels is not None:
            out["correct"] = cyc == labels.opt_cost
            out["ratio"] = labels.opt_cost / cyc
        return out

    return Case(name="array", params=params, input_names=_INPUTS, input_width=1,
                classes={k: v for k, v in cls.items()}, sample=sample, check=check,
                features=features, buckets=buckets,
                bucket_sizes=(n_buckets,) * 3 + (max_log2_budget - min_log2_budget + 1,),
                feasible=feasible, label=label, score=score,
                output_names=("rows", "cols", "dataflow", "cycles"))
