"""Case 2's predictor answer with exact checks (``sram_case(rerank=k)``'s ``select``) against a
brute-force pick from the whole 11^3 SRAM grid (numpy USER-mode model), one sample at a time."""

from __future__ import annotations

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.airchitect import sram_case
from codesign_jax.systolic import user_buffers_idle
from codesign_jax.hardware import SystolicArray
from codesign_jax.workloads import Gemm

from airchitect.test_sram_search import _SMALL, _grid, _samples


def _representative(x, i, I, F, O):
    """Each class with its idle sizes lowered to the operand's smallest idle size [1331]."""
    g = Gemm.create(x["M"][i], x["N"][i], x["K"][i])
    kb = 2 ** np.arange(11)
    a = SystolicArray.create(x["rows"][i], x["cols"][i], x["dataflow"][i], kb, kb, kb, "USER",
                             x["bandwidth"][i])
    idle = user_buffers_idle(g, a)
    idx = []
    for op, sizes in (("ifmap", I), ("filter", F), ("ofmap", O)):
        s = np.log2(sizes).round().astype(int)
        v = np.asarray(idle[op])
        idx.append(np.where(v[s], np.argmax(v), s))
    return (idx[0] * 11 + idx[1]) * 11 + idx[2]


def _brute_select(scores, cyc, ref, rep, total, k, waves):
    """The rule of sram_case's rerank, written out for one sample over its full cycle table."""
    order = np.argsort(-scores, kind="stable")[:4 * k * waves]
    cands = []
    for c in order:
        if rep[c] not in cands:
            cands.append(int(rep[c]))
    cands = cands[:k * waves]
    ok = lambda c: 100 * cyc[c] <= 105 * ref
    seen = []
    for w in range(waves):
        seen += cands[w * k:(w + 1) * k]
        if any(ok(c) for c in seen):
            break
    good = [c for c in seen if ok(c)]
    if good:
        return min(good, key=lambda c: (total[c], cyc[c], c))
    proxy = lambda c: min(1.0, 1.05 * ref / cyc[c]) / total[c]
    return min(seen, key=lambda c: (-proxy(c), c))


@pytest.mark.parametrize("k,waves", [(2, 3), (3, 1)])
def test_rerank_select_equals_brute_force_pick(k, waves):
    x = _samples(3, seed=5)
    case = sram_case(**_SMALL, backend="numpy", rerank=k, rerank_waves=waves)
    lab = case.label(x)
    rng = np.random.default_rng(k)
    scores = rng.normal(size=(3, 1331)).astype(np.float32)
    # sample 0: the label ranked third (found by any k >= 3 on the first wave, or on a later one)
    top = np.sort(scores[0])
    scores[0, lab.label[0]] = (top[-2] + top[-3]) / 2
    got, known = case.select(x, scores)
    # the cycles it hands to score are the exact cycles of its answers
    np.testing.assert_array_equal(known["cycles"], case.score(x, got)["cycles"])
    for i in range(3):
        m, (I, F, O) = _grid(x, i)
        total = I + F + O
        rep = _representative(x, i, I, F, O)
        want = _brute_select(scores[i], m["total_cycles"], m["total_cycles"][-1], rep, total,
                             k, waves)
        assert got[i] == want, (i, got[i], want)
    assert lab.optimal[0, got[0]]                 # the optimum was among the checked classes


def test_rerank_one_is_the_models_argmax_and_params_are_checked():
    assert sram_case(**_SMALL).select is None
    for bad in (dict(rerank=0), dict(rerank=1332), dict(rerank=2.5), dict(rerank_waves=0)):
        with pytest.raises(ValueError, match="rerank"):
            sram_case(**_SMALL, **bad)


def test_size_features_are_finite_and_flag_the_idle_sizes():
    case = sram_case()
    x = case.sample(np.random.default_rng(3), 64)
    for k, v in dict(M=1, N=1, K=1, rows=128, cols=8, dataflow=2, bandwidth=32).items():
        x[k] = np.r_[x[k], v]                            # a 1x1x1 GEMM: everything idle
    f = case.features(x)
    assert f.shape == (65, 234) and np.isfinite(f).all()
    kb = 2 ** np.arange(11)
    idle = user_buffers_idle(
        Gemm.create(x["M"][:, None], x["N"][:, None], x["K"][:, None]),
        SystolicArray.create(x["rows"][:, None], x["cols"][:, None], x["dataflow"][:, None],
                             kb, kb, kb, "USER", x["bandwidth"][:, None]))
    size = f[:, -105:]
    # columns: ifmap (stop, stop x passes, idle), filter (same), ofmap (idle, ...): 11 each
    np.testing.assert_array_equal(size[:, 22:33], idle["ifmap"])
    np.testing.assert_array_equal(size[:, 55:66], idle["filter"])
    np.testing.assert_array_equal(size[:, 66:77], idle["ofmap"])
    assert idle["ifmap"].any() and not idle["ifmap"].all()
    assert size[-1, 22:33].all() and size[-1, 66:77].all()
