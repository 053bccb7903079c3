"""systolic_network_cost: a whole layer table on a batch of arrays, summed back to table rows."""

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic import SYSTOLIC_ADDITIVE_FIELDS, systolic_cost, systolic_network_cost
from codesign_jax.workloads import LayerTable


def _table() -> LayerTable:
    return LayerTable.concat([
        LayerTable.conv(16, 16, 3, 16, 3, stride=2, pad_h=2, repeat=2, names=["stem"]),
        LayerTable.conv(8, 8, 16, 32, 3, pad_h=2, groups=16, names=["dw_x2"]),   # depthwise, multiplier 2
        LayerTable.conv(8, 8, 32, 32, 1, groups=4, names=["grouped"]),
        LayerTable.gemm(M=10, N=20, K=30, repeat=3, names=["fc"])])


def test_per_row_sums_and_hand_macs():
    t = _table()
    arr = SystolicArray.create(rows=np.array([8, 16])[:, None], cols=[8, 16, 32], dataflow="os")
    net = systolic_network_cost(t, arr)                         # numpy backend (auto, CALC)
    assert net.layers["total_cycles"].shape == (4, 2, 3) and net.total["total_cycles"].shape == (2, 3)
    hand = [2 * 8 * 8 * 27 * 16, 8 * 8 * 9 * 32, 8 * 8 * 8 * 32, 3 * 10 * 20 * 30]
    assert np.all(net.layers["macs"] == np.asarray(hand, float)[:, None, None])
    # independent: the jitted systolic_cost on every lowered GEMM, summed by a Python loop
    low = t.lower_gemm()
    g = low.layers
    ref = {k: np.zeros((4, 2, 3)) for k in ("total_cycles", "dram_ifmap_reads", "sram_filter_reads")}
    rep = systolic_cost(type(g)(**{f: (None if getattr(g, f) is None else np.asarray(getattr(g, f))[:, None, None])
                                   for f in g.__dataclass_fields__ if f != "names"}), arr)
    for j, (i, c) in enumerate(zip(low.index, low.count)):
        for k in ref:
            ref[k][i] += c * np.asarray(rep.fields[k])[j]
    for k in ref:
        np.testing.assert_array_equal(net.layers[k], ref[k])
    pes = arr.rows * arr.cols
    assert np.all(net.total["total_cycles"] >= net.total["macs"] / pes)          # no array beats its peak
    assert np.all(net.total["overall_util_pct"] <= 100.0)
    assert set(SYSTOLIC_ADDITIVE_FIELDS) <= set(net.layers)
    np.testing.assert_allclose(net.by_network()["total_energy_pj"][0], net.total["total_energy_pj"])


def test_backends_agree_and_are_checked():
    t = _table()
    arr = SystolicArray.create(rows=16, cols=16, dataflow="ws")
    a = systolic_network_cost(t, arr, backend="numpy")
    b = systolic_network_cost(t, arr, backend="jax")
    for k in SYSTOLIC_ADDITIVE_FIELDS:
        np.testing.assert_array_equal(a.layers[k], b.layers[k])
    with pytest.raises(ValueError, match="backend must be"):
        systolic_network_cost(t, arr, backend="torch")
    with pytest.raises(ValueError, match="CALC designs without exact"):
        systolic_network_cost(t, arr, backend="numpy", exact=True)
