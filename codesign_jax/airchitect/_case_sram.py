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

The predictor's answer (``select``, when ``rerank > 1``): the model's ``rerank`` best-scoring
classes are checked exactly (see :func:`sram_case`), so an optimum among them is always found;
``rerank=1`` answers the best-scoring class alone. Features add closed-form USER-mode quantities
of every size (:func:`_size_features`) for the factor head (``_models.FactorHead``).

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
from codesign_jax.airchitect._sram_search import (one_pass_stop, pruned_search,
                                                  representative_classes)
from codesign_jax.systolic import compute_cycles, systolic_metrics, user_metrics_pool
from codesign_jax.systolic._model import operand_shapes
from codesign_jax.systolic._user import _buffer
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


def _size_features(x: dict) -> np.ndarray:
    """Closed-form USER-mode quantities of every SRAM size (no recurrence), float64 ``[n, 105]``:
    per read buffer and size the one-pass prefetch-chain stop relative to the no-stall cycles,
    once and times the passes over the operand, and whether it is idle; per OFMAP size whether it
    is idle, its drain half relative to the writes, and a drain's time against its fill time;
    and six per-sample rates."""
    f = lambda v: np.asarray(v, np.float64)
    M, N, K = f(x["M"]), f(x["N"]), f(x["K"])
    R, C, bw, df = f(x["rows"]), f(x["cols"]), f(x["bandwidth"]), np.asarray(x["dataflow"])
    Sr, Sc, T = operand_shapes(np, M, N, K, df)
    fr, fc = np.ceil(Sr / R), np.ceil(Sc / C)
    t0 = compute_cycles(np, M, N, K, R, C, df) + 1.0              # F * L demand lines
    n_of = np.where(df == 0, Sr * Sc, fr * T * Sc)                # OFMAP words written
    kb = _KB[None, :].astype(np.float64)
    out = []
    # passes over the operand (systolic_metrics DRAM reads: os/ws re-stream the ifmap once per
    # column fold; os re-reads each filter column block fr times, ws once, is once per fold)
    for V, passes in ((M * K, np.where(df == 2, 1.0, fc)),
                      (K * N, np.choose(df, [fr, np.ones_like(fr), fc]))):
        stop = np.maximum(one_pass_stop(kb, bw[:, None], V[:, None]), 0.0)
        out += [np.log1p(stop / t0[:, None]), np.log1p(stop * passes[:, None] / t0[:, None]),
                _buffer(np, kb, bw[:, None], V[:, None])["fits"].astype(np.float64)]
    words = np.floor(kb * 1024.0)
    D = words - np.ceil(words * 0.5)                               # write_buffer drain_buf_size
    out += [(D >= n_of[:, None]).astype(np.float64), np.log(D / n_of[:, None]),
            np.log(np.ceil(D / bw[:, None]) * n_of[:, None] / (D * t0[:, None]))]
    out.append(np.log(np.stack([n_of / (t0 * bw), M * K / (t0 * bw), K * N / (t0 * bw),
                                fr, fc, t0], axis=1)))
    return np.concatenate(out, axis=1)


