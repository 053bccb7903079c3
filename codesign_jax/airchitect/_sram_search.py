"""Case 2's label search with exact pruning: the same labels as the plain tiered search, from a
few USER-mode points per sample instead of ~110.

Two facts about the USER-mode model (``systolic/_user.py``, ``_user_scan.py``) make most classes
unnecessary:

* **Idle buffers** (:func:`~codesign_jax.systolic.user_buffers_idle`): a read buffer whose active
  window covers the whole operand (``read_buffer.prepare_hashed_buffer``) starts the recurrence
  ``done`` and never prefetches; an OFMAP buffer whose drain half holds every write never drains
  or stalls before ``empty_all_buffers``. For such sizes the recurrence runs the same events, so
  the total cycles do not depend on which idle size it is. A class using an idle size other than
  the operand's smallest idle one has the cycles of the class with that smallest size, at a
  strictly smaller total SRAM: it is never the label nor tied with it (skipped).
* **Prefetch-chain bound**: an operand's window walk (its prefetch count ``k``) follows its own
  demand sequence only, not the other buffers or the stalls, and the array cannot pass the line
  that issued its last prefetch before that prefetch lands (``read_buffer.new_prefetch``:
  ``last_prefetch_cycle = -1 + k * (ceil(P/bw) + 1)``, USER ``dram_*_stop``); so for every class
  ``total_cycles >= max(dram_ifmap_stop, dram_filter_stop) - 1``, with each operand's stop taken
  from one run at that operand's size. A class whose bound already exceeds the 5% limit is not
  adequate (skipped).

The remaining *candidates* of each sample are searched in increasing total SRAM (then class
index), whole tiers of equal totals at a time, in waves of 2, 4, 8, ... candidates per unresolved
sample; a sample is resolved by the first wave holding an adequate candidate (every cheaper
candidate is inadequate, so the first adequate tier is the label's). All points of a wave go
through one :func:`~codesign_jax.systolic.user_metrics_pool` stream, so the pool stays full.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic import user_buffers_idle
from codesign_jax.systolic._user import _buffer
from codesign_jax.workloads import Gemm

__all__ = ["distinct_classes", "idle_sizes", "pruned_search", "representative_classes"]

KB = 2 ** np.arange(11)


def size_index(kb) -> np.ndarray:
    """Size index (0..10) of KB values (powers of two)."""
    return np.log2(kb).round().astype(np.int64)


def one_pass_stop(kb, bw, V) -> np.ndarray:
    """A lower bound on a read buffer's ``dram_*_stop`` (``-1 + k * per``, ``_user._buffer``):
    every set of the operand is demanded, and the window, starting at set 0 and moving ``Wp``
    sets forward per prefetch, first covers the last nonempty set ``floor((V-1)/eps)`` after
    ``ceil((x - Wa + 1) / Wp)`` prefetches (read_buffer.new_prefetch); 0 when it fits."""
    b = _buffer(np, np.asarray(kb, np.float64), np.asarray(bw, np.float64),
                np.asarray(V, np.float64))
    last = np.floor((np.asarray(V, np.float64) - 1.0) / b["eps"])
    k = np.where(b["fits"], 0.0, np.maximum(0.0, np.ceil((last - b["Wa"] + 1.0) / b["Wp"])))
    return -1.0 + k * b["per"]


def idle_sizes(x: dict) -> dict:
    """Where each operand's buffer is idle for samples ``x``: ``{op: bool [n, 11]}`` over
    :data:`KB` (``user_buffers_idle``)."""
    g = Gemm.create(x["M"][:, None], x["N"][:, None], x["K"][:, None])
    a = SystolicArray.create(x["rows"][:, None], x["cols"][:, None], x["dataflow"][:, None],
                             KB[None], KB[None], KB[None], "USER", x["bandwidth"][:, None])
    return {op: np.asarray(v) for op, v in user_buffers_idle(g, a).items()}


def _lowered(idle_op: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Size indices ``j [n, m]`` with each idle one replaced by the operand's smallest idle
    size (same cycles, less SRAM: module doc)."""
    first = np.argmax(idle_op, axis=1)[:, None]               # smallest idle size (if any)
    return np.where(np.take_along_axis(idle_op, j, axis=1), first, j)


def representative_classes(x: dict, cls: np.ndarray, I, F, O) -> np.ndarray:
    """Classes ``cls [n, m]`` with every idle size lowered to the operand's smallest idle size:
    the class with the same total cycles and the least SRAM."""
    idle = idle_sizes(x)
    i, f, o = (_lowered(idle[op], size_index(sz[cls]))
               for op, sz in (("ifmap", I), ("filter", F), ("ofmap", O)))
    return (i * len(KB) + f) * len(KB) + o


def distinct_classes(x: dict, I, F, O) -> tuple[np.ndarray, dict]:
    """bool ``[n, C]``: classes whose three SRAM sizes are each either not idle for the sample or
    the operand's smallest idle size (module doc); and the idle masks ``{op: bool [n, 11]}``."""
    idle = idle_sizes(x)
    j = np.broadcast_to(np.arange(len(KB)), (len(x["M"]), len(KB)))
    keep = {op: _lowered(v, j) == j for op, v in idle.items()}
    need = (keep["ifmap"][:, size_index(I)] & keep["filter"][:, size_index(F)]
            & keep["ofmap"][:, size_index(O)])
    return need, idle


