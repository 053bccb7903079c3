"""Tests of the sweep engine against brute force, across chunk sizes and device counts."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.sweep._reduce import pareto_front_np
from codesign_jax.sweep import (  # the package re-exports the function `sweep`
    DesignGrid,
    DesignSpace,
    SweepResult,
    compute_cycles_cost_fn,
    evaluate_points,
    sweep,
    systolic_cost_fn,
    systolic_space,
)
from codesign_jax.workloads import Gemm
from repo_configs import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ref_cycles(M, N, K, R, C, df):
    """Independent SCALE-Sim compute-cycle formula (brute-force reference, pure Python ints).

    (Sr, Sc, T) = os (M, N, K), ws (K, N, M), is (K, M, N); F = ceil(Sr/R) * ceil(Sc/C);
    cycles = F * L - 1, L = R + C + T - 2 (os) or 2R + C + T - 2 (ws, is).
    """
    Sr, Sc, T = [(M, N, K), (K, N, M), (K, M, N)][df]
    F = (-(-Sr // R)) * (-(-Sc // C))
    return F * (R + C + T - 2 + (0 if df == 0 else R)) - 1


def small_problem(seed=0, n_wl=5):
    rng = np.random.default_rng(seed)
    g = Gemm.create(*rng.integers(1, 300, (3, n_wl)))
    # SRAM axis does not change compute cycles: every value is tied 3 ways (tie-break test).
    space = systolic_space(rows=[1, 2, 3, 4, 6, 8, 12, 16, 24, 32],
                              cols=[1, 2, 4, 8, 16, 32, 5], dataflow=("os", "ws", "is"),
                              ifmap_sram_kb=[16, 32, 64])
    return g, space


def brute(g, space):
    """``[W, D]`` cycles by the pure-Python reference."""
    v = space.grid.points(np.arange(space.size))
    out = np.empty((len(g), space.size))
    for w in range(len(g)):
        for d in range(space.size):
            out[w, d] = ref_cycles(int(g.M[w]), int(g.N[w]), int(g.K[w]), int(v["rows"][d]),
                                   int(v["cols"][d]), int(v["dataflow"][d]))
    return out


def naive_front(obj, idx):
    """All-pairs set of (tuple(obj), idx) of unbeaten finite points (definition, O(n^2))."""
    obj, idx = np.asarray(obj, float), np.asarray(idx)
    fin = np.all(np.isfinite(obj), axis=1)
    le = np.all(obj[:, None, :] <= obj[None, :, :], axis=-1)  # [j, i]: j <= i everywhere
    lt = np.any(obj[:, None, :] < obj[None, :, :], axis=-1)
    beats = le & (lt | (idx[:, None] < idx[None, :])) & fin[:, None]
    np.fill_diagonal(beats, False)
    keep = fin & ~beats.any(axis=0)
    return {(tuple(obj[i]), int(idx[i])) for i in np.flatnonzero(keep)}


def result_arrays(r: SweepResult) -> dict:
    keys = ("best_value", "best_index", "topk_value", "topk_index", "overall_value",
            "overall_workload", "overall_index", "pareto_workload", "pareto_index",
            "pareto_values", "full")
    return {k: getattr(r, k) for k in keys if getattr(r, k) is not None}


def assert_same(a: SweepResult, b: SweepResult):
    ra, rb = result_arrays(a), result_arrays(b)
    assert ra.keys() == rb.keys()
    for k in ra:
        np.testing.assert_array_equal(ra[k], rb[k], err_msg=k)


# ----------------------------------------------------------------------------- grid


def test_decode_matches_unravel_index():
    grid = DesignGrid.create(a=[3, 1, 4], b=[1.5, 9.0], c=np.arange(5))
    assert grid.shape == (3, 2, 5) and grid.size == 30
    idx = np.arange(30)
    got = grid.points(idx)
    ia, ib, ic = np.unravel_index(idx, grid.shape)
    np.testing.assert_array_equal(got["a"], np.array([3, 1, 4])[ia])
    np.testing.assert_array_equal(got["b"], np.array([1.5, 9.0])[ib])
    np.testing.assert_array_equal(got["c"], ic)
    jgot = grid.decode(jnp.asarray(idx))
    for k in got:
        np.testing.assert_array_equal(np.asarray(jgot[k]), got[k])


def test_decode_int64_beyond_2_31():
    grid = DesignGrid.create(a=np.arange(70000), b=np.arange(70000))
    assert grid.size == 4_900_000_000
    got = grid.decode(jnp.asarray([4_899_999_999, 2**31 + 5], jnp.int64))
    np.testing.assert_array_equal(np.asarray(got["a"]), [69999, (2**31 + 5) // 70000])
    np.testing.assert_array_equal(np.asarray(got["b"]), [69999, (2**31 + 5) % 70000])


@pytest.mark.parametrize("kw, field", [
    ({"rows": [4, 0]}, "rows"),
    ({"dataflow": ["os", "xs"]}, "dataflow"),
    ({"bw_mode": "FAST"}, "bw_mode"),
    ({"ifmap_sram_kb": [[1, 2]]}, "ifmap_sram_kb"),
])
def test_systolic_space_errors_name_the_field(kw, field):
    args = {"rows": [4, 8], "cols": [4, 8]}
    args.update(kw)
    with pytest.raises(ValueError, match=field):
        systolic_space(**args)


def test_grid_axis_errors():
    with pytest.raises(ValueError, match="'bad'"):
        DesignGrid.create(bad=[])
    with pytest.raises(ValueError, match="'x'"):
        DesignGrid.create(x=[1.0, np.nan])


# ------------------------------------------------------------------ reductions vs brute force


@pytest.fixture(scope="module")
def problem():
    g, space = small_problem()
    return g, space, brute(g, space)


def test_argmin_topk_overall_match_brute_force(problem):
    g, space, ref = problem
    r = sweep(compute_cycles_cost_fn(), g, space, "latency", top_k=4, overall_top_k=6,
                 chunk_size=64)
    np.testing.assert_array_equal(r.best_value, ref.min(1))
    np.testing.assert_array_equal(r.best_index, ref.argmin(1))  # first = lowest index
    order = np.lexsort((np.arange(space.size)[None].repeat(len(g), 0), ref), axis=1)
    np.testing.assert_array_equal(r.topk_index, order[:, :4])
    np.testing.assert_array_equal(r.topk_value, np.take_along_axis(ref, order[:, :4], 1))
    w, d = np.meshgrid(np.arange(len(g)), np.arange(space.size), indexing="ij")
    o = np.lexsort((d.ravel(), w.ravel(), ref.ravel()))[:6]
    np.testing.assert_array_equal(r.overall_value, ref.ravel()[o])
    np.testing.assert_array_equal(r.overall_workload, w.ravel()[o])
    np.testing.assert_array_equal(r.overall_index, d.ravel()[o])
    # ties exist: the three SRAM sizes of the winner give the same cycles
    assert np.all(r.topk_value[:, 0] == r.topk_value[:, 1])
    assert r.stats.compiles == 1


def test_results_independent_of_chunk_size_and_blocks(problem):
    g, space, _ = problem
    kw = {"objectives": ["latency", ("pes", lambda m: m["pes"])], "top_k": 3, "overall_top_k": 5,
              "pareto": True, "full": True}
    cost = _cycles_and_pes()
    base = sweep(cost, g, space, chunk_size=space.size, **kw)
    assert base.stats.n_chunks == 1
    for cs, blk in ((8, 2), (24, 5), (100, 3), (None, 4096)):
        r = sweep(cost, g, space, chunk_size=cs, workload_block=blk, **kw)
        assert_same(base, r)
        assert r.stats.compiles == 1, (cs, blk)  # partial last chunk/block masked, not retraced


def _cycles_and_pes():
    base = compute_cycles_cost_fn()

    def cost(g, a):
        m = base(g, a)
        m["pes"] = jnp.asarray(a.rows * a.cols, jnp.float64) + 0 * m["total_cycles"]
        return m

    return cost


def test_full_results_match_brute_force(problem):
    g, space, ref = problem
    r = sweep(compute_cycles_cost_fn(), g, space, "latency", full=True, chunk_size=48)
    np.testing.assert_array_equal(r.full[0], ref)


@pytest.mark.parametrize("n_obj", [2, 3])
@pytest.mark.parametrize("cap", [256, 1])
def test_pareto_front_matches_naive(problem, n_obj, cap):
    g, space, ref = problem
    v = space.grid.points(np.arange(space.size))
    objs = [("latency", lambda m: m["total_cycles"]), ("pes", lambda m: m["pes"]),
            ("sram", lambda m: m["sram"])][:n_obj]

    def cost(gg, a):
        m = _cycles_and_pes()(gg, a)
        m["sram"] = jnp.asarray(a.ifmap_sram_kb, jnp.float64) + 0 * m["total_cycles"]
        return m

    r = sweep(cost, g, space, objs, pareto=True, chunk_size=32, pareto_capacity=cap)
    if cap == 1:
        assert r.stats.pareto_fallbacks > 0  # the exact host fallback was exercised
    cols = [ref, (v["rows"] * v["cols"]).astype(float), v["ifmap_sram_kb"].astype(float)]
    for w in range(len(g)):
        o = np.stack([np.broadcast_to(c[w] if c.ndim == 2 else c, (space.size,))
                      for c in cols[:n_obj]], 1)
        want = naive_front(o, np.arange(space.size))
        sel = r.pareto_workload == w
        got = {(tuple(x), int(i)) for x, i in zip(r.pareto_values[sel], r.pareto_index[sel])}
        assert got == want


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3).flatmap(lambda m: st.lists(
    st.tuples(*[st.sampled_from([0.0, 1.0, 2.0, 3.0, np.inf])] * m), min_size=1,
    max_size=25)))
def test_pareto_front_np_is_exact_and_merges(points):
    obj = np.asarray(points, float)
    idx = np.random.default_rng(len(points)).permutation(len(points)) * 3
    want = naive_front(obj, idx)
    keep = pareto_front_np(obj, idx)
    assert {(tuple(obj[i]), int(idx[i])) for i in keep} == want
    # front(A u B) == front(front(A) u B)
    h = len(obj) // 2
    ka = pareto_front_np(obj[:h], idx[:h])
    o2 = np.concatenate([obj[:h][ka], obj[h:]])
    i2 = np.concatenate([idx[:h][ka], idx[h:]])
    k2 = pareto_front_np(o2, i2)
    assert {(tuple(o2[i]), int(i2[i])) for i in k2} == want


def test_segmented_networks_sum_layers_and_match_brute_force(problem):
    g, space, ref = problem
    seg = np.array([1, 0, 1, 2, 1])
    r = sweep(compute_cycles_cost_fn(), g, space, "latency", segment_ids=seg, top_k=2,
                 chunk_size=40)
    net = np.stack([ref[seg == s].sum(0) for s in range(3)])
    np.testing.assert_array_equal(r.best_value, net.min(1))
    np.testing.assert_array_equal(r.best_index, net.argmin(1))
    assert r.stats.points == len(g) * space.size


def test_mac_budget_masks_designs_and_reports_none():
    g = Gemm.create([64], [64], [64])
    space = systolic_space(rows=[2, 4, 8, 16], cols=[2, 4, 8, 16], dataflow="os",
                              max_macs=32)
    r = sweep(compute_cycles_cost_fn(), g, space, "latency", top_k=16)
    v = space.grid.points(r.topk_index[0][r.topk_index[0] >= 0])
    assert np.all(v["rows"] * v["cols"] <= 32)
    n_fit = sum(r * c <= 32 for r in (2, 4, 8, 16) for c in (2, 4, 8, 16))  # 10 of 16
    assert np.sum(r.topk_index[0] >= 0) == n_fit
    assert np.all(np.isinf(r.topk_value[0][n_fit:])) and np.all(r.topk_index[0][n_fit:] == -1)
    none = systolic_space(rows=[2, 4], cols=[2, 4], min_macs=1000)
    r = sweep(compute_cycles_cost_fn(), g, none, "latency")
    assert r.best_index[0] == -1 and np.isinf(r.best_value[0])


@pytest.mark.parametrize("kw, match", [
    ({"chunk_size": 7, "top_k": 8}, "chunk_size"),
    ({"top_k": -1}, "top_k"),
    ({"objectives": "nope"}, "nope"),
    ({"pareto": True}, "pareto"),
    ({"segment_ids": [0, 1]}, "segment_ids"),
    ({"num_segments": 2}, "num_segments"),
])
def test_sweep_validation_names_the_field(problem, kw, match):
    g, space, _ = problem
    with pytest.raises(ValueError, match=match):
        sweep(compute_cycles_cost_fn(), g, space, **kw)


def test_progress_bar_can_be_forced_and_disabled(problem, capsys):
    g, space, _ = problem
    sweep(compute_cycles_cost_fn(), g, space, chunk_size=16, progress=True)
    assert "sweep" in capsys.readouterr().err
    sweep(compute_cycles_cost_fn(), g, space, chunk_size=16, progress=False)
    assert "sweep" not in capsys.readouterr().err


def test_full_systolic_metrics_plug_in():
    g = Gemm.create([100, 7], [30, 300], [64, 9])
    space = systolic_space(rows=[4, 8, 16], cols=[4, 8, 16], dataflow=("os", "ws", "is"),
                              ifmap_sram_kb=[1, 64], bw_mode="USER", bandwidth=[1, 8])
    r = sweep(systolic_cost_fn(), g, space, ["total_cycles", "dram_ifmap_reads"],
                 full=True, chunk_size=16)
    from codesign_jax.systolic import systolic_metrics
    v = space.grid.points(np.arange(space.size))
    a = space.build({k: jnp.asarray(x) for k, x in v.items()})
    gg = Gemm(M=g.M[:, None], N=g.N[:, None], K=g.K[:, None],
              ifmap_unique=g.ifmap_unique[:, None], ifmap_valid=g.ifmap_valid[:, None])
    m = systolic_metrics(np, gg, a)
    np.testing.assert_array_equal(r.full[0], m["total_cycles"])
    np.testing.assert_array_equal(r.full[1], m["dram_ifmap_reads"])


# ------------------------------------------------------------------------- devices


_DEVICE_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    import jax
    sys.path[:0] = [{tests!r}, {helpers!r}]  # test_engine and the tests/ helpers conftest puts on the path
    from test_engine import device_case
    assert len(jax.devices()) == {n}, jax.devices()
    r = device_case()
    np.savez({out!r}, **{{k: v for k, v in __import__('test_engine').result_arrays(r).items()}},
             n_devices=r.stats.n_devices, compiles=r.stats.compiles)
""")


