"""Layer tables as SCALE-Sim topologies and MAESTRO model files, read back by our loaders."""

import collections
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.export import (maestro_model_text, read_maestro_model, scalesim_topology_text,
                                 write_maestro_model, write_scalesim_topology)
from codesign_jax.spatial import DATAFLOWS, parse_dataflow
from codesign_jax.topology import load_topology
from codesign_jax.trace import workloads_from_fn
from codesign_jax.workloads import LayerTable

DATA = pathlib.Path(__file__).parent / "data"


def _table() -> LayerTable:
    return LayerTable.concat([
        LayerTable.conv(16, 16, 3, 16, 3, stride=2, pad_h=2, repeat=2, names=["stem"]),
        LayerTable.conv(8, 8, 16, 32, 3, pad_h=2, groups=16, names=["dw"]),        # depthwise, multiplier 2
        LayerTable.conv(8, 8, 32, 32, 1, groups=4, names=["DPgrouped"]),           # not depthwise, 'DP' in name
        LayerTable.gemm(M=10, N=20, K=30, repeat=3, names=["fc,1"])])


def _gemms(low) -> collections.Counter:
    """Multiset of the (M, N, K) GEMMs SCALE-Sim runs, each as many times as it runs."""
    g = low.layers
    return collections.Counter((int(g.M[j]), int(g.N[j]), int(g.K[j])) for j, c in enumerate(low.count)
                               for _ in range(int(c)))


@pytest.mark.parametrize("kind", ["conv", "gemm"])
def test_scalesim_topology_round_trip(tmp_path, kind):
    t = _table()
    path = write_scalesim_topology(t, str(tmp_path / f"net_{kind}.csv"), kind)
    topo = load_topology(path, kind)
    assert int(topo.layers.macs.sum()) == int(t.macs.sum()) == 2 * 8 * 8 * 27 * 16 + 8 * 8 * 9 * 32 \
        + 8 * 8 * 8 * 32 + 3 * 10 * 20 * 30
    loaded = collections.Counter(zip(map(int, topo.gemm.M), map(int, topo.gemm.N), map(int, topo.gemm.K)))
    assert loaded == _gemms(t.lower_gemm())
    if kind == "conv":   # one DP row that SCALE-Sim expands per channel; groups one row each
        lines = open(path).read().splitlines()
        assert lines[0] == ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                            "Num Filter, Strides,")
        assert lines[1:3] == ["stem_r0, 17, 17, 3, 3, 3, 16, 2,", "stem_r1, 17, 17, 3, 3, 3, 16, 2,"]
        assert lines[3] == "dw_DP, 10, 10, 3, 3, 16, 2, 1,"
        assert [ln.split(",")[0] for ln in lines[4:8]] == [f"DpgroupedGroup_{i}" for i in range(4)]
        assert lines[8] == "fc;1_r0, 10, 30, 1, 30, 1, 20, 1,"    # SCALE-Sim's conv form of a GEMM
        assert len(topo.layer_names) == 2 + 16 + 4 + 3


def test_scalesim_repeats_once_and_bad_arguments(tmp_path):
    t = _table()
    assert len(scalesim_topology_text(t, repeats="once").splitlines()) == 1 + 1 + 1 + 4 + 1
    with pytest.raises(ValueError, match="repeats must be"):
        scalesim_topology_text(t, repeats="twice")
    with pytest.raises(ValueError, match="kind must be"):
        scalesim_topology_text(t, "onnx")


def test_maestro_model_round_trip(tmp_path):
    t = _table()
    path = write_maestro_model(t, str(tmp_path / "net.m"), dataflows={"CONV": "rs", "DSCONV": "dpt",
                                                                      "GEMM": "gemm_nmk"})
    text = open(path).read()
    assert text.startswith("Network net {") and "Layer fc_1_r2 {" in text
    back, flows = read_maestro_model(path)
    assert int(back.macs.sum()) == int(t.macs.sum())
    want = collections.Counter()
    for lt, low in t.to_spatial().items():
        L = low.layers
        for j, c in enumerate(low.count):
            dims = tuple(int(np.broadcast_to(np.asarray(getattr(L, k)), low.index.shape)[j])
                         for k in ("K", "C", "R", "S", "Y", "X", "stride"))
            want[(lt, dims)] += int(c)
    got = collections.Counter()
    for lt, low in back.to_spatial().items():
        L = low.layers
        for j, c in enumerate(low.count):
            got[(lt, tuple(int(np.broadcast_to(np.asarray(getattr(L, k)), low.index.shape)[j])
                           for k in ("K", "C", "R", "S", "Y", "X", "stride")))] += int(c)
    assert got == want
    for f, lt in zip(flows, ["CONV"] * 2 + ["DSCONV"] * 2 + ["CONV"] * 4 + ["GEMM"] * 3):
        name = {"CONV": "rs", "DSCONV": "dpt", "GEMM": "gemm_nmk"}[lt]
        assert parse_dataflow(f).directives == DATAFLOWS[name].directives
    with pytest.raises(ValueError, match="dataflows keys must be layer types"):
        maestro_model_text(t, dataflows={"CONV2D": "rs"})


def test_read_maestro_own_model_file():
    t, flows = read_maestro_model(str(DATA / "maestro_model_sample.m"))
    assert t.names == ("CONV1", "Bottleneck1_1_1", "Bottleneck1_1_2", "GEMM0")
    assert t.macs.tolist() == [32 * 3 * 112 * 112,          # 1x1, stride 2 on 224: 112x112 outputs
                               32 * 32 * 112 * 112,
                               32 * 3 * 3 * 110 * 110,      # DSCONV 3x3 on 112 (no padding): 110x110
                               128 * 2048 * 4096]           # GEMM M x K @ K x N
    assert t.groups.tolist()[2] == 32
    assert parse_dataflow(flows[3]).cluster_sizes == (100,)   # Constant KTileSz 100 substituted


def test_traced_table_exports_with_safe_names(tmp_path):
    t = workloads_from_fn(lambda q, k: jnp.einsum("bqd,bkd->bqk", q, k), jnp.ones((2, 4, 8)), jnp.ones((2, 5, 8)))
    text = maestro_model_text(t, "attn", repeats="once")
    assert "Layer bqd_bkd_bqk { // bqd,bkd->bqk, runs 2 times" in text   # MAESTRO splits names on , - >
    assert "Dimensions { N: 5, K: 8, M: 4 }" in text
    topo = load_topology(write_scalesim_topology(t, str(tmp_path / "a.csv"), "gemm"), "gemm")
    assert topo.layers.macs.tolist() == [4 * 5 * 8, 4 * 5 * 8]