def sram_case(max_dim: int = 512, min_log2_array: int = 3, max_log2_array: int = 7,
              max_log2_bandwidth: int = 5, slack_pct: int = 5, round_size: int = 128,
              n_buckets: int = 32, lanes: int = 1024, max_iter: int = 16,
              backend: str = "pool", prune: bool = True, rerank: int = 1,
              rerank_waves: int = 4, block: int = 50_000) -> Case:
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
      rerank, rerank_waves: the predictor's answer (``select``): 1 is the model's best-scoring
        class; k > 1 checks the model's best-scoring classes exactly, k per wave, in score order
        (each with its idle sizes lowered to the smallest idle one: same cycles, less SRAM),
        and answers the adequate one with the smallest total SRAM (label rule); a sample with
        no adequate class yet gets the next k, at most ``rerank_waves`` waves; with none at all,
        the checked class with the best ``min(1, 1.05 ref / cycles) / total KB`` (the score's
        ratio up to the unknown optimum). Costs one reference point plus k per wave per query.
      block: label at most this many samples at a time (the search keeps a few ``[n, 1331]``
        tables: 2e5 samples in one block peaked at 7.1 GiB resident); samples are independent,
        so blocks give the same labels.
    """
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be an int >= 1, got {block!r}.")
    if not isinstance(rerank, (int, np.integer)) or not 1 <= rerank <= 1331:
        raise ValueError(f"rerank must be an int in 1..1331, got {rerank!r}.")
    if not isinstance(rerank_waves, (int, np.integer)) or rerank_waves < 1:
        raise ValueError(f"rerank_waves must be an int >= 1, got {rerank_waves!r}.")
    if backend not in ("pool", "numpy"):
        raise ValueError(f"backend must be 'pool' or 'numpy', got {backend!r}.")
    params = dict(max_dim=max_dim, min_log2_array=min_log2_array, max_log2_array=max_log2_array,
                  max_log2_bandwidth=max_log2_bandwidth, slack_pct=slack_pct,
                  round_size=round_size, n_buckets=n_buckets, lanes=lanes, max_iter=max_iter,
                  backend=backend, prune=prune, rerank=int(rerank),
                  rerank_waves=int(rerank_waves), block=int(block))
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
        f.append(_size_features(x))
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
        if n > block:
            return Labels.concat([label({k: v[lo:lo + block] for k, v in x.items()}, progress)
                                  for lo in range(0, n, block)])
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

    def select(x, scores: np.ndarray) -> tuple[np.ndarray, dict]:
        # rerank (factory doc): candidates in score order, representatives, first occurrences
        n = len(scores)
        want = rerank * rerank_waves
        m = min(C, 4 * want)
        cand = representative_classes(x, np.argsort(-scores, axis=1, kind="stable")[:, :m],
                                      I, F, O)
        srt = np.argsort(cand, axis=1, kind="stable")
        cs = np.take_along_axis(cand, srt, axis=1)
        dup = np.zeros_like(cand, dtype=bool)
        np.put_along_axis(dup, srt, np.c_[np.zeros((n, 1), bool), cs[:, 1:] == cs[:, :-1]], axis=1)
        keep = np.argsort(np.where(dup, m + np.arange(m), np.arange(m)), axis=1, kind="stable")
        cand = np.take_along_axis(cand, keep[:, :want], axis=1)
        valid = ~np.take_along_axis(dup, keep[:, :want], axis=1)
        checked = []
        ref = None
        todo = np.arange(n)
        for w in range(rerank_waves):
            sl = slice(w * rerank, (w + 1) * rerank)
            r_, c_ = np.nonzero(valid[todo, sl])
            rows, cls = todo[r_], cand[todo, sl][r_, c_]
            pts = {k: v[rows] for k, v in x.items()}
            if ref is None:              # the 1024 KB reference rides with the first wave
                pts = {k: np.concatenate([x[k], v]) for k, v in pts.items()}
                kb = lambda a: np.concatenate([np.full(n, 1024), a[cls]])
                cyc = _user_cycles(pts, kb(I), kb(F), kb(O), backend, lanes, max_iter)
                ref, cyc = cyc[:n], cyc[n:]
            else:
                cyc = _user_cycles(pts, I[cls], F[cls], O[cls], backend, lanes, max_iter)
            ok = 100.0 * cyc <= (100.0 + slack_pct) * ref[rows]
            checked.append((rows, cls, cyc, ok))
            todo = np.setdiff1d(todo, rows[ok])
            if len(todo) == 0:
                break
        rows, cls, cyc, ok = (np.concatenate(a) for a in zip(*checked))
        out = np.full(n, -1, np.int64)

        def first_of_each(o):            # the first point of each sample in the order o
            o = o[np.r_[True, rows[o][1:] != rows[o][:-1]]] if len(o) else o
            out[rows[o]] = cls[o]

        # adequate: the smallest total, then fewer cycles, then the lower class (label rule)
        o = np.lexsort((cls, cyc, total[cls], rows))
        first_of_each(o[ok[o]])
        # none adequate: the best min(1, 1.05 ref / cycles) / total KB (score's ratio up to opt)
        proxy = np.minimum(1.0, (100.0 + slack_pct) * ref[rows] / (100.0 * cyc)) / total[cls]
        o = np.lexsort((cls, -proxy, rows))
        first_of_each(o[out[rows[o]] < 0])
        # the exact cycles of each answer (checked above): score need not run them again
        hit = np.flatnonzero(cls == out[rows])
        known = np.full(n, np.nan)
        known[rows[hit]] = cyc[hit]
        return out, {"cycles": known}

    def score(x, c, labels: Labels | None = None, known: dict | None = None) -> dict:
        c = np.asarray(c, np.int64)
        if known is not None:           # select's exact cycles of these classes
            cyc = np.asarray(known["cycles"], np.float64)
        else:
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
                output_names=("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "cycles"),
                select=select if rerank > 1 else None)