def device_case():
    g, space = small_problem(seed=3, n_wl=6)
    seg = np.array([0, 0, 1, 1, 1, 2])
    kw = {"objectives": ["latency", ("pes", lambda m: m["pes"])], "top_k": 3, "overall_top_k": 4,
              "pareto": True, "chunk_size": 64, "pareto_capacity": 16}
    a = sweep(_cycles_and_pes(), g, space, full=True, **kw)
    b = sweep(_cycles_and_pes(), g, space, segment_ids=seg, **kw)
    return SweepResult(
        best_value=np.concatenate([a.best_value, b.best_value]),
        best_index=np.concatenate([a.best_index, b.best_index]),
        topk_value=np.concatenate([a.topk_value, b.topk_value]),
        topk_index=np.concatenate([a.topk_index, b.topk_index]),
        overall_value=np.concatenate([a.overall_value, b.overall_value]),
        overall_workload=np.concatenate([a.overall_workload, b.overall_workload]),
        overall_index=np.concatenate([a.overall_index, b.overall_index]),
        pareto_workload=np.concatenate([a.pareto_workload, b.pareto_workload + 100]),
        pareto_index=np.concatenate([a.pareto_index, b.pareto_index]),
        pareto_values=np.concatenate([a.pareto_values, b.pareto_values]),
        full=a.full, stats=a.stats)


