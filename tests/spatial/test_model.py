"""Tests of the MAESTRO-style spatial model against 602 runs of the real MAESTRO (tests/data)."""

import collections
import csv
import pathlib

import jax
import numpy as np
import pytest

import codesign_jax  # noqa: F401
from codesign_jax import spatial as sp
from codesign_jax.spatial._model import _LAYER_KEYS
from codesign_jax.spatial import DATAFLOWS, parse_dataflow

DATA = pathlib.Path(__file__).parents[1] / "data"
ROWS = list(csv.DictReader(open(DATA / "maestro_reference.csv")))
EXACT = ["runtime_cycles", "num_macs_top"] + [f"{t}_{lv}_{a}" for t in ("input", "filter", "output")
                                                for lv in ("l1", "l2") for a in ("read", "write", "size_req")]
CLOSE = ["energy_total_xmac", "peak_noc_bw_req", "avg_noc_bw_req", "offchip_bw_req", "avg_utilized_pes",
         "ingress_delay_min", "ingress_delay_max", "ingress_delay_avg", "egress_delay_min", "egress_delay_max",
         "egress_delay_avg", "compute_delay_min", "compute_delay_max", "compute_delay_avg"]


def _groups():
    g = collections.defaultdict(list)
    for r in ROWS:
        g[(r["dataflow"], r["layer_type"])].append(r)
    return sorted(g.items())


def _batch(rows, lt):
    f = lambda k: np.array([float(r[k]) for r in rows])
    layer = sp.SpatialLayer(f("K"), f("C"), f("R"), f("S"), f("Y"), f("X"), f("stride"), lt)
    accel = sp.SpatialAccelerator(f("num_pes"), f("l1_size_cstr"), f("l2_size_cstr"), f("noc_bw_cstr"),
                                  f("offchip_bw_cstr"))
    return layer, accel


def _spearman(a, b):
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return np.corrcoef(ra, rb)[0, 1]


@pytest.mark.parametrize("key", [k for k, _ in _groups()], ids=lambda k: f"{k[0]}-{k[1]}")
def test_reference_rows(key):
    """Every reference row: ok/rejected agrees; counts exact; everything else to print precision."""
    (df, lt), rows = key, dict(_groups())[key]
    layer, accel = _batch(rows, lt)
    err = sp.check_spatial(layer, accel, df)
    ok = np.array([r["ok"] == "1" for r in rows])
    np.testing.assert_array_equal(err == "", ok, err_msg=str([(r["hw"], r["layer"], e) for r, e in zip(rows, err)]))
    if not ok.any():
        with pytest.raises(ValueError, match=df):
            sp.spatial_cost(layer, accel, df, backend="numpy")
        return
    sel = np.flatnonzero(ok)
    sub = jax.tree_util.tree_map(lambda a: np.broadcast_to(a, ok.shape)[sel], (layer, accel))
    rep = sp.spatial_cost(*sub, df, backend="numpy")
    for k in EXACT:
        ref = np.array([float(rows[i][k]) for i in sel])
        np.testing.assert_array_equal(getattr(rep, k), ref, err_msg=k)
    for k in CLOSE:
        ref = np.array([float(rows[i][k]) for i in sel])
        np.testing.assert_allclose(getattr(rep, k), ref, rtol=5e-6, err_msg=k)
    np.testing.assert_allclose(rep.energy_total_xmac, [float(rows[i]["energy_total_xmac_exact"]) for i in sel],
                               rtol=1e-12)
    if len(sel) > 2:
        assert _spearman(rep.runtime_cycles, [float(rows[i]["runtime_cycles"]) for i in sel]) >= 0.99


def test_jit_matches_numpy_port_gemm():
    """Jitted JAX == numpy port, bit for bit, on the smallest dataflow (fast to compile)."""
    rows = [r for r in ROWS if r["dataflow"] == "gemm_nmk"]
    layer, accel = _batch(rows, "GEMM")
    a = sp.spatial_cost(layer, accel, "gemm_nmk")
    b = sp.spatial_cost(layer, accel, "gemm_nmk", backend="numpy")
    for f in sp.REPORT_FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(a, f)), getattr(b, f), err_msg=f)