def pruned_search(x: dict, I, F, O, slack_pct: int, run: Callable, *, first_wave: int = 2,
                  max_wave: int = 256) -> dict:
    """Labels of case 2 (module doc) for samples ``x``.

    Args:
      x: inputs ``{name: int64 [n]}``; I, F, O: ``[C]`` SRAM KB of each class.
      run: ``run(x_rep, ifm_kb, fil_kb, ofm_kb) -> {'total_cycles', 'dram_ifmap_stop',
        'dram_filter_stop': float64 [p]}`` exact USER-mode fields of ``p`` points.
      first_wave, max_wave: candidates per unresolved sample in the first / largest wave.

    Returns:
      dict of ``label`` int64 ``[n]``, ``optimal`` bool ``[n, C]`` (the label's tie set),
      ``ref_cycles``, ``opt_cycles``, ``evaluated`` (points run per sample, float64 ``[n]``).
    """
    n, C = len(x["M"]), len(I)
    total = I + F + O
    need, idle = distinct_classes(x, I, F, O)
    first_idle = {op: np.where(v.any(1), KB[np.argmax(v, axis=1)], 1024) for op, v in idle.items()}
    # each read buffer's last prefetch: a one-pass lower bound in closed form, and the exact one
    # from a run where the other buffers are at their smallest idle sizes (cheap points), wherever
    # the closed form does not already rule that size out
    kb_all = np.full(n, 1024)
    ref = run(x, kb_all, kb_all, kb_all)["total_cycles"]      # the 1024 KB reference
    thr = (100.0 + slack_pct) * ref                           # adequate: 100 * cycles <= thr
    rows, kbs, stop, pts = [], [], {}, {}
    for j, (op, V) in enumerate((("ifmap", x["M"] * x["K"]), ("filter", x["K"] * x["N"]))):
        stop[op] = one_pass_stop(KB[None, :], x["bandwidth"][:, None], V[:, None])
        pts[op] = si, sz = np.nonzero(~idle[op] & (100.0 * (stop[op] - 1.0) <= thr[:, None]))
        k = np.stack([first_idle[o][si] for o in ("ifmap", "filter", "ofmap")], 1)
        k[:, j] = KB[sz]
        rows.append(si)
        kbs.append(k)
    rows, kbs = np.concatenate(rows), np.concatenate(kbs)
    r = run({k: v[rows] for k, v in x.items()}, kbs[:, 0], kbs[:, 1], kbs[:, 2]) if len(rows) \
        else {f"dram_{op}_stop": np.zeros(0) for op in ("ifmap", "filter")}
    off = 0
    for op in ("ifmap", "filter"):
        si, sz = pts[op]
        stop[op][si, sz] = r[f"dram_{op}_stop"][off:off + len(si)]
        off += len(si)
    lb = np.maximum(stop["ifmap"][:, size_index(I)], stop["filter"][:, size_index(F)]) - 1.0
    cand = need & (100.0 * lb <= thr[:, None])
    del lb
    # candidates in search order (total KB, then class index), flat and grouped by sample
    order = np.lexsort((np.arange(C), total))
    cr, cp = np.nonzero(cand[:, order])
    ccls = order[cp]
    ctot = total[ccls]
    start = np.searchsorted(cr, np.arange(n))
    cnt = np.bincount(cr, minlength=n)
    newtier = np.r_[True, (cr[1:] != cr[:-1]) | (ctot[1:] != ctot[:-1])]
    tier_start = np.flatnonzero(newtier)
    tier_end = np.r_[tier_start[1:], len(cr)][np.cumsum(newtier) - 1]   # per candidate
    evaluated = np.bincount(rows, minlength=n).astype(np.float64) + 1.0
    label = np.full(n, -1, np.int64)
    opt_cyc = np.full(n, np.nan)
    optimal = np.zeros((n, C), bool)
    cur = np.zeros(n, np.int64)
    todo = np.flatnonzero(cnt > 0)
    wave = first_wave
    while len(todo):
        lo = start[todo] + cur[todo]
        hi = tier_end[start[todo] + np.minimum(cur[todo] + wave, cnt[todo]) - 1]
        m = hi - lo
        if not (m > 0).all():  # the reference's idle representative is always a candidate
            raise RuntimeError("case 2 search ran out of candidates before an adequate one.")
        seg = np.repeat(np.arange(len(todo)), m)              # wave-local sample of each point
        pos = np.arange(m.sum()) - np.repeat(np.cumsum(m) - m, m) + np.repeat(lo, m)
        c = ccls[pos]
        cyc = run({k: v[cr[pos]] for k, v in x.items()}, I[c], F[c], O[c])["total_cycles"]
        evaluated[todo] += m
        ok = 100.0 * cyc <= thr[cr[pos]]
        kbv = np.where(ok, total[c], np.inf)
        first = np.cumsum(m) - m
        best = np.minimum.reduceat(kbv, first)
        hit = np.isfinite(best)
        tie = ok & (kbv == best[seg])
        # ties: fewer cycles, then the lower class index
        key = np.where(tie, cyc * (C + 1) + c, np.inf)
        win = np.lexsort((key, seg))[first]
        done = todo[hit]
        label[done] = c[win[hit]]
        opt_cyc[done] = cyc[win[hit]]
        t = tie & hit[seg]
        optimal[cr[pos[t]], c[t]] = True
        cur[todo] = hi - start[todo]
        todo = todo[~hit]
        wave = min(2 * wave, max_wave)
    return dict(label=label, optimal=optimal, ref_cycles=ref, opt_cycles=opt_cyc,
                evaluated=evaluated)