def _run_devices(n, tmp_path):
    out = str(tmp_path / f"dev{n}.npz")
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}",
               JAX_PLATFORMS="cpu")
    code = _DEVICE_SCRIPT.format(tests=os.path.join(ROOT, "tests", "sweep"), helpers=os.path.join(ROOT, "tests"),
                                 n=n, out=out)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT, timeout=300)
    return dict(np.load(out))


def test_four_forced_host_devices_equal_one_device(tmp_path):
    one = result_arrays(device_case())
    four = _run_devices(4, tmp_path)
    assert int(four.pop("n_devices")) == 4 and int(four.pop("compiles")) == 1
    assert one.keys() == four.keys()
    for k in one:
        np.testing.assert_array_equal(one[k], four[k], err_msg=k)


# ---------------------------------------------------------------------- benchmark


def test_bench_suite_record_and_brute_force_check():
    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    import bench_sweep

    rec = bench_sweep.run_sweep_suite(300_000, chunk_size=4096)
    for k in ("points", "seconds", "points_per_s", "device", "n_devices", "argmin_checked",
              "argmin_mismatches"):
        assert k in rec
    assert rec["points"] >= 300_000 and rec["argmin_checked"] >= 1
    assert rec["argmin_mismatches"] == 0
    json.dumps(rec)


