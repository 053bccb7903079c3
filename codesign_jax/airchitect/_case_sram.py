"""Case study 2: SRAM buffer sizing under SCALE-Sim's USER bandwidth mode.

Inputs: a GEMM ``M, N, K`` (log-uniform in ``[1, max_dim]``), the array ``rows, cols`` (powers of
two), its ``dataflow`` (0/1/2 or 'os'/'ws'/'is') and the DRAM ``bandwidth`` (words/cycle; SCALE-Sim's
``Bandwidth`` and both SRAM bank bandwidths). Classes: ifmap / filter / ofmap SRAM each in
``{1, 2, 4, ..., 1024}`` KB (1331 classes, ifmap slowest). Cost: the total cycles with stalls
(``systolic_metrics`` in USER mode, the exact read/write-buffer recurrence); a design is *adequate*
when ``100 * cycles <= 105 * ref`` (within 5% of the cycles with three 1024 KB buffers, integer
exact). The label is the adequate design with the smallest total SRAM; ties go to fewer cycles,
then the lowest class index.

Labelling (``prune=True``, the default) is the exact pruned search of ``_sram_search``: classes
that an idle buffer or the prefetch-chain lower bound rules out are never run, and the remaining
candidates are visited in increasing total SRAM, whole tiers at a time, until a sample's first
adequate tier; ``prune=False`` is the plain tiered search (classes in increasing total SRAM, a
round of whole tiers at a time, rounds of 1, 2, 4, ... classes, each sample stops at its first
round that holds an adequate design). Both give identical labels and tie sets (tested), through
:func:`codesign_jax.systolic.user_metrics_pool`. Classes above a sample's optimum tier are never
evaluated, so there is no full cost table (``Labels.log_cost`` is None); ``Labels.extra``
``'evaluated'`` counts the USER-mode points each sample cost.

Scoring a predicted design (performance ratio in (0, 1], 1 exactly when correct):
``min(1, opt_kb / kb) * min(1, 1.05 * ref / cycles)``: the SRAM it wastes times the slowdown past
the 5% limit (a design below the optimum's total is never adequate).
"""

from __future__ import annotations

import numpy as np

from codesign_jax.airchitect._case import (Case, Labels, log_buckets, log_uniform_int,
                                           positive_inputs, pow2_features)
from codesign_jax.hardware import DATAFLOWS, SystolicArray, dataflow_code
from codesign_jax.airchitect._sram_search import KB as _KB
from codesign_jax.airchitect._sram_search import pruned_search
from codesign_jax.systolic import systolic_metrics, user_metrics_pool
from codesign_jax.workloads import Gemm

__all__ = ["sram_case"]

_INPUTS = ("M", "N", "K", "rows", "cols", "dataflow", "bandwidth")


_FIELDS = ("total_cycles", "dram_ifmap_stop", "dram_filter_stop")


def _user_run(x: dict, ifm, fil, ofm, backend: str, lanes: int, max_iter: int,
              progress: bool = False) -> dict:
    """USER-mode ``_FIELDS`` of samples ``x`` (flat, repeated per point) on SRAM sizes (KB):
    through the lane pool (jitted), or ``systolic_metrics(numpy, ...)`` (the reference loop)."""
    g = Gemm.create(x["M"], x["N"], x["K"])
    a = SystolicArray.create(x["rows"], x["cols"], x["dataflow"], ifm, fil, ofm, "USER",
                             x["bandwidth"])
    if backend == "numpy":
        m = systolic_metrics(np, g, a)
        return {k: np.asarray(m[k], np.float64) for k in _FIELDS}
    return user_metrics_pool(g, a, fields=_FIELDS, lanes=lanes, max_iter=max_iter,
                             progress=progress)


def _user_cycles(x: dict, ifm, fil, ofm, backend: str, lanes: int, max_iter: int,
                 progress: bool = False) -> np.ndarray:
    """USER-mode total cycles (see :func:`_user_run`)."""
    return _user_run(x, ifm, fil, ofm, backend, lanes, max_iter, progress)["total_cycles"]