def _odd_points(lt, n=400, seed=11):
    """Random layers beyond the reference set: strides up to 3 (also > R), inexact strides, tiny dims."""
    rng = np.random.default_rng(seed)
    r = rng.choice([1.0, 2.0, 3.0, 5.0, 7.0], n)
    st = rng.choice([1.0, 1.0, 2.0, 3.0], n)
    y, x = r + rng.integers(0, 60, n), r + rng.integers(0, 60, n)
    k, c = rng.integers(1, 300, n).astype(float), rng.integers(1, 300, n).astype(float)
    if lt == "GEMM":
        layer = sp.gemm_layer(rng.integers(1, 700, n).astype(float), k, c)
    else:
        layer = sp.SpatialLayer(k if lt == "CONV" else np.ones(n), c, r, r, y, x, st, lt)
    accel = sp.SpatialAccelerator(rng.choice([64.0, 100.0, 128.0, 168.0, 256.0, 1024.0], n), 100.0, 3000.0,
                                  rng.choice([1.0, 8.0, 32.0, 300.0, 1000.0], n),
                                  rng.choice([1.0, 8.0, 50.0, 350.0], n))
    return layer, accel


_GOLDEN_FIELDS = ["runtime_cycles", "num_macs_top", "input_l2_read", "filter_l2_read", "output_l2_write",
                  "output_l1_write", "peak_noc_bw_req", "avg_noc_bw_req", "offchip_bw_req", "ingress_delay_avg",
                  "compute_delay_max", "avg_utilized_pes"]
# n_valid and the sums of _GOLDEN_FIELDS over _odd_points, from the case-by-case engine this model was
# optimized from (bit-identical on every field of these points, except maeri's two points where that
# engine reused the previous case's compute delay for an outer level whose spatial map is Steady;
# MAESTRO recomputes it per case, CA_cost-analysis-engine.hpp, as the current engine does).
_GOLDEN = {
    "kcp_ws": ("CONV", [386, 40552013424.0, 71324780064.0, 14247016788.0, 191760957.0, 91883736.0, 71092678862.0,
                        43896.0, 5283.952826668969, 43896.0, 43808.0, 180817.0, 94294.25203954596]),
    "xp_ws": ("CONV", [400, 21109121394.0, 71379584213.0, 8742673690.0, 164196111.0, 5602731697.0, 71261053547.0,
                       9548.0, 4178.1390678771195, 9049.0, 4612.0, 7275.0, 8595.0]),
    "rs": ("CONV", [391, 4753310479.0, 71895782324.0, 564927211.0, 5171680171.0, 5554788630.0, 71764803168.0, 4136.0,
                    3591.5215467541516, 4136.0, 26598.0, 48579.0, 23907.6]),
    "ykp_os": ("CONV", [386, 6423035423.0, 72102842870.0, 4733053929.0, 11073516565.0, 5511075596.0, 71996844513.0,
                        11154.0, 10190.471536004885, 11154.0, 38586.0, 31601.0, 60880.17854367854]),
    "dpt": ("DSCONV", [400, 315203040.0, 563885855.0, 158290175.0, 1110691.0, 36056010.0, 561757164.0, 91714.0,
                       26301.424479859976, 91251.0, 75340.0, 10603.0, 40457.25]),
    "maeri": ("CONV", [391, 27751191600.0, 71347141069.0, 5200471335.0, 163967949.0, 4862789601.0, 71115039867.0,
                       22029.0, 4555.239272067567, 21968.0, 1011.0, 4746.0, 79784.49779698258]),
    "gemm_nmk": ("GEMM", [400, 2859488564.0, 3341758500.0, 3873407600.0, 1502064243.0, 62768770.0, 3341758500.0,
                          31443.0, 28056.520334413304, 31443.0, 28397.0, 11866.0, 95330.52253395692]),
    "gemm_nmk_k100": ("GEMM", [341, 2971004795.0, 2791199272.0, 3398023554.0, 1402522000.0, 37042950.0,
                               2791199272.0, 27015.0, 22759.871892941497, 27015.0, 24647.0, 14894.0,
                               80231.40655675171]),
}


def _valid_odd(df, lt):
    layer, accel = _odd_points(lt)
    keep = sp.check_spatial(layer, accel, df) == ""
    return jax.tree_util.tree_map(lambda a: np.broadcast_to(a, keep.shape)[keep], (layer, accel))