@pytest.mark.slow
def test_bench_1e8_points_flat_memory():
    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    import bench_sweep

    rec = bench_sweep.run_sweep_suite(100_000_000)
    assert rec["argmin_mismatches"] == 0 and rec["peak_rss_mib"] < 2048


# ------------------------------------------------------------------ design metrics, experiment


def test_design_metrics_are_not_summed_over_layers(problem):
    g, space, ref = problem
    seg = np.array([0, 0, 0, 1, 1])
    r = sweep(compute_cycles_cost_fn(), g, space, ["area", "latency"], segment_ids=seg,
                 top_k=2, chunk_size=256)
    v = space.grid.points(r.topk_index.reshape(-1))
    a = space.build(v)
    from codesign_jax.systolic import default_energy_table, systolic_area_mm2
    want = systolic_area_mm2(np, a.rows, a.cols, a.ifmap_sram_kb, a.filter_sram_kb,
                             a.ofmap_sram_kb, default_energy_table())
    np.testing.assert_allclose(r.topk_value.reshape(-1), want, rtol=0, atol=0)
    m = evaluate_points(compute_cycles_cost_fn(), g, space, r.topk_index,
                           segment_ids=seg)
    np.testing.assert_array_equal(m["area_mm2"], r.topk_value)
    net = np.stack([ref[seg == s].sum(0) for s in range(2)])
    np.testing.assert_array_equal(m["total_cycles"],
                                  np.take_along_axis(net, r.topk_index, 1))


