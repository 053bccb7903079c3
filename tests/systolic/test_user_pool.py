"""The resumable USER-mode recurrence and the lane pool (``user_metrics_pool``) against real
SCALE-Sim 3.0.0 USER-mode runs (tests/data/scalesim_user_extra.csv) and the uninterrupted model.

Resuming is checked on the numpy backend (no compilation): the loop stopped every ``k`` rounds,
restarted lanes mixed with resumed ones, until no lane is active. The pool itself (jitted, one
dataflow, tiny lanes so every point is resumed and lanes are refilled) is one compilation.
"""

from __future__ import annotations

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic import systolic_metrics, user_metrics_pool
from codesign_jax.workloads import Gemm
from scalesim_ref import batch, load_rows, ref

FIELDS = ("total_cycles", "stall_cycles", "dram_ifmap_reads", "dram_filter_reads",
          "dram_ofmap_writes")


def _user_rows(dataflow=None, every=5):
    rows = [r for r in load_rows("scalesim_user_extra.csv")
            if r["bw_mode"] == "USER" and r["input_type"] == "gemm"
            and (dataflow is None or r["dataflow"] == dataflow)]
    return rows[::every]


@pytest.mark.parametrize("max_iter", [1, 3])
def test_resumed_numpy_loop_equals_scalesim(max_iter):
    rows = _user_rows("ws", every=2)[:40]
    assert len(rows) == 40
    g, a = batch(rows)
    a = a.replace(dataflow=np.int64(1), bw_mode=np.int64(1))    # one static USER dataflow
    full = systolic_metrics(np, g, a, broadcast=False)
    out = systolic_metrics(np, g, a, broadcast=False, user_max_iter=max_iter)
    rounds = 1
    fresh = np.zeros(len(rows), bool)
    while out["user_active"].any():
        out = systolic_metrics(np, g, a, broadcast=False, user_max_iter=max_iter,
                               user_resume=(out["user_state"], fresh))
        rounds += 1
    assert rounds > 3                       # the loop really was stopped and resumed
    for k in FIELDS:
        np.testing.assert_array_equal(np.broadcast_to(out[k], (len(rows),)),
                                      np.broadcast_to(full[k], (len(rows),)), err_msg=k)
    np.testing.assert_array_equal(np.broadcast_to(out["total_cycles"], (len(rows),)),
                                  ref(rows, "total_cycles"))


def test_fresh_lanes_restart_next_to_resumed_ones():
    """Lanes swapped to other points mid-run (``fresh``) give those points' own results."""
    rows = _user_rows("ws", every=1)[:24]
    assert len(rows) == 24
    ws = lambda a: a.replace(dataflow=np.int64(1), bw_mode=np.int64(1))
    g1, a1 = batch(rows[:12])
    st = systolic_metrics(np, g1, ws(a1), broadcast=False, user_max_iter=2)
    swap = np.arange(12) % 2 == 0            # even lanes now hold the second half's points
    gm, am = batch([rows[12 + i] if swap[i] else rows[i] for i in range(12)])
    am = ws(am)
    out = systolic_metrics(np, gm, am, broadcast=False, user_max_iter=10 ** 6,
                           user_resume=(st["user_state"], swap))
    assert not out["user_active"].any()
    want = np.where(swap, ref(rows[12:], "total_cycles"), ref(rows[:12], "total_cycles"))
    np.testing.assert_array_equal(np.broadcast_to(out["total_cycles"], (12,)), want)


def test_max_iter_needs_static_user_mode():
    g = Gemm.create(8, 8, 8)
    a = SystolicArray.create(4, 4, "os", 1, 1, 1, np.array(["USER", "CALC"]), 4)
    with pytest.raises(ValueError, match="static bw_mode"):
        systolic_metrics(np, g, a, user_max_iter=2)


@pytest.mark.slow   # one USER-mode compilation: 38 s here at load ~9 on 2 cores
def test_pool_equals_scalesim_on_user_rows():
    """Every point resumed (max_iter 2) and lanes refilled (8 lanes, more points): the pool's
    fields equal real SCALE-Sim's and the numpy model's."""
    rows = _user_rows("os", every=2)[:40]
    assert len(rows) == 40
    g, a = batch(rows)
    out = user_metrics_pool(g, a, fields=FIELDS, lanes=8, max_iter=2)
    np.testing.assert_array_equal(out["total_cycles"], ref(rows, "total_cycles"))
    np.testing.assert_array_equal(out["stall_cycles"], ref(rows, "stall_cycles"))
    a_np = a.replace(bw_mode=np.int64(1), dataflow=np.int64(0))
    full = systolic_metrics(np, g, a_np)
    for k in FIELDS:
        np.testing.assert_array_equal(out[k], full[k], err_msg=k)
    with pytest.raises(ValueError, match="lanes"):
        user_metrics_pool(g, a, lanes=0)


@pytest.mark.slow   # two compilations (128 and 16 lanes): ~30 s here at load ~5
def test_pool_shrinks_its_tail_and_stays_exact():
    """The pool's tail on 8x fewer lanes (states moved between pools) gives the numpy model's
    numbers on points whose round counts differ widely (small SRAMs, large operands)."""
    rng = np.random.default_rng(3)
    n = 300
    M, N, K = (rng.integers(1, 120, n) for _ in range(3))
    kb = 2 ** rng.integers(0, 4, (3, n))
    g = Gemm.create(M, N, K)
    a = SystolicArray.create(8, 4, "ws", kb[0], kb[1], kb[2], "USER", rng.choice([1, 4], n))
    want = systolic_metrics(np, g, a)
    got = user_metrics_pool(g, a, fields=FIELDS, lanes=128, max_iter=4, min_lanes=16)
    for k in FIELDS:
        np.testing.assert_array_equal(got[k], np.broadcast_to(want[k], (n,)))
    assert want["stall_cycles"].max() > 0
