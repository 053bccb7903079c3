"""spatial_network_cost: a whole layer table on a batch of accelerators, one dataflow per layer type."""

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.spatial import SPATIAL_ADDITIVE_FIELDS, spatial_cost, spatial_network_cost
from codesign_jax.workloads import LayerTable

DF = {"CONV": "kcp_ws", "DSCONV": "dpt", "GEMM": "gemm_nmk"}


def _table() -> LayerTable:
    return LayerTable.concat([
        LayerTable.conv(16, 16, 3, 16, 3, stride=2, pad_h=2, repeat=2, names=["stem"]),
        LayerTable.conv(8, 8, 16, 32, 3, pad_h=2, groups=16, names=["dw_x2"]),   # DSCONV counted twice
        LayerTable.conv(8, 8, 32, 32, 1, groups=4, names=["grouped"]),            # one group counted 4 times
        LayerTable.gemm(M=10, N=20, K=30, repeat=3, names=["fc"])])


def test_per_row_sums_and_hand_macs():
    t = _table()
    accel = SpatialAccelerator(num_pes=np.array([64.0, 256.0]), l1_size=512, l2_size=10**6, noc_bw=64,
                               offchip_bw=64)
    net = spatial_network_cost(t, accel, DF)
    assert net.layers["runtime_cycles"].shape == (4, 2)
    hand = [2 * 8 * 8 * 27 * 16, 8 * 8 * 9 * 32, 8 * 8 * 8 * 32, 3 * 10 * 20 * 30]
    assert np.all(net.layers["num_macs_top"] == np.asarray(hand, float)[:, None])
    ref = np.zeros((4, 2))
    for lt, low in t.to_spatial().items():       # each lowered layer alone, summed by a Python loop
        for j, (i, c) in enumerate(zip(low.index, low.count)):
            one = type(low.layers)(*(np.broadcast_to(np.asarray(getattr(low.layers, k)), low.index.shape)[j]
                                     for k in ("K", "C", "R", "S", "Y", "X", "stride")), lt)
            for a in range(2):
                acc = SpatialAccelerator(num_pes=accel.num_pes[a], l1_size=512, l2_size=10**6, noc_bw=64,
                                         offchip_bw=64)
                ref[i, a] += c * float(spatial_cost(one, acc, DF[lt], backend="numpy").runtime_cycles)
    np.testing.assert_array_equal(net.layers["runtime_cycles"], ref)
    assert np.all(net.total["runtime_cycles"] >= net.total["num_macs_top"] / accel.num_pes)
    assert set(SPATIAL_ADDITIVE_FIELDS) <= set(net.layers)


def test_dataflows_and_backend_are_checked():
    t = _table()
    accel = SpatialAccelerator(num_pes=256, l1_size=512, l2_size=10**6, noc_bw=64, offchip_bw=64)
    with pytest.raises(ValueError, match="DSCONV layers but dataflows has no 'DSCONV'"):
        spatial_network_cost(t, accel, {"CONV": "kcp_ws", "GEMM": "gemm_nmk"})
    with pytest.raises(ValueError, match="backend must be"):
        spatial_network_cost(t, accel, backend="cuda")
    one = spatial_network_cost(t.select([3]), accel, "gemm_nmk")       # one dataflow for every type
    assert float(one.total["num_macs_top"]) == 3 * 10 * 20 * 30


@pytest.mark.slow
def test_jax_backend_matches_numpy():
    t = _table()
    accel = SpatialAccelerator(num_pes=256, l1_size=512, l2_size=10**6, noc_bw=64, offchip_bw=64)
    a, b = spatial_network_cost(t, accel, DF, backend="numpy"), spatial_network_cost(t, accel, DF, backend="jax")
    for k in SPATIAL_ADDITIVE_FIELDS:
        np.testing.assert_array_equal(a.layers[k], b.layers[k])
