"""Case 2's pruned label search (airchitect/_sram_search.py) against the plain tiered search and
the whole 11^3 SRAM grid run through the numpy USER-mode model.

The pruning rests on three facts about the model, each checked here by brute force over every
class of random samples whose buffers are not idle at the small sizes: (1) replacing an idle size
(``user_buffers_idle``) by another idle size keeps ``total_cycles``; (2) a read buffer's
``dram_*_stop`` depends on its own size only, and ``total_cycles >= max(stops) - 1``; (3) the
closed-form one-pass stop never exceeds the exact one.
"""

from __future__ import annotations

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.airchitect import sram_case
from codesign_jax.airchitect._sram_search import KB, distinct_classes, one_pass_stop
from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic import systolic_metrics, user_buffers_idle
from codesign_jax.workloads import Gemm

_SMALL = dict(max_dim=96, min_log2_array=2, max_log2_array=3, max_log2_bandwidth=2)


def _grid(x, i):
    """USER-mode metrics of sample i on every class [1331] (numpy reference loop)."""
    I, F, O = (v.reshape(-1) for v in np.meshgrid(KB, KB, KB, indexing="ij"))
    g = Gemm.create(x["M"][i], x["N"][i], x["K"][i])
    a = SystolicArray.create(x["rows"][i], x["cols"][i], x["dataflow"][i], I, F, O, "USER",
                             x["bandwidth"][i])
    return systolic_metrics(np, g, a), (I, F, O)


def _samples(n, seed):
    """Samples with at least one buffer not idle at 1 KB (where pruning has work to do)."""
    case = sram_case(**_SMALL, backend="numpy")
    x = case.sample(np.random.default_rng(seed), 40 * n)
    g = Gemm.create(x["M"], x["N"], x["K"])
    a = SystolicArray.create(x["rows"], x["cols"], x["dataflow"], 1, 1, 1, "USER", x["bandwidth"])
    busy = ~np.all(np.stack(list(user_buffers_idle(g, a).values())), axis=0)
    keep = np.flatnonzero(busy)[:n]
    assert len(keep) == n
    return {k: v[keep] for k, v in x.items()}


def test_idle_sizes_and_prefetch_bound_hold_on_the_whole_grid():
    x = _samples(4, seed=1)
    informative = []
    for i in range(4):
        m, (I, F, O) = _grid(x, i)
        cyc = m["total_cycles"]
        need, idle = distinct_classes({k: v[i:i + 1] for k, v in x.items()}, I, F, O)
        ix = lambda kb: np.log2(kb).round().astype(int)
        first = {op: np.argmax(v[0]) if v[0].any() else None for op, v in idle.items()}
        # (1) every class equals its representative (idle sizes -> the smallest idle size)
        rep = []
        for op, kb in (("ifmap", I), ("filter", F), ("ofmap", O)):
            s = ix(kb)
            rep.append(np.where(idle[op][0][s], first[op] if first[op] is not None else s, s))
        rep = rep[0] * 121 + rep[1] * 11 + rep[2]
        np.testing.assert_array_equal(cyc, cyc[rep])
        assert need[0].sum() < len(cyc)                  # something was collapsed
        np.testing.assert_array_equal(need[0], rep == np.arange(len(cyc)))
        # (2) stops depend on the operand's own size only; cycles >= max(stops) - 1
        for op, kb in (("ifmap", I), ("filter", F)):
            st = m[f"dram_{op}_stop"]
            for s in range(11):
                assert len(np.unique(st[ix(kb) == s])) == 1
        lb = np.maximum(m["dram_ifmap_stop"], m["dram_filter_stop"]) - 1
        assert np.all(cyc >= lb)
        informative.append(np.any(100 * lb > 105 * cyc[-1]))    # rules some class out
        # (3) the closed-form one-pass stop is a lower bound
        for op, kb, V in (("ifmap", I, x["M"][i] * x["K"][i]), ("filter", F, x["K"][i] * x["N"][i])):
            cf = one_pass_stop(kb, x["bandwidth"][i], V)
            assert np.all(cf <= m[f"dram_{op}_stop"])
            informative.append(np.any(cf > -1))
    assert np.sum(informative) >= 2


def test_pruned_search_equals_plain_tiered_search():
    x = _samples(4, seed=2)
    pruned = sram_case(**_SMALL, backend="numpy").label(x)
    plain = sram_case(**_SMALL, backend="numpy", prune=False).label(x)
    np.testing.assert_array_equal(pruned.label, plain.label)
    np.testing.assert_array_equal(pruned.optimal, plain.optimal)
    for k in ("ref_cycles", "opt_cycles"):
        np.testing.assert_array_equal(pruned.extra[k], plain.extra[k])
    assert pruned.extra["evaluated"].sum() < plain.extra["evaluated"].sum()


def test_all_idle_samples_need_no_stop_points():
    """1x1x1 GEMMs: every buffer idle at 1 KB, the label is the 3 KB class, one point each."""
    x = {k: np.ones(2, np.int64) for k in ("M", "N", "K", "dataflow", "bandwidth")}
    x.update(rows=np.full(2, 8), cols=np.full(2, 8), dataflow=np.array([0, 2]))
    lab = sram_case(**_SMALL, backend="numpy").label(x)
    np.testing.assert_array_equal(lab.label, [0, 0])
    np.testing.assert_array_equal(lab.extra["evaluated"], [2, 2])     # reference + class 0


def test_labels_in_blocks_equal_one_block():
    x = _samples(5, seed=4)
    one = sram_case(**_SMALL, backend="numpy").label(x)
    blocks = sram_case(**_SMALL, backend="numpy", block=2).label(x)
    np.testing.assert_array_equal(one.label, blocks.label)
    np.testing.assert_array_equal(one.optimal, blocks.optimal)
    for k in one.extra:
        np.testing.assert_array_equal(one.extra[k], blocks.extra[k])
    with pytest.raises(ValueError, match="block"):
        sram_case(block=0)