def test_area_budget_is_respected():
    g = Gemm.create([256], [256], [256])
    space = systolic_space(rows=[8, 32, 128], cols=[8, 32, 128], ifmap_sram_kb=[64, 512],
                              max_area_mm2=0.5)
    r = sweep(compute_cycles_cost_fn(), g, space, "latency", full=True)
    from codesign_jax.systolic import default_energy_table, systolic_area_mm2
    v = space.grid.points(np.arange(space.size))
    a = space.build(v)
    area = systolic_area_mm2(np, a.rows, a.cols, a.ifmap_sram_kb, a.filter_sram_kb,
                             a.ofmap_sram_kb, default_energy_table())
    assert np.all(np.isinf(r.full[0, 0][area > 0.5])) and np.all(np.isfinite(
        r.full[0, 0][area <= 0.5]))
    assert area[r.best_index[0]] <= 0.5


def _check_experiment_outputs(tmp_path, cfg, summary, objective, pareto):
    for f in ("best_designs.csv", "best_designs.json", "pareto.csv", "pareto.json",
              "pareto.png", "summary.json"):
        assert (tmp_path / f).stat().st_size > 0, f
    best = json.loads((tmp_path / "best_designs.json").read_text())["rows"]
    assert [r["rank"] for r in best] == list(range(1, cfg.top_k + 1))
    assert all(r["rows"] * r["cols"] <= cfg.max_macs for r in best)
    assert all(a[objective] <= b[objective] for a, b in itertools.pairwise(best))
    front = json.loads((tmp_path / "pareto.json").read_text())
    assert front["objectives"] == list(pareto)
    o = np.array([[r[p] for p in pareto] for r in front["rows"]])
    for i in range(len(o)):  # no front point dominates another
        assert not np.any(np.all(o <= o[i], 1) & np.any(o < o[i], 1))
    assert summary["points"] == summary["layers"] * summary["designs"]
    return best


def test_sweep_experiment_tiny_end_to_end(tmp_path):
    from codesign_jax.sweep import experiment

    cfg = load_config("sweep_tiny")
    summary = experiment.run(cfg, str(tmp_path))
    best = _check_experiment_outputs(tmp_path, cfg, summary, "latency", cfg.pareto_objectives)
    # brute force: network latency of every design under the MAC budget
    _names, layers, seg = experiment.load_networks(cfg.networks)
    space = experiment.space_from_config(cfg)
    v = space.grid.points(np.arange(space.size))
    lat = [sum(ref_cycles(int(layers.M[i]), int(layers.N[i]), int(layers.K[i]),
                          int(v["rows"][d]), int(v["cols"][d]), int(v["dataflow"][d]))
               for i in range(len(seg))) if v["rows"][d] * v["cols"][d] <= cfg.max_macs
           else np.inf for d in range(space.size)]
    assert best[0]["latency"] == min(lat) and best[0]["design_index"] == int(np.argmin(lat))