@pytest.mark.parametrize("df", sorted(_GOLDEN))
def test_odd_layers_match_case_by_case_engine(df):
    """Case grouping / factorization keep every figure: sums over 400 odd layers, exact."""
    lt, want = _GOLDEN[df]
    sub = _valid_odd(df, lt)
    rep = sp.spatial_cost(*sub, df, backend="numpy")
    got = [len(rep.runtime_cycles)] + [float(np.sum(getattr(rep, f))) for f in _GOLDEN_FIELDS]
    for name, g, w in zip(["n_valid"] + _GOLDEN_FIELDS, got, want):
        assert g == pytest.approx(w, rel=1e-13 if name in ("avg_noc_bw_req", "avg_utilized_pes") else 0), name


@pytest.mark.parametrize("df", ["xp_ws", "rs", "dpt", "gemm_nmk_k100"])
def test_jit_matches_numpy_port_odd_layers(df):
    """Jitted (block-mapped) == numpy port bit for bit, incl. divisions by constants that are not powers of 2
    (XLA would multiply by a rounded reciprocal) and exact powers of 2 (XLA's exp2 is not exact)."""
    lt = _GOLDEN[df][0]
    sub = _valid_odd(df, lt)
    a = jax.jit(sp.make_spatial_cost(df, lt, block=128))(*sub)
    b = sp.make_spatial_cost(df, lt, backend="numpy")(*sub)
    for f in sp.REPORT_FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(a, f)), getattr(b, f), err_msg=f)


@pytest.mark.slow  # compiles kcp_ws (~10 s)
def test_jit_matches_numpy_port():
    """The jitted JAX model and the numpy port are one formula: identical numbers."""
    rows = [r for r in ROWS if r["dataflow"] == "kcp_ws" and r["layer_type"] == "CONV"]
    layer, accel = _batch(rows, "CONV")
    a = sp.spatial_cost(layer, accel, "kcp_ws")
    b = sp.spatial_cost(layer, accel, "kcp_ws", backend="numpy")
    for f in sp.REPORT_FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(a, f)), getattr(b, f), err_msg=f)


def test_broadcasts_layers_by_accelerators():
    layer = sp.conv_layer(K=np.array([64.0, 128.0])[:, None], C=64, R=3, S=3, Y=58, X=58)
    accel = sp.SpatialAccelerator(num_pes=np.array([64.0, 256.0, 1024.0]), l1_size=100, l2_size=3000,
                                  noc_bw=500, offchip_bw=150)
    rep = sp.spatial_cost(layer, accel, "xp_ws", backend="numpy")
    assert rep.runtime_cycles.shape == (2, 3)
    one = sp.spatial_cost(sp.conv_layer(128, 64, 3, 3, 58, 58), sp.SpatialAccelerator(256, 100, 3000, 500, 150),
                          "xp_ws", backend="numpy")
    assert float(one.runtime_cycles) == float(rep.runtime_cycles[1, 1])


def test_invariants():
    """runtime >= MACs / PEs, utilization <= PEs, MACs = K C R S Y' X', L1 reads = MACs."""
    rng = np.random.default_rng(0)
    n = 64
    r = rng.choice([1, 3, 5], n).astype(float)
    out = rng.integers(2, 40, n).astype(float)
    layer = sp.conv_layer(rng.integers(1, 200, n).astype(float), rng.integers(1, 200, n).astype(float), r, r,
                          out + r - 1, out + r - 1)
    pes = rng.choice([64.0, 128.0, 256.0], n)
    accel = sp.SpatialAccelerator(pes, 100, 3000, rng.choice([8.0, 64.0, 512.0], n), 150)
    for df in ("kcp_ws", "xp_ws", "rs", "ykp_os"):
        rep = sp.spatial_cost(layer, accel, df, backend="numpy")
        macs = layer.K * layer.C * r * r * out * out
        # MAESTRO over-counts partial sums at some spatial edges (rs, ykp_os; matched bit for bit).
        assert np.all(rep.num_macs_top >= macs)
        if df in ("kcp_ws", "xp_ws"):
            np.testing.assert_array_equal(rep.num_macs_top, macs)
        assert np.all(rep.runtime_cycles >= macs / pes)
        assert np.all(rep.avg_utilized_pes <= pes + 1e-9)
        np.testing.assert_array_equal(rep.input_l1_read, rep.num_macs_top)
        np.testing.assert_array_equal(rep.filter_l1_read, rep.num_macs_top)


