"""Named dataflow constants as per-point inputs: exact against 600 real MAESTRO runs of ConfuciuX's mapping files."""

import csv
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import codesign_jax  # noqa: F401
from codesign_jax import spatial as sp

DATA = pathlib.Path(__file__).parents[1] / "data" / "maestro_confuciux"
ROWS = list(csv.DictReader(open(DATA / "confuciux_reference.csv")))
MAPPINGS = pathlib.Path(__file__).parents[2] / "codesign_jax" / "data" / "confuciux"
DF = {n: sp.parse_dataflow((MAPPINGS / f"{n}.m").read_text(), n).bind(ClusterSz="num_pes") for n in ("dla", "eye", "shi")}
# ConfuciuX's flags (confuciux.md): unlimited buffers and NoC, off-chip bandwidth MAESTRO's default, hop latency 1.
HW = dict(l1_size=819200000.0, l2_size=819200000.0, noc_bw=81920000.0, offchip_bw=70000.0, noc_hops=1.0)


def _take(a, i):
    return np.asarray(a)[i] if np.ndim(a) else a


def _batch(rows, **consts):
    f = lambda k: np.array([float(r[k]) for r in rows])
    layer = sp.conv_layer(f("K"), f("C"), f("R"), f("S"), f("Y"), f("X"))
    accel = sp.SpatialAccelerator(f("num_pes"), **HW, constants={"KTileSz": f("ktile"), **consts})
    return layer, accel


@pytest.mark.parametrize("name", sorted(DF))
def test_confuciux_runs_exact_and_degenerate_rows_flagged(name):
    """Every run: runtime, MACs and L2/L1 counts equal MAESTRO's; its degenerate runs (runtime 0) get code 1."""
    rows = [r for r in ROWS if r["df"] == name]
    layer, accel = _batch(rows)
    assert (sp.check_spatial(layer, accel, DF[name]) == "").all()
    rep = sp.spatial_cost(layer, accel, DF[name], backend="numpy")
    for ours, theirs in (("runtime_cycles", "runtime_cycles"), ("num_macs_top", "num_macs"),
                         ("input_l2_read", "input_l2_read"), ("filter_l2_read", "filter_l2_read"),
                         ("output_l2_write", "output_l2_write"), ("output_l1_write", "output_l1_write"),
                         ("peak_noc_bw_req", "peak_noc_bw_req"), ("offchip_bw_req", "offchip_bw_req")):
        np.testing.assert_array_equal(np.asarray(getattr(rep, ours)), [float(r[theirs]) for r in rows], err_msg=ours)
    degenerate = np.array([float(r["runtime_cycles"]) <= 0 for r in rows])
    # Buffer requirements match where MAESTRO's answer is meaningful (not on its runtime-0 runs).
    l2 = sum(np.asarray(getattr(rep, f"{t}_l2_size_req")) for t in ("input", "filter", "output"))
    np.testing.assert_array_equal(l2[~degenerate], [float(r["l2_size_req"]) for r, d in zip(rows, degenerate) if not d])
    np.testing.assert_array_equal(np.asarray(rep.degenerate) == 1, degenerate)
    assert (np.asarray(rep.degenerate) != 1).sum() > 0 and np.asarray(rep.degenerate)[~degenerate].max() == 0
    err = sp.degenerate_errors(rep)
    assert all("runtime 0" in e for e in err[degenerate]) and (err[~degenerate] == "").all()
    if name != "dla":
        assert degenerate.any()  # eye and shi have MAESTRO-degenerate runs in this set


def test_traced_constant_equals_substituted_integer():
    """A constant given per point (traced) gives the numbers of the same dataflow with the integer written in."""
    rows = [r for r in ROWS if r["df"] == "eye"][:40]
    layer, accel = _batch(rows)
    rep = sp.make_spatial_cost(DF["eye"], "CONV", backend="numpy")(layer, accel)
    for i, r in enumerate(rows):
        fixed = DF["eye"].substitute({"KTileSz": int(r["ktile"]), "CTileSz": 1, "ClusterSz": int(r["num_pes"])})
        assert not fixed.constant_names
        one = sp.make_spatial_cost(fixed, "CONV", backend="numpy")(
            jax.tree.map(lambda a: _take(a, i), layer), sp.SpatialAccelerator(float(r["num_pes"]), **HW))
        for f in sp.REPORT_FIELDS:
            assert float(getattr(one, f)) == float(np.asarray(getattr(rep, f))[i]) or (
                np.isnan(float(getattr(one, f))) and np.isnan(np.asarray(getattr(rep, f))[i])), (f, r)


XP = sp.parse_dataflow("Constant KT 4; TemporalMap(KT,KT) K; TemporalMap(1,1) C; TemporalMap(Sz(R),1) Y; "
                       "SpatialMap(Sz(S),1) X; TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S;", "xp_kt")


