"""AIRCHITECT labels against brute-force searches written independently of the package.

Case 1 and 3: pure-Python SCALE-Sim compute-cycle formula over every class, the documented tie
rules as explicit lexicographic keys. Case 2: the USER-mode model over the whole 11^3 SRAM grid
(numpy reference loop), then the smallest adequate total, ties by cycles, then index.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.airchitect import array_case, make_case, sched_case, sram_case
from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic import systolic_metrics
from codesign_jax.workloads import Gemm


def ref_cycles(M, N, K, R, C, df):
    """SCALE-Sim compute cycles: F * L - 1 with (Sr, Sc, T) = os (M,N,K), ws (K,N,M), is (K,M,N)."""
    Sr, Sc, T = [(M, N, K), (K, N, M), (K, M, N)][df]
    L = R + C + T - 2 + (0 if df == 0 else R)
    return -(-Sr // R) * -(-Sc // C) * L - 1


def test_case1_labels_equal_brute_force_and_tie_rule():
    case = array_case(max_dim=300, min_log2_budget=4, max_log2_budget=7, block=256)
    x = case.sample(np.random.default_rng(3), 600)
    lab = case.label(x)
    cls = case.classes
    ties = 0
    for i in range(len(x["M"])):
        m, n, k, b = (int(x[f][i]) for f in ("M", "N", "K", "budget"))
        keys = [(ref_cycles(m, n, k, int(cls["rows"][j]), int(cls["cols"][j]),
                            int(cls["dataflow"][j])), int(cls["pes"][j]), int(cls["rows"][j]),
                 int(cls["dataflow"][j]), j)
                for j in range(case.n_classes) if cls["pes"][j] <= b]
        best = min(keys)
        assert lab.label[i] == best[-1]
        assert lab.opt_cost[i] == best[0]
        opt = {key[-1] for key in keys if key[0] == best[0]}
        assert set(np.flatnonzero(lab.optimal[i])) == opt
        ties += len(opt) > 1
        assert np.allclose(np.exp(lab.log_cost[i, best[-1]]), best[0], rtol=1e-6)
    assert ties > 10   # the tie rule was exercised


def test_case1_class_order_is_pes_rows_dataflow():
    c = array_case().classes
    key = list(zip(c["pes"], c["rows"], c["dataflow"]))
    assert key == sorted(key) and len(key) == 315
    assert np.all(c["rows"] * c["cols"] == c["pes"]) and c["rows"].min() == c["cols"].min() == 2


def test_case3_labels_equal_brute_force():
    case = sched_case(max_dim=500, min_log2_array=2, max_log2_array=5, block=64)
    x = case.sample(np.random.default_rng(4), 150)
    lab = case.label(x)
    perms = list(itertools.permutations(range(4)))
    tied = 0
    for i in range(150):
        pair = [[min(ref_cycles(int(x["M"][i, g]), int(x["N"][i, g]), int(x["K"][i, g]),
                                int(x["rows"][i, a]), int(x["cols"][i, a]), d) for d in range(3))
                 for a in range(4)] for g in range(4)]
        keys = [(max(pair[p[a]][a] for a in range(4)), sum(pair[p[a]][a] for a in range(4)), j)
                for j, p in enumerate(perms)]
        best = min(keys)
        assert lab.label[i] == best[2] and lab.opt_cost[i] == best[0]
        tied += sum(k[0] == best[0] for k in keys) > 1 and \
            sum(k[:2] == best[:2] for k in keys) == 1
    assert tied > 5    # the busy-cycles tie break was exercised
    s = case.score(x, lab.label, lab)
    assert s["correct"].all() and np.all(s["ratio"] == 1.0)
    assert s["assignment"].shape == (150, 4) and set(np.unique(s["dataflow"])) <= {"os", "ws", "is"}


def _ref_user_cycles(x, i, kb):
    g = Gemm.create(x["M"][i], x["N"][i], x["K"][i])
    a = SystolicArray.create(x["rows"][i], x["cols"][i], x["dataflow"][i], kb[:, 0], kb[:, 1],
                             kb[:, 2], "USER", x["bandwidth"][i])
    return np.asarray(systolic_metrics(np, g, a)["total_cycles"])


def test_case2_tiered_search_equals_full_grid():
    case = sram_case(max_dim=48, min_log2_array=2, max_log2_array=3, max_log2_bandwidth=1,
                     round_size=64, backend="numpy")
    x = case.sample(np.random.default_rng(5), 6)
    lab = case.label(x)
    kb = np.stack([case.classes[k] for k in ("ifmap_sram_kb", "filter_sram_kb",
                                             "ofmap_sram_kb")], 1)
    total = kb.sum(1)
    sizes = set()
    for i in range(6):
        cyc = _ref_user_cycles(x, i, kb)
        ref = cyc[-1]                                   # class 1330: 1024 KB each
        ok = 100 * cyc <= 105 * ref
        best = min((total[j], cyc[j], j) for j in range(len(cyc)) if ok[j])
        assert lab.label[i] == best[2]
        assert set(np.flatnonzero(lab.optimal[i])) == {j for j in np.flatnonzero(ok)
                                                       if total[j] == best[0]}
        assert lab.extra["ref_cycles"][i] == ref
        sizes.add(best[0])
    assert len(sizes) > 1      # not every sample is the smallest design
    s = case.score(x, lab.label, lab)
    assert s["correct"].all() and np.all(s["ratio"] == 1.0)
    # the 3 KB design is below the optimum of every sample whose optimum is larger: inadequate
    big = lab.opt_cost > 3
    s2 = case.score(x, np.zeros(len(big), np.int64), lab)
    assert not s2["correct"][big].any() and np.all(s2["ratio"][big] < 1)
    assert s2["correct"][~big].all()


def test_make_case_round_trips_params_and_rejects_unknown():
    for c in (array_case(max_dim=100), sched_case(max_log2_array=5), sram_case(max_dim=64)):
        again = make_case(c.name, **c.params)
        assert again.params == c.params and again.n_classes == c.n_classes
    with pytest.raises(ValueError, match="case must be one of"):
        make_case("tpu")
    with pytest.raises(ValueError, match="backend"):
        sram_case(backend="gpu")


def test_sampling_is_deterministic_and_in_range():
    c = array_case(max_dim=10_000)
    a = c.sample(np.random.default_rng(0), 20000)
    b = c.sample(np.random.default_rng(0), 20000)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    for k in ("M", "N", "K"):
        assert a[k].min() == 1 and a[k].max() <= 10_000 and a[k].max() > 5000
        # log-uniform: about as many samples below 100 as above
        assert 0.4 < np.mean(a[k] < 100) < 0.6
    assert set(np.unique(a["budget"])) == {2 ** p for p in range(5, 16)}