def test_more_noc_bandwidth_never_slower():
    layer = sp.conv_layer(64, 64, 3, 3, 30, 30)
    bws = np.array([1.0, 2.0, 8.0, 32.0, 128.0, 1024.0])
    accel = sp.SpatialAccelerator(256, 100, 3000, bws, 1000)
    for df in ("kcp_ws", "xp_ws", "rs", "ykp_os"):
        rt = sp.spatial_cost(layer, accel, df, backend="numpy").runtime_cycles
        assert np.all(np.diff(rt) <= 0), (df, rt)


def test_rejections_name_layer_and_dataflow():
    dw = sp.dsconv_layer(C=32, R=3, S=3, Y=18, X=18)
    hw = sp.SpatialAccelerator(256, 100, 3000, 500, 150)
    with pytest.raises(ValueError, match=r"DSCONV.*kcp_ws.*Dimension K not found"):
        sp.spatial_cost(dw, hw, "kcp_ws")
    sp.spatial_cost(dw, hw, "dpt", backend="numpy")  # depthwise dataflow is fine
    with pytest.raises(ValueError, match=r"gemm_nmk_k100.*num_pes smaller"):
        sp.spatial_cost(sp.gemm_layer(128, 768, 768), sp.SpatialAccelerator(64, 100, 3000, 500, 150), "gemm_nmk_k100")
    with pytest.raises(ValueError, match=r"batch index \(1,\).*C must be a positive"):
        sp.spatial_cost(sp.conv_layer(8, np.array([4.0, 0.0]), 3, 3, 8, 8), hw, "xp_ws")
    with pytest.raises(ValueError, match="unknown dataflow"):
        sp.spatial_cost(sp.conv_layer(8, 4, 3, 3, 8, 8), hw, "nope")


def test_parse_dataflow_roundtrip_and_user_dataflow():
    for name, df in DATAFLOWS.items():
        assert parse_dataflow(df.to_text(), name) == df
    # A user dataflow (output stationary over X) runs without touching the engine.
    mine = parse_dataflow("TemporalMap(8,8) K; TemporalMap(1,1) C; SpatialMap(Sz(S),1) X; TemporalMap(Sz(R),1) Y;"
                          "TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S;", "x_os")
    rep = sp.spatial_cost(sp.conv_layer(16, 8, 3, 3, 10, 10), sp.SpatialAccelerator(16, 100, 3000, 64, 64), mine,
                          backend="numpy")
    assert float(rep.num_macs_top) == 16 * 8 * 9 * 64
    with pytest.raises(ValueError, match="size == offset"):
        parse_dataflow("SpatialMap(1,1) K; TemporalMap(3,1) R;", "bad")
    with pytest.raises(ValueError, match="SpatialMap"):
        parse_dataflow("SpatialMap(1,1) K; SpatialMap(1,1) C; SpatialMap(1,1) X;", "bad")
    with pytest.raises(ValueError, match="integer, Sz"):
        parse_dataflow("SpatialMap(1.5,1) K;", "bad")


def test_area_power_matches_maestro_csv():
    rows = [r for r in ROWS if r["ok"] == "1"]
    f = lambda k: np.array([float(r[k]) for r in rows])
    area, power = sp.spatial_area_power(f("num_pes"), f("noc_bw_cstr"), f("csv_l1_sram_req"), f("csv_l2_sram_req"))
    np.testing.assert_allclose(area, f("csv_area"), rtol=1e-5)
    np.testing.assert_allclose(power, f("csv_power"), rtol=1e-5)


def test_offchip_energy_term_is_separate():
    rep = sp.spatial_cost(sp.conv_layer(64, 64, 3, 3, 58, 58), sp.SpatialAccelerator(256, 100, 3000, 500, 150), "rs",
                          backend="numpy")
    dram = float(rep.input_l2_write + rep.filter_l2_write + rep.output_l2_read)
    assert float(rep.energy_offchip_xmac) == sp.DRAM_ENERGY_XMAC * dram
    l2 = sum(float(getattr(rep, f"{t}_l2_{a}")) for t in ("input", "filter", "output") for a in ("read", "write"))
    l1 = sum(float(getattr(rep, f"{t}_l1_{a}")) for t in ("input", "filter", "output") for a in ("read", "write"))
    assert float(rep.energy_total_xmac) == pytest.approx(18.61 * l2 + 1.68 * l1 + float(rep.num_macs_top), rel=1e-12)