def test_one_compiled_graph_serves_every_constant_value():
    layer = sp.conv_layer(*(jnp.full(8, v) for v in (64.0, 32.0, 3.0, 3.0, 30.0, 30.0)))
    traces = []

    def fn(layer, accel):
        traces.append(1)
        return sp.make_spatial_cost(XP, "CONV", unit_stride=True)(layer, accel)

    f = jax.jit(fn)
    outs = [f(layer, sp.SpatialAccelerator(64.0, 100.0, 3000.0, 64.0, 32.0, constants={"KT": jnp.full(8, float(k))}))
            for k in (1, 4, 7)]
    assert len(traces) == 1
    for k, out in zip((1, 4, 7), outs):
        ref = sp.make_spatial_cost(XP.bind(KT=k), "CONV", backend="numpy")(
            jax.tree.map(lambda a: _take(a, 0), layer), sp.SpatialAccelerator(64.0, 100.0, 3000.0, 64.0, 32.0))
        for f in sp.REPORT_FIELDS:
            assert float(getattr(out, f)[0]) == float(getattr(ref, f)), f
    assert len({float(o.output_l1_write[0] + o.peak_noc_bw_req[0]) for o in outs}) == 3  # it changes the answer


def test_default_binding_and_missing_constant_errors():
    layer = sp.conv_layer(64.0, 32.0, 3.0, 3.0, 30.0, 30.0)
    accel = sp.SpatialAccelerator(64.0, 100.0, 3000.0, 64.0, 32.0)
    default = sp.spatial_cost(layer, accel, XP, backend="numpy")  # KT from 'Constant KT 4;'
    given = sp.spatial_cost(layer, accel.replace(constants={"KT": 4.0}), XP, backend="numpy")
    assert float(default.runtime_cycles) == float(given.runtime_cycles)
    bare = sp.parse_dataflow("TemporalMap(KT,KT) K; TemporalMap(1,1) C; TemporalMap(Sz(R),1) Y; "
                             "SpatialMap(Sz(S),1) X; TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S;", "bare")
    with pytest.raises(ValueError, match="constant KT has no value"):
        sp.spatial_cost(layer, accel, bare, backend="numpy")
    bad = sp.check_spatial(layer, accel.replace(constants={"KT": np.array([2.0, 0.0, 1.5])}), XP)
    assert list(bad) == ["", "constant KT must be a positive integer", "constant KT must be an integer"]
    with pytest.raises(ValueError, match="ClusterSz may be bound to"):
        XP.bind(ClusterSz="l2_size")
    with pytest.raises(ValueError, match="must be a positive integer"):
        sp.parse_dataflow("Constant KT 0; TemporalMap(KT,KT) K;", "zero")
    # A constant on an R TemporalMap: MAESTRO's size == offset check runs once the value is known.
    rs = sp.parse_dataflow("TemporalMap(1,1) K; TemporalMap(RT,RT) R; TemporalMap(Sz(S),Sz(S)) S; "
                           "SpatialMap(1,1) C;", "rt")
    err = sp.check_spatial(sp.conv_layer(8.0, 8.0, 3.0, 3.0, 9.0, 9.0),
                           accel.replace(constants={"RT": np.array([3.0, 2.0])}), rs)
    assert err[0] == "" and "must cover Sz(R)" in err[1]


GEMM_KT = sp.parse_dataflow("TemporalMap(1,1) N; SpatialMap(1,1) M; TemporalMap(KT,KT) K; Cluster(CL, P); "
                            "TemporalMap(1,1) N; TemporalMap(1,1) M; SpatialMap(1,1) K;", "gemm_kt").bind(CL="num_pes")


def test_cluster_bound_to_num_pes_and_grid_path():
    """CL = num_pes follows the PE count; the layers x accelerators grid (jitted) equals the numpy pairs."""
    rng = np.random.default_rng(3)
    layer = sp.gemm_layer(rng.integers(1, 300, 12).astype(float), rng.integers(1, 300, 12).astype(float),
                          rng.integers(1, 300, 12).astype(float))
    pes, kt = np.array([4.0, 4.0, 16.0, 16.0, 33.0]), np.array([1.0, 5.0, 2.0, 12.0, 3.0])
    accel = sp.SpatialAccelerator(pes, **HW, constants={"KT": kt})
    grid = sp.spatial_cost_grid(layer, accel, GEMM_KT, block_layers=8, block_accels=2)
    pair = lambda a, ax: np.broadcast_to(np.expand_dims(np.asarray(a), ax) if np.ndim(a) else a, (12, 5)).reshape(-1)
    flat = sp.spatial_cost(jax.tree.map(lambda a: pair(a, 1), layer), jax.tree.map(lambda a: pair(a, 0), accel),
                           GEMM_KT, backend="numpy")
    for f in sp.REPORT_FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(grid, f)).reshape(-1), np.asarray(getattr(flat, f)), err_msg=f)
    explicit = sp.spatial_cost(layer, sp.SpatialAccelerator(16.0, **HW, constants={"KT": 2.0, "CL": 16.0}),
                               GEMM_KT, backend="numpy")
    np.testing.assert_array_equal(np.asarray(explicit.runtime_cycles), np.asarray(grid.runtime_cycles)[:, 2])
    assert len(np.unique(np.asarray(grid.runtime_cycles)[0])) > 2
