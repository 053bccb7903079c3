"""SCALE-Sim topology files: loaders, formatting SCALE-Sim tolerates, errors that name the file."""

import numpy as np
import pytest

from codesign_jax.topology import load_topology, shipped_topologies, shipped_topology_path, topology_kind

CONV_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
               "Num Filter, Strides,\n")


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


def test_rows_without_values_are_skipped(tmp_path):
    # SCALE-Sim's own Resnet50.csv has a row of only commas after its header
    p = tmp_path / "c.csv"
    p.write_text(CONV_HEADER + ",,,,,,,,\nconv1, 10, 10, 3, 3, 2, 4, 1,\n , , ,\n")
    assert load_topology(str(p), "conv").layer_names == ("conv1",)


def test_tab_separated_file_is_named(tmp_path):
    p = tmp_path / "UNet_maestro.csv"
    p.write_text("Layer\tK\tC\tR\tS\tY\tX\nconv1\t64\t1\t3\t3\t572\t572\n")
    with pytest.raises(ValueError, match=r"UNet_maestro.csv:1: the line is tab-separated; SCALE-Sim "
                                         r"topologies are comma-separated"):
        load_topology(str(p), "conv")


@pytest.mark.parametrize("kind,other", [("conv", "gemm"), ("gemm", "conv")])
def test_header_must_match_input_type(tmp_path, kind, other):
    p = tmp_path / "t.csv"
    p.write_text(CONV_HEADER + "conv1, 10, 10, 3, 3, 2, 4, 1,\n" if kind == "conv"
                 else "Layer, M, N, K,\nl0, 8, 16, 32,\n")
    assert topology_kind(str(p)) == kind
    with pytest.raises(ValueError, match=rf"t.csv: the header names {kind} topology columns .* but the "
                                         rf"input type is '{other}'; run with -i {kind}"):
        load_topology(str(p), other)
    assert len(load_topology(str(p), kind)) == 1


def test_unrecognised_header_is_read_by_input_type(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("name, a, b, c,\nl0, 8, 16, 32,\n")
    assert topology_kind(str(p)) is None
    np.testing.assert_array_equal(load_topology(str(p), "gemm").gemm.K, [32])