@pytest.mark.slow
def test_sweep_experiment_full_systolic_model(tmp_path):
    from codesign_jax.sweep import experiment

    cfg = load_config("sweep_tiny")
    with cfg.unlocked():
        cfg.model, cfg.objective = "systolic", "edp"
        cfg.pareto_objectives = ("latency", "energy", "area")
    summary = experiment.run(cfg, str(tmp_path))
    best = _check_experiment_outputs(tmp_path, cfg, summary, "edp", cfg.pareto_objectives)
    assert best[0]["edp"] == best[0]["latency"] * best[0]["energy"]


def test_sweep_experiment_cli(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "experiments", "sweep.py"), "--config",
         os.path.join(ROOT, "configs", "sweep_tiny.py"), "--workdir", str(tmp_path),
         "--config.objective=latency", "--config.plot=False"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    best = json.loads((tmp_path / "best_designs.json").read_text())["rows"]
    assert best[0]["latency"] <= best[-1]["latency"]
    bad = subprocess.run(
        [sys.executable, os.path.join(ROOT, "experiments", "sweep.py"), "--config",
         os.path.join(ROOT, "configs", "sweep_tiny.py"), "--workdir", str(tmp_path),
         "--config.networks=('no_such_net',)"], check=False, cwd=ROOT, capture_output=True,
        text=True,
        timeout=300)
    assert bad.returncode != 0 and "no_such_net" in bad.stderr


@pytest.mark.slow  # the spatial model compiles for ~40 s on 2 cores
def test_spatial_accelerator_axes_plug_in():
    """The engine is model-agnostic: sweep MAESTRO-style accelerator axes with codesign_jax.spatial."""
    from codesign_jax import spatial
    layers = spatial.conv_layer(K=np.array([64, 16]), C=np.array([64, 32]), R=3, S=3,
                                Y=np.array([58, 30]), X=np.array([58, 30]))
    layers = spatial.SpatialLayer(*(np.broadcast_to(np.asarray(getattr(layers, f)), (2,))
                                    for f in ("K", "C", "R", "S", "Y", "X", "stride")), "CONV")
    space = DesignSpace(
        grid=DesignGrid.create(num_pes=[16, 64, 256], noc_bw=[8, 64, 512],
                                  l2_size=[1000, 3000]),
        build=lambda v: spatial.SpatialAccelerator(num_pes=v["num_pes"], l1_size=100,
                                                   l2_size=v["l2_size"], noc_bw=v["noc_bw"],
                                                   offchip_bw=150))
    model = spatial.make_spatial_cost("kcp_ws", "CONV")

    def cost(layer, accel):
        rep = model(layer, accel)
        return {f: getattr(rep, f) for f in spatial.REPORT_FIELDS}

    r = sweep(cost, layers, space, ["runtime_cycles", "energy_total_xmac"], full=True,
                 pareto=True, chunk_size=8)
    v = space.grid.points(np.arange(space.size))
    acc = space.build(v)
    direct = model(spatial.SpatialLayer(*(np.asarray(getattr(layers, f))[:, None] for f in
                                          ("K", "C", "R", "S", "Y", "X", "stride")), "CONV"),
                   acc)
    # combinations the model rejects (num_pes below the cluster size: NaN) are +inf in sweeps
    want = np.asarray(direct.runtime_cycles)
    want = np.where(np.isnan(want), np.inf, want)
    np.testing.assert_array_equal(r.full[0], want)
    np.testing.assert_array_equal(r.best_index, np.argmin(want, 1))
    for w in range(2):
        o = np.stack([np.asarray(direct.runtime_cycles)[w],
                      np.asarray(direct.energy_total_xmac)[w]], 1)
        sel = r.pareto_workload == w
        got = {(tuple(x), int(i)) for x, i in zip(r.pareto_values[sel], r.pareto_index[sel])}
        assert got == naive_front(o, np.arange(space.size))
