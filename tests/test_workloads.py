"""Workload tables, conv->GEMM lowering and SCALE-Sim topology loaders."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign_jax.topology import load_topology, shipped_topologies, shipped_topology_path
from codesign_jax.workloads import Conv, Gemm


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


def test_loaders_tolerate_scalesim_formatting(tmp_path):
    p = tmp_path / "g.csv"
    p.write_text("Layer, M, N, K,\n  l0 , 8, 16 , 32,\n\nl1,1,2,3,   \n")
    t = load_topology(str(p), "gemm")
    assert t.layer_names == ("l0", "l1")
    np.testing.assert_array_equal(t.gemm.M, [8, 1])
    np.testing.assert_array_equal(t.gemm.K, [32, 3])
    c = tmp_path / "c.csv"
    c.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                 "Num Filter, Strides,\nconv1, 10, 10, 3, 3, 2, 4, 1,\nB_DP, 6, 6, 3, 3, 3, 1, 1,\n")
    t = load_topology(str(c), "conv")
    # depthwise ('DP' in the name) expands per channel, as SCALE-Sim's load_arrays_conv does
    assert t.layer_names == ("conv1", "B_DPChannel_0", "B_DPChannel_1", "B_DPChannel_2")
    np.testing.assert_array_equal(t.gemm.M, [64, 16, 16, 16])
    np.testing.assert_array_equal(t.gemm.K, [18, 9, 9, 9])


@pytest.mark.parametrize("text,match", [
    ("Layer, M, N, K,\nl0, 8, 16,\n", r"g.csv:2: expected 'Layer, M, N, K'"),
    ("Layer, M, N, K,\nl0, 8, x, 4,\n", r"g.csv:2: field 'N' is not a number"),
    ("Layer, M, N, K,\nl0, 8, -3, 4,\n", r"g.csv:2: field 'N' must be >= 1"),
    ("Layer, M, N, K,\nl0, 8, nan, 4,\n", r"g.csv:2: field 'N' must be an integer"),
    ("", r"empty topology file"),
    ("Layer, M, N, K,\n", r"no layers found"),
])
def test_malformed_csv_errors_name_file_line_field(tmp_path, text, match):
    p = tmp_path / "g.csv"
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_topology(str(p), "gemm")


def test_shipped_topologies_load():
    names = shipped_topologies()
    assert {"resnet18", "alexnet", "mobilenetv2", "bert_base_gemm"} <= set(names)
    for name, kind in names.items():
        t = load_topology(shipped_topology_path(name), kind)
        assert len(t) > 0 and np.all(t.gemm.macs > 0)
    r18 = load_topology(shipped_topology_path("resnet18"), "conv")
    # ResNet-18 conv + fc MACs ~1.8 GMAC at 224x224 (He et al. 2016: 1.8 GFLOPs)
    assert 1.7e9 < r18.gemm.macs.sum() < 2.0e9
