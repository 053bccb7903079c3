"""End to end: configs/airchitect_tiny.py in a temp dir (metrics.json, curves, both predictors),
Predictor.load round trip against the exact cost model, predict's ValueErrors, rerun = resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.airchitect import Predictor
from codesign_jax.airchitect.experiment import run
from codesign_jax.systolic import compute_cycles
from repo_configs import load_config

KEYS = ("case", "n_test", "test_accuracy", "geomean_perf_ratio", "min_perf_ratio", "within_1pct",
        "train_seconds", "label_seconds")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    wd = tmp_path_factory.mktemp("tiny")
    return wd, run(load_config("airchitect_tiny"), str(wd))


def test_tiny_run_writes_metrics_curves_and_predictors(tiny):
    wd, m = tiny
    on_disk = json.loads((wd / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(m))
    for k in KEYS:
        assert k in m and k in m["baseline"] or k == "case", k
    assert m["case"] == "tiny" and m["n_test"] == 128
    for r in (m, m["baseline"]):
        assert 0 <= r["test_accuracy"] <= 1 and 0 < r["min_perf_ratio"] <= r["geomean_perf_ratio"] <= 1
        assert r["within_1pct"] >= r["test_accuracy"]
    assert (wd / "curves.png").stat().st_size > 1000
    lat = m["latency"]
    assert lat["queries"] == 32 and lat["predict_us_per_query"] > 0
    assert lat["exhaustive_search_us_per_query"] > 0


def test_predictor_load_round_trip_is_exact(tiny):
    wd, m = tiny
    rng = np.random.default_rng(7)
    M, N, K = rng.integers(1, 65, (3, 40))
    budget = 2 ** rng.integers(4, 7, 40)
    for which in ("ours", "baseline"):
        p = Predictor.load(str(wd), which)
        out = p.predict(M, N, K, budget)
        assert set(out) >= {"rows", "cols", "dataflow", "cycles"} and out["rows"].shape == (40,)
        code = np.array([{"os": 0, "ws": 1, "is": 2}[d] for d in out["dataflow"]])
        assert np.all(out["rows"] * out["cols"] <= budget)
        np.testing.assert_array_equal(out["cycles"],
                                      compute_cycles(np, M, N, K, out["rows"], out["cols"], code))
        # keywords, broadcasting and a saved-and-reloaded copy give the same answer
        again = Predictor.load(str(wd), which).predict(M=M, N=N, K=K, budget=budget)
        for k in out:
            np.testing.assert_array_equal(out[k], again[k])
        grid = p.predict(M[:4, None], N[None, :3], 8, 32)
        assert grid["rows"].shape == (4, 3)
        # a budget between powers of two allows the same designs as the power below it
        odd = p.predict(M, N, K, budget + budget // 3)
        for k in out:
            np.testing.assert_array_equal(out[k], odd[k])


def test_test_metrics_score_the_saved_predictor(tiny):
    """metrics.json's accuracy is what the saved predictor scores on the test split (re-derived
    here against a brute-force optimum over every feasible class)."""
    wd, m = tiny
    cfg = load_config("airchitect_tiny")
    p = Predictor.load(str(wd))
    x = p.case.sample(np.random.default_rng([cfg.seed, 2]), cfg.n_test)
    out = p.predict(**x)
    cls = p.case.classes
    best = np.array([min(compute_cycles(np, x["M"][i], x["N"][i], x["K"][i], cls["rows"][j],
                                        cls["cols"][j], cls["dataflow"][j])
                         for j in range(p.case.n_classes) if cls["pes"][j] <= x["budget"][i])
                     for i in range(cfg.n_test)])
    assert np.mean(out["cycles"] == best) == pytest.approx(m["test_accuracy"])
    assert np.exp(np.mean(np.log(best / out["cycles"]))) == pytest.approx(m["geomean_perf_ratio"])


@pytest.mark.parametrize("kw, field", [
    (dict(M=0), "M"), (dict(N=-4), "N"), (dict(K=np.nan), "K"), (dict(budget=2), "budget"),
    (dict(budget=np.nan), "budget"), (dict(M=2.5), "M"), (dict(K=np.inf), "K"),
])
def test_predict_rejects_bad_input_naming_the_field(tiny, kw, field):
    p = Predictor.load(str(tiny[0]))
    q = dict(M=np.array([8, 9]), N=np.array([8, 9]), K=np.array([8, 9]), budget=np.array([64, 64]))
    q.update({k: np.array([8, v]) for k, v in kw.items()})
    with pytest.raises(ValueError, match=rf"^{field} "):
        p.predict(**q)


def test_predict_rejects_wrong_names_and_missing_predictor(tiny, tmp_path):
    p = Predictor.load(str(tiny[0]))
    with pytest.raises(ValueError, match="unknown input"):
        p.predict(M=1, N=1, K=1, budget=64, rows=4)
    with pytest.raises(ValueError, match="missing input"):
        p.predict(1, 2, 3)
    with pytest.raises(ValueError, match="both positionally and by keyword"):
        p.predict(1, 2, 3, 64, M=4)
    with pytest.raises(ValueError, match="no saved predictor"):
        Predictor.load(str(tmp_path))
    with pytest.raises(ValueError, match="which"):
        Predictor.load(str(tiny[0]), "best")


def test_rerun_in_same_workdir_resumes_to_same_metrics(tiny):
    """A second run in the workdir reads the cached labels and the finished checkpoints: the
    same predictions and metrics (training is not redone)."""
    wd, m = tiny
    again = run(load_config("airchitect_tiny"), str(wd))
    for k in ("test_accuracy", "geomean_perf_ratio", "min_perf_ratio", "within_1pct"):
        assert again[k] == m[k] and again["baseline"][k] == m["baseline"][k]
    assert again["label_seconds"] == m["label_seconds"]     # cached splits, not relabelled


@pytest.mark.slow   # its own compilations: 58 s here at load ~8 on 2 cores
def test_tiny_case3_run_with_pair_max_head(tmp_path):
    """Case 3 end to end with our pair model: metrics, and the saved predictor's assignments are
    permutations whose makespan is the reported cycles."""
    cfg = load_config("airchitect_tiny")
    cfg.name, cfg.case, cfg.models = "tiny3", "sched", ("ours",)
    cfg.case_params = dict(max_dim=64, min_log2_array=1, max_log2_array=3, n_buckets=8)
    cfg.ours.model = dict(kind="pairmax", width=8, depth=1, inv_temp=30.0)
    cfg.ours.train.ridge_init = False
    m = run(cfg, str(tmp_path))
    assert m["case"] == "tiny3" and m["n_classes"] == 24 and 0 < m["geomean_perf_ratio"] <= 1
    p = Predictor.load(str(tmp_path))
    x = p.case.sample(np.random.default_rng(9), 16)
    out = p.predict(**x)
    assert np.all(np.sort(out["assignment"], axis=1) == np.arange(4))
    np.testing.assert_array_equal(out["cycles"], out["array_cycles"].max(axis=1))
    with pytest.raises(ValueError, match="^rows "):
        p.predict(**dict(x, rows=np.zeros((16, 4))))


def test_tiny_case2_run_with_factor_head_and_exact_rerank(tmp_path):
    """Case 2 end to end (numpy USER model, no pool compilation) with the factor head and
    rerank 2: the reranked answer is never worse than the model's own best-scoring class (an
    optimal top class stays the answer), and the saved predictor reproduces the metrics."""
    cfg = load_config("airchitect_tiny")
    cfg.name, cfg.case, cfg.models = "tiny2", "sram", ("ours",)
    cfg.n_train, cfg.n_val, cfg.n_test = 256, 64, 64
    cfg.case_params = dict(max_dim=48, min_log2_array=2, max_log2_array=3, max_log2_bandwidth=1,
                           backend="numpy", rerank=2, rerank_waves=2)
    cfg.ours.model = dict(kind="factor", factors=(11, 11, 11), width=16, depth=1, full=False,
                          inv_temp=1.0)
    cfg.ours.train.update(mse_weight=0.0, ce_weight=1.0, ridge_init=False)
    m = run(cfg, str(tmp_path))
    assert m["n_classes"] == 1331 and m["test_accuracy"] >= m["model_only"]["test_accuracy"]
    p = Predictor.load(str(tmp_path))
    assert p.case.params["rerank"] == 2 and p.spec["kind"] == "factor"
    x = p.case.sample(np.random.default_rng([cfg.seed, 2]), cfg.n_test)
    out = p.predict(**x)
    np.testing.assert_array_equal(out["cycles"], p.case.score(x, out["config"])["cycles"])
    lab = p.case.label(x)
    ok = (100 * out["cycles"] <= 105 * lab.extra["ref_cycles"]) & (
        out["ifmap_sram_kb"] + out["filter_sram_kb"] + out["ofmap_sram_kb"] == lab.opt_cost)
    assert np.mean(ok) == pytest.approx(m["test_accuracy"])
