"""Workload tables: SCALE-Sim's conv->GEMM lowering and the LayerTable both models take."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign_jax.hardware import SpatialAccelerator, SystolicArray
from codesign_jax.spatial import spatial_cost
from codesign_jax.systolic import systolic_metrics
from codesign_jax.topology import load_topology, shipped_topology_path
from codesign_jax.workloads import GEMM_ARRAY_FIELDS, Conv, Gemm, LayerTable


def _im2col_addresses(H, W, Fh, Fw, C, s):
    """SCALE-Sim's ifmap operand matrix, brute force (operand_matrix.calc_ifmap_elem_addr)."""
    Eh = -(-(H - Fh + s) // s)
    Ew = -(-(W - Fw + s) // s)
    out = np.full((Eh * Ew, Fh * Fw * C), -1, np.int64)
    for p in range(Eh * Ew):
        orow, ocol = divmod(p, Ew)
        for j in range(Fh * Fw * C):
            cr, rest = divmod(j, Fw * C)
            cc, ch = divmod(rest, C)
            r, c = orow * s + cr, ocol * s + cc
            if r < H and c < W:
                out[p, j] = (r * W + c) * C + ch
    return out


@settings(max_examples=40, deadline=None)
@given(H=st.integers(1, 12), W=st.integers(1, 12), Fh=st.integers(1, 5), Fw=st.integers(1, 5),
       C=st.integers(1, 3), N=st.integers(1, 4), s=st.integers(1, 4))
def test_conv_lowering_matches_im2col(H, W, Fh, Fw, C, N, s):
    Fh, Fw = min(Fh, H), min(Fw, W)
    g = Conv.create(H, W, Fh, Fw, C, N, s).to_gemm()
    addr = _im2col_addresses(H, W, Fh, Fw, C, s)
    assert (int(g.M), int(g.K), int(g.N)) == (addr.shape[0], addr.shape[1], N)
    assert int(g.ifmap_valid) == int((addr >= 0).sum())
    assert int(g.ifmap_unique) == len(np.unique(addr[addr >= 0]))


def test_gemm_validation_names_field():
    with pytest.raises(ValueError, match="K must be >= 1"):
        Gemm.create(4, 4, 0)
    with pytest.raises(ValueError, match="M must be finite"):
        Gemm.create(float("nan"), 4, 4)
    with pytest.raises(ValueError, match="N must be an integer"):
        Gemm.create(4, 2.5, 4)
    with pytest.raises(ValueError, match="filt_h=5 exceeds ifmap_h=3"):
        Conv.create(3, 3, 5, 1, 1, 1)


def _mixed_table() -> LayerTable:
    """A small network with every row kind: padded / strided convs, depthwise (with and without a
    channel multiplier), a grouped conv, GEMMs with repeats, two networks."""
    conv = LayerTable.conv(in_h=[32, 17, 16, 15], in_w=[32, 17, 16, 9], channels=[3, 16, 16, 8],
                           filters=[16, 16, 32, 16], filt_h=[3, 3, 5, 1], filt_w=[3, 3, 5, 3],
                           stride=[1, 2, 1, 1], pad_h=[2, 2, 4, 0], pad_w=[2, 2, 4, 1],
                           groups=[1, 16, 16, 2], repeat=[1, 2, 1, 3],
                           names=["stem", "dw", "dw_x2", "grouped"])
    gemm = LayerTable.gemm(M=[128, 7], N=[64, 10], K=[256, 32], repeat=[12, 1], network=[0, 1],
                           names=["attn", "fc"])
    return LayerTable.concat([conv, gemm])


def test_conv_output_sizes_follow_framework_and_scalesim_formulas():
    t = LayerTable.conv(in_h=224, in_w=224, channels=3, filters=64, filt_h=7, stride=2, pad_h=6)
    assert (int(t.out_h[0]), int(t.out_w[0])) == (112, 112)  # floor((224 + 6 - 7) / 2) + 1
    # SCALE-Sim's ceil((I - F + s) / s) on the same padded row gives 113: from_scalesim keeps it
    s = LayerTable.from_scalesim(230, 230, 7, 7, 3, 64, 2)
    assert int(s.out_h[0]) == 113
    # each model is given the input that makes its own formula reproduce the stored size
    assert int(t.to_gemm().M[0]) == 112 * 112 and int(s.to_gemm().M[0]) == 113 * 113
    (lt, low), = t.to_spatial().items()
    Y = int(low.layers.Y[0])
    assert lt == "CONV" and (Y - 7) // 2 + 1 == 112


def test_layer_table_macs_equal_in_both_models():
    t = _mixed_table()
    # hand count: repeat * groups * (out pixels) * (filters / group) * (window x channels / group)
    out = [32 * 32, 9 * 9, 16 * 16, 15 * 8]
    hand = [out[0] * 16 * 27, 2 * 16 * out[1] * 1 * 9, 16 * out[2] * 2 * 25, 3 * 2 * out[3] * 8 * 12,
            12 * 128 * 64 * 256, 7 * 10 * 32]
    np.testing.assert_array_equal(t.macs, hand)
    low = t.lower_gemm()
    np.testing.assert_array_equal(np.bincount(low.index, low.count * low.layers.macs), hand)
    compact = t.lower_gemm(expand_groups=False)
    assert len(compact.layers) == len(t)
    np.testing.assert_array_equal(compact.count * compact.layers.macs, hand)
    # the systolic model's own MAC count and the spatial model's num_macs_top, times the counts
    arr = SystolicArray.create(rows=8, cols=8)
    sys_macs = systolic_metrics(np, low.layers, arr)["macs"]  # the numpy port: no compile
    np.testing.assert_array_equal(np.bincount(low.index, low.count * sys_macs), hand)
    accel = SpatialAccelerator(num_pes=64, l1_size=10**6, l2_size=10**8, noc_bw=64, offchip_bw=64)
    dataflow = {"CONV": "kcp_ws", "DSCONV": "dpt", "GEMM": "gemm_nmk"}
    spatial = np.zeros(len(t))
    for lt, part in t.to_spatial().items():
        rep = spatial_cost(part.layers, accel, dataflow[lt], backend="numpy")
        np.add.at(spatial, part.index, part.count * np.asarray(rep.num_macs_top))
    np.testing.assert_array_equal(spatial, hand)


def test_conversions_round_trip_shapes():
    t = _mixed_table()
    keys = ("kind", "out_h", "out_w", "filt_h", "filt_w", "stride", "M", "K")  # N: see the MACs
    for lt, part in t.to_spatial().items():
        back = LayerTable.from_spatial(part.layers)
        src = t.select(part.index)
        for k in keys:
            np.testing.assert_array_equal(getattr(back, k), getattr(src, k), err_msg=f"{lt} {k}")
        np.testing.assert_array_equal(back.macs * part.count, src.macs)
    # the SCALE-Sim conv rows lower to the same GEMMs as the table's own per-group shapes
    conv = t.to_conv()
    g = conv.layers.to_gemm()
    for k in ("M", "N", "K"):
        np.testing.assert_array_equal(getattr(g, k), getattr(t, k)[conv.index])
    assert conv.layers.names[1:3] == ("dwChannel_0", "dwChannel_1")
    assert "groupedGroup_1" in conv.layers.names
    # GEMM rows keep their order between the expanded conv rows
    low = t.lower_gemm()
    assert list(low.index) == sorted(low.index) and low.layers.names[-2:] == ("attn", "fc")


@settings(max_examples=40, deadline=None)
@given(H=st.integers(1, 20), W=st.integers(1, 20), F=st.integers(1, 5), s=st.integers(1, 3),
       p=st.integers(0, 4), C=st.integers(1, 4), K=st.integers(1, 4))
def test_padded_conv_lowering_matches_brute_force(H, W, F, s, p, C, K):
    if F > H + p or F > W + p:
        with pytest.raises(ValueError, match="exceeds the padded input"):
            LayerTable.conv(H, W, C, K, F, stride=s, pad_h=p)
        return
    t = LayerTable.conv(H, W, C, K, F, stride=s, pad_h=p)
    # brute force: count window positions that fit in the padded input
    n_out = lambda n: sum(1 for o in range(n + p) if o * s + F <= n + p)
    assert (int(t.out_h[0]), int(t.out_w[0])) == (n_out(H), n_out(W))
    g = t.to_gemm()
    assert int(g.M[0]) == n_out(H) * n_out(W) and int(g.K[0]) == F * F * C and int(g.N[0]) == K
    (low,) = t.to_spatial().values()
    assert (int(low.layers.Y[0]) - F) // s + 1 == n_out(H)


@pytest.mark.parametrize("kw,match", [
    (dict(groups=3), "channels=16 is not divisible by groups=3"),
    (dict(pad_h=-1), "pad_h must be >= 0"),
    (dict(filt_h=40), "row 0: filt_h=40 exceeds the padded input 32"),
    (dict(repeat=0), "repeat must be >= 1"),
    (dict(channels=float("nan")), "channels must be finite"),
])
def test_layer_table_errors_name_the_field(kw, match):
    args = dict(in_h=32, in_w=32, channels=16, filters=16, filt_h=3)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        LayerTable.conv(**args)


def test_scalesim_topology_rows_lower_as_before():
    """Loading through the table gives exactly the GEMMs of SCALE-Sim's own row-by-row lowering."""
    for name in ("mobilenetv2", "resnet18", "alexnet"):
        topo = load_topology(shipped_topology_path(name), "conv")
        rows = []
        for i, r in enumerate(zip(*(getattr(topo.layers, k) for k in ("in_h", "in_w", "filt_h", "filt_w",
                                                                    "channels", "filters", "stride")))):
            ih, iw, fh, fw, c, k, s = map(int, r)
            g = int(topo.layers.groups[i])
            rows += [(ih, iw, fh, fw, c // g, k // g, s)] * g
        ref = Conv.create(*np.array(rows).T).to_gemm()
        for f in GEMM_ARRAY_FIELDS:
            np.testing.assert_array_equal(getattr(topo.gemm, f), getattr(ref, f), err_msg=f"{name} {f}")
        assert len(topo.layer_names) == len(rows)