def _unit_stride_odd(df, lt):
    """_odd_points with every stride set to 1 (dims kept), MAESTRO-valid ones only."""
    layer, accel = _odd_points(lt, seed=23)
    if lt != "GEMM":
        layer = sp.SpatialLayer(layer.K, layer.C, layer.R, layer.S, layer.Y, layer.X, np.ones_like(layer.R), lt)
    keep = sp.check_spatial(layer, accel, df) == ""
    return jax.tree_util.tree_map(lambda a: np.broadcast_to(a, keep.shape)[keep], (layer, accel))


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("df", sorted(_GOLDEN))
def test_unit_stride_graph_equals_general_graph(df, backend):
    """The stride-1 specialised graph (no ApplyOuterStride) == the general graph on stride-1 layers, bit for bit."""
    lt = _GOLDEN[df][0]
    sub = _unit_stride_odd(df, lt)
    assert len(sub[0].R) > 100
    run = (lambda c: c) if backend == "numpy" else jax.jit
    a = run(sp.make_spatial_cost(df, lt, backend=backend, block=128, unit_stride=True))(*sub)
    b = run(sp.make_spatial_cost(df, lt, backend=backend, block=128, unit_stride=False))(*sub)
    for f in sp.REPORT_FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(a, f)), np.asarray(getattr(b, f)), err_msg=f)


@pytest.mark.parametrize("df", ["kcp_ws", "rs", "ykp_os", "dpt", "maeri"])
def test_strided_graph_equals_general_graph(df):
    """The strided graph (ApplyOuterStride's stride != 1 folded) == the general graph on stride 2/3 layers."""
    lt = _GOLDEN[df][0]
    layer, accel = _odd_points(lt, seed=29)
    st = np.where(np.arange(len(layer.R)) % 2 == 0, 2.0, 3.0)
    layer = sp.SpatialLayer(layer.K, layer.C, layer.R, layer.S, layer.Y, layer.X, st, lt)
    keep = sp.check_spatial(layer, accel, df) == ""
    sub = jax.tree_util.tree_map(lambda a: np.broadcast_to(a, keep.shape)[keep], (layer, accel))
    assert len(sub[0].R) > 100
    for backend in ("numpy", "jax"):
        a = sp.make_spatial_cost(df, lt, backend=backend, block=128, strided=True)(*sub)
        b = sp.make_spatial_cost(df, lt, backend=backend, block=128, unit_stride=False)(*sub)
        for f in sp.REPORT_FIELDS:
            np.testing.assert_array_equal(np.asarray(getattr(a, f)), np.asarray(getattr(b, f)), err_msg=f)


def test_spatial_cost_splits_mixed_strides():
    """spatial_cost sends stride-1 points to the stride-1 graph and the rest to the general one: same numbers."""
    sub = _valid_odd("rs", "CONV")
    st = np.asarray(sub[0].stride)
    assert (st == 1).any() and (st != 1).any()
    a = sp.spatial_cost(*sub, "rs")
    b = jax.jit(sp.make_spatial_cost("rs", "CONV", unit_stride=False))(*sub)
    for f in sp.REPORT_FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(a, f)), np.asarray(getattr(b, f)), err_msg=f)


def _grid_case(df, lt, n_layers=60, n_accels=23, seed=5):
    """Layers valid on every accelerator of a grid; accelerators repeat num_pes with varied bandwidths."""
    layer, _ = _odd_points(lt, n=4 * n_layers, seed=seed)
    rng = np.random.default_rng(seed + 1)
    pes = rng.choice([64.0, 100.0, 256.0, 1024.0], n_accels)
    accel = sp.SpatialAccelerator(pes, rng.choice([50.0, 100.0, 5000.0], n_accels), 3000.0,
                                  rng.choice([1.0, 8.0, 32.0, 300.0, 1000.0], n_accels),
                                  rng.choice([1.0, 8.0, 50.0, 350.0], n_accels), rng.choice([1.0, 2.0], n_accels))
    ok = (sp.grid_errors(layer, accel, df) == "").all(axis=1)
    layer = jax.tree_util.tree_map(lambda a: np.asarray(a)[ok][:n_layers] if np.ndim(a) else a, layer)
    return layer, accel