def sram_case(max_dim: int = 512, min_log2_array: int = 3, max_log2_array: int = 7,
              max_log2_bandwidth: int = 5, slack_pct: int = 5, round_size: int = 128,
              n_buckets: int = 32, lanes: int = 1024, max_iter: int = 16,
              backend: str = "pool", prune: bool = True) -> Case:
    """Case 2 (see module doc).

    Args:
      max_dim: M, N, K in ``[1, max_dim]``.
      min_log2_array, max_log2_array: rows and cols are ``2^lo .. 2^hi``.
      max_log2_bandwidth: bandwidth ``2^0 .. 2^b`` words/cycle.
      slack_pct: adequate = within this many percent of the 1024 KB reference cycles.
      round_size: the largest search round (rounds are whole tiers of equal total SRAM, at least
        1, 2, 4, ... up to this many classes).
      n_buckets: log-spaced buckets per GEMM dimension (embedding baseline).
      lanes, max_iter: :func:`~codesign_jax.systolic.user_metrics_pool` settings.
      backend: ``'pool'`` (jitted lane pool) or ``'numpy'`` (the numpy reference loop: no
        compilation, for tiny sets and tests); both give identical integers.
      prune: skip the classes that cannot be the label because a class with a smaller total
        has the same cycles (idle buffers, module doc); False runs every class of each round
        (the plain tiered search: the same labels, for tests and the speed comparison).
    """
    if backend not in ("pool", "numpy"):
        raise ValueError(f"backend must be 'pool' or 'numpy', got {backend!r}.")
    params = dict(max_dim=max_dim, min_log2_array=min_log2_array, max_log2_array=max_log2_array,
                  max_log2_bandwidth=max_log2_bandwidth, slack_pct=slack_pct,
                  round_size=round_size, n_buckets=n_buckets, lanes=lanes, max_iter=max_iter,
                  backend=backend, prune=prune)
    I, F, O = (v.reshape(-1) for v in np.meshgrid(_KB, _KB, _KB, indexing="ij"))
    total = I + F + O
    C = len(total)
    order = np.lexsort((np.arange(C), total))                  # by total KB, then index
    rounds, lo, size = [], 0, 1
    while lo < C:       # whole tiers; sizes 1, 2, 4, ... round_size (most optima are small)
        hi = min(lo + size, C)
        while hi < C and total[order[hi]] == total[order[hi - 1]]:
            hi += 1
        rounds.append(order[lo:hi])
        lo, size = hi, min(2 * size, round_size)
    n_arr = max_log2_array - min_log2_array + 1
    ceil_pows = range(min_log2_array, max_log2_array + 1)
    soft_pows = range(0, max_log2_array + 2)
    size_pows = range(9, 21)                                   # 512 words .. 1M words

    def sample(rng: np.random.Generator, n: int) -> dict:
        dims = log_uniform_int(rng, max_dim, (3, n))
        arr = 2 ** rng.integers(min_log2_array, max_log2_array + 1, (2, n))
        return {"M": dims[0], "N": dims[1], "K": dims[2], "rows": arr[0].astype(np.int64),
                "cols": arr[1].astype(np.int64), "dataflow": rng.integers(0, 3, n),
                "bandwidth": (2 ** rng.integers(0, max_log2_bandwidth + 1, n)).astype(np.int64)}

    def check(inputs) -> dict:
        inputs = dict(inputs)
        if "dataflow" in inputs:
            inputs["dataflow"] = dataflow_code(inputs["dataflow"]) + 1   # codes >= 1 to validate
        x = positive_inputs(inputs, _INPUTS)
        x["dataflow"] = x["dataflow"] - 1
        return x

    def features(x) -> np.ndarray:
        f = [pow2_features(x[k], ceil_pows, soft_pows) for k in ("M", "N", "K")]
        f += [pow2_features(x[a] * x[b], size_pows, size_pows)
              for a, b in (("M", "K"), ("K", "N"), ("M", "N"))]       # operand words
        df = x["dataflow"]
        Sr = np.where(df == 0, x["M"], x["K"])
        Sc = np.where(df == 2, x["M"], x["N"])
        T = np.choose(df, [x["K"], x["M"], x["N"]])
        f.append(np.log(np.stack([np.ceil(Sr / x["rows"]), np.ceil(Sc / x["cols"]), T], 1)))
        f.append(np.log2(np.stack([x["rows"], x["cols"], x["bandwidth"]], 1)))
        f.append(np.eye(3)[df])
        return np.concatenate(f, axis=1).astype(np.float32)

    def buckets(x) -> np.ndarray:
        b = [log_buckets(x[k], max_dim, n_buckets) for k in ("M", "N", "K")]
        b += [np.clip(np.round(np.log2(x[k])) - min_log2_array, 0, n_arr - 1)
              for k in ("rows", "cols")]
        b += [x["dataflow"], np.clip(np.round(np.log2(x["bandwidth"])), 0, max_log2_bandwidth)]
        return np.stack(b, axis=1).astype(np.int32)

    def feasible(x) -> np.ndarray:
        return np.ones((len(x["M"]), C), bool)

    def label(x, progress: bool = False) -> Labels:
        n = len(x["M"])
        run = lambda xr, i, f, o: _user_run(xr, i, f, o, backend, lanes, max_iter, progress)
        if prune:
            r = pruned_search(x, I, F, O, slack_pct, run)
            lab = r["label"]
            return Labels(label=lab, opt_cost=total[lab].astype(np.float64),
                          optimal=r["optimal"], feasible=feasible(x), log_cost=None,
                          extra={k: r[k] for k in ("ref_cycles", "opt_cycles", "evaluated")})
        ref = run(x, 1024, 1024, 1024)["total_cycles"]
        optimal = np.zeros((n, C), bool)
        lab = np.full(n, -1, np.int64)
        opt_cyc = np.full(n, np.nan)
        todo = np.arange(n)
        evaluated = np.ones(n)                                 # points run per sample
        for cls in rounds:
            if len(todo) == 0:
                break
            rep = {k: np.repeat(v[todo], len(cls)) for k, v in x.items()}
            tile = lambda t: np.tile(t[cls], len(todo))
            cyc = run(rep, tile(I), tile(F), tile(O))["total_cycles"].reshape(len(todo), len(cls))
            evaluated[todo] += len(cls)
            ok = 100.0 * cyc <= (100.0 + slack_pct) * ref[todo, None]
            kb = np.where(ok, total[cls][None, :], np.inf)
            best = kb.min(axis=1)
            hit = np.isfinite(best)
            tie = ok & (kb == best[:, None])
            # ties: fewer cycles, then the lower class index
            key = np.where(tie, cyc * (C + 1) + cls[None, :], np.inf)
            j = np.argmin(key, axis=1)
            rows = todo[hit]
            lab[rows] = cls[j[hit]]
            opt_cyc[rows] = cyc[hit, j[hit]]
            optimal[rows[:, None], cls[None, :]] = tie[hit]
            todo = todo[~hit]
        return Labels(label=lab, opt_cost=total[lab].astype(np.float64), optimal=optimal,
                      feasible=feasible(x), log_cost=None,
                      extra={"ref_cycles": ref, "opt_cycles": opt_cyc,
                             "evaluated": evaluated})

    def score(x, c, labels: Labels | None = None) -> dict:
        c = np.asarray(c, np.int64)
        cyc = _user_cycles(x, I[c], F[c], O[c], backend, lanes, max_iter)
        out = {"ifmap_sram_kb": I[c], "filter_sram_kb": F[c], "ofmap_sram_kb": O[c],
               "cycles": cyc, "config": c}
        if labels is not None:
            ref = labels.extra["ref_cycles"]
            kb = total[c].astype(np.float64)
            ok = 100.0 * cyc <= (100.0 + slack_pct) * ref
            out["correct"] = ok & (kb == labels.opt_cost)
            out["ratio"] = (np.minimum(1.0, labels.opt_cost / kb)
                            * np.minimum(1.0, (100.0 + slack_pct) * ref / (100.0 * cyc)))
        return out

    return Case(name="sram", params=params, input_names=_INPUTS, input_width=1,
                classes={"ifmap_sram_kb": I, "filter_sram_kb": F, "ofmap_sram_kb": O},
                sample=sample, check=check, features=features, buckets=buckets,
                bucket_sizes=(n_buckets,) * 3 + (n_arr, n_arr, 3, max_log2_bandwidth + 1),
                feasible=feasible, label=label, score=score,
                output_names=("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "cycles"))