@pytest.mark.parametrize("df", ["rs", "dpt", "gemm_nmk", "xp_ws"])
def test_grid_equals_numpy_port_on_every_pair(df):
    """spatial_cost_grid (num_pes-grouped blocks, layer part computed once per layer) == the numpy port
    on the broadcast (layer, accelerator) pairs, bit for bit, incl. mixed strides and padded blocks."""
    lt = _GOLDEN[df][0]
    layer, accel = _grid_case(df, lt)
    assert len(layer.K if np.ndim(layer.K) else layer.C) >= 40
    if lt != "GEMM":
        st = np.asarray(layer.stride)
        assert (st == 1).any() and (st != 1).any()
    grid = sp.spatial_cost_grid(layer, accel, df, block_layers=16, block_accels=8)
    col = jax.tree_util.tree_map(lambda a: np.asarray(a)[:, None] if np.ndim(a) else a, layer)
    row = jax.tree_util.tree_map(lambda a: np.asarray(a)[None, :] if np.ndim(a) else a, accel)
    ref = sp.make_spatial_cost(df, lt, backend="numpy")(col, row)
    auto = sp.spatial_cost(col, row, df) if df == "dpt" else grid  # [L, 1] x [1, A]: routed to the grid path
    for f in sp.REPORT_FIELDS:
        g = np.asarray(getattr(grid, f))
        assert g.shape == np.shape(getattr(ref, f)), f
        np.testing.assert_array_equal(g, getattr(ref, f), err_msg=f)
        np.testing.assert_array_equal(np.asarray(getattr(auto, f)), getattr(ref, f), err_msg=f)


def test_grid_errors_equal_check_spatial_on_pairs():
    layer, _ = _odd_points("CONV", n=80, seed=3)  # strides > R, tiny dims: some pairs are rejected
    accel = sp.SpatialAccelerator(np.array([8.0, 64.0, 64.0, 1024.0, 256.0]), 100.0, 3000.0,
                                  np.array([32.0, 0.0, 32.0, 300.0, 1.5]), 50.0)
    col = jax.tree_util.tree_map(lambda a: np.asarray(a)[:, None], layer)
    row = jax.tree_util.tree_map(lambda a: np.asarray(a)[None, :] if np.ndim(a) else a, accel)
    for df in ("kcp_ws", "rs", "ykp_os"):
        got, want = sp.grid_errors(layer, accel, df), sp.check_spatial(col, row, df)
        assert (got != "").sum() > 0 and (got == "").sum() > 0
        np.testing.assert_array_equal(got != "", want != "")
        assert (got[:, 1] == "noc_bw must be a positive integer").all()


def test_grid_rejects_naming_layer_and_accelerator():
    layer = sp.conv_layer(K=np.array([64.0, 64.0]), C=64, R=3, S=3, Y=58, X=58)
    accel = sp.SpatialAccelerator(np.array([256.0, 32.0]), 100.0, 3000.0, 500.0, 150.0)
    with pytest.raises(ValueError, match=r"layer 0 on accelerator 1 with dataflow 'kcp_ws'.*num_pes"):
        sp.spatial_cost_grid(layer, accel, "kcp_ws")


def test_jit_scalar_hardware_fields_stay_exact():
    """Scalar (broadcast) bandwidths: XLA would turn x / broadcast(bw) into x * (1 / bw); the model keeps
    exact divisions (ceil(x / noc_bw) of the NoC delays)."""
    sub = _valid_odd("xp_ws", "CONV")
    layer = sub[0]
    for bw in (3.0, 7.0, 300.0):
        accel = sp.SpatialAccelerator(256.0, 100.0, 3000.0, bw, 11.0)
        a = jax.jit(sp.make_spatial_cost("xp_ws", "CONV", block=128))(layer, accel)
        b = sp.make_spatial_cost("xp_ws", "CONV", backend="numpy")(layer, accel)
        for f in sp.REPORT_FIELDS:
            np.testing.assert_array_equal(np.asarray(getattr(a, f)), np.asarray(getattr(b, f)), err_msg=f)
