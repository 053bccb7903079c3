"""Case 4 (AIRCHITECT-v2 space): labels = brute force over the 768 designs, the tiny config end to end,
predict's outputs (runtime = the CLI's for the predicted design) and its ValueErrors."""

from __future__ import annotations

import csv
import json
import pathlib

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax import maestro
from codesign_jax import spatial as sp
from codesign_jax.airchitect import Predictor, make_case
from codesign_jax.airchitect._case_v2 import _runtime_table
from codesign_jax.airchitect._train import predict_classes, predict_scores
from codesign_jax.airchitect.experiment import run
from repo_configs import load_config

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "codesign_jax" / "data" / "confuciux"  # ConfuciuX's .m files (package data)
HW = dict(l1_size=819200000.0, l2_size=819200000.0, noc_bw=81920000.0, offchip_bw=70000.0, noc_hops=1.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    wd = tmp_path_factory.mktemp("v2tiny")
    return wd, run(load_config("airchitect_v2_tiny"), str(wd))


def _brute_force(x, i):
    """Loop over the 768 designs of layer i (numpy port, ConfigID order): (argmin, min runtime, #ties)."""
    df = sp.parse_dataflow((MAPPINGS / f"{('dla', 'eye', 'shi')[x['dataflow'][i]]}.m").read_text(), "d")
    df = df.bind(ClusterSz="num_pes")
    layer = sp.conv_layer(*(float(x[k][i]) for k in ("K", "C", "R", "S", "Y", "X")))
    pes, kt = np.meshgrid(np.arange(1.0, 65.0), np.arange(1.0, 13.0), indexing="ij")  # ConfigID order
    acc = sp.SpatialAccelerator(pes.ravel(), **HW, constants={"KTileSz": kt.ravel()})
    rep = sp.spatial_cost(layer, acc, df, backend="numpy")
    best, best_cfg, rts = np.inf, -1, []
    for c in range(768):
        r = float(np.asarray(rep.runtime_cycles)[c]) if np.asarray(rep.degenerate)[c] == 0 else np.inf
        rts.append(r)
        if r < best:
            best, best_cfg = r, c
    return best_cfg, best, int(np.sum(np.asarray(rts) == best))


def test_labels_equal_brute_force():
    case = make_case("v2", small=1024)
    x = case.sample(np.random.default_rng(3), 6)
    x["dataflow"] = np.array([0, 1, 2, 0, 1, 2])
    lab = case.label(x)
    for i in range(6):
        cfg, best, ties = _brute_force(x, i)
        assert lab.label[i] == cfg and lab.opt_cost[i] == best and lab.optimal[i].sum() == ties
        assert lab.feasible[i, cfg] and np.isfinite(lab.log_cost[i]).all()


def test_sample_ranges():
    x = make_case("v2").sample(np.random.default_rng(0), 20000)
    assert set(np.unique(x["K"] % 2)) == {0} and x["K"].min() >= 2 and x["C"].max() <= 512
    assert set(np.unique(x["Y"])) <= {1, *range(8, 257, 8)} and set(np.unique(x["R"])) == {1, 3, 5, 7, 9}
    assert (x["R"] == x["S"]).all() and (x["Y"] >= x["R"]).all() and (x["X"] >= x["S"]).all()
    assert set(np.unique(x["dataflow"])) == {0, 1, 2}


def test_tiny_run_and_predictor(tiny):
    wd, m = tiny
    assert json.loads((wd / "metrics.json").read_text())["case_study"] == "v2" and m["n_classes"] == 768
    for r in (m, m["baseline"]):
        assert 0 <= r["test_accuracy"] <= 1 and 0 < r["min_perf_ratio"] <= r["geomean_perf_ratio"] <= 1
    p = Predictor.load(str(wd))
    out = p.predict(K=[64, 100], C=[32, 6], Y=[56, 56], X=[56, 200], R=[3, 9], S=[3, 9], dataflow=["eye", "shi"])
    assert set(out) >= {"num_pes", "ktile", "config_id", "runtime_cycles"}
    np.testing.assert_array_equal(out["config_id"], (out["num_pes"] - 1) * 12 + out["ktile"] - 1)
    same = p.predict(K=[64, 100], C=[32, 6], Y=[56, 56], X=[56, 200], R=[3, 9], S=[3, 9], dataflow=[1, 2])
    np.testing.assert_array_equal(same["config_id"], out["config_id"])
    case = p.case
    x = case.check(dict(K=[64, 100], C=[32, 6], Y=[56, 56], X=[56, 200], R=[3, 9], S=[3, 9], dataflow=[1, 2]))
    feas = case.feasible(x)
    assert feas[np.arange(2), out["config_id"]].all()  # never a MAESTRO-degenerate design
    assert not feas.all()  # (and this layer pair has some)
    # select (candidates in score order, numpy port) == argmax of the scores over the full feasible table
    xs = case.sample(np.random.default_rng(5), 40)
    full = predict_classes(p.spec, p.params, p.model_inputs(xs), case.feasible(xs))
    np.testing.assert_array_equal(p.classes(xs), full)
    # rerank k: the fastest (exact runtime; ties: lower ConfigID) of the k best-scoring valid designs
    scores = predict_scores(p.spec, p.params, p.model_inputs(xs))
    runtime, ok = _runtime_table(xs, 64, 4096)  # every design's exact runtime (numpy port)
    for k in (1, 3):
        rer = Predictor(make_case("v2", **{**case.params, "rerank": k}), p.spec, p.params, p.standardizer)
        want = []
        for i in range(len(scores)):
            cand = [c for c in np.argsort(-scores[i], kind="stable") if ok[i, c]][:k]
            want.append(min(cand, key=lambda c: (runtime[i, c], c)))
        np.testing.assert_array_equal(rer.classes(xs), want)
    # shi with output height 1 < R: MAESTRO is degenerate on all 768 designs -> no design, NaN runtime
    none = dict(K=100, C=6, Y=9, X=200, R=9, S=9, dataflow="shi")
    assert not case.feasible(case.check(none)).any()
    out = p.predict(**none)
    assert out["config_id"] == -1 and out["num_pes"] == 0 and np.isnan(out["runtime_cycles"])


def test_predicted_runtime_equals_cli(tiny, tmp_path):
    wd, _ = tiny
    q = dict(K=np.array([64, 236, 338]), C=np.array([64, 144, 260]), Y=np.array([58, 120, 16]),
             X=np.array([58, 72, 232]), R=np.array([3, 3, 5]), S=np.array([3, 3, 5]), dataflow=["dla", "eye", "shi"])
    out = Predictor.load(str(wd)).predict(**q)
    for i, name in enumerate(q["dataflow"]):
        layers, accels, o = tmp_path / f"l{i}.csv", tmp_path / f"a{i}.csv", tmp_path / f"o{i}.csv"
        layers.write_text("layer,layer_type,K,C,R,S,Y,X,stride\n"
                          f"q,CONV,{q['K'][i]},{q['C'][i]},{q['R'][i]},{q['S'][i]},{q['Y'][i]},{q['X'][i]},1\n")
        accels.write_text("hw,num_pes,l1_size_cstr,l2_size_cstr,noc_bw_cstr,offchip_bw_cstr,noc_hops,KTileSz,"
                          f"ClusterSz\np,{out['num_pes'][i]},819200000,819200000,81920000,70000,1,{out['ktile'][i]},"
                          f"{out['num_pes'][i]}\n")
        assert maestro.main(["--layers", str(layers), "--accelerators", str(accels), "--dataflow_file",
                             f"{name}={MAPPINGS / f'{name}.m'}", "--out", str(o)]) == 0
        row = next(csv.DictReader(open(o)))
        assert row["ok"] == "1" and float(row["runtime_cycles"]) == out["runtime_cycles"][i] > 0


def test_predict_errors_name_the_field(tiny):
    p = Predictor.load(str(tiny[0]))
    ok = dict(K=64, C=64, Y=56, X=56, R=3, S=3, dataflow="dla")
    for field, bad, msg in (("K", 0, "K"), ("C", -4, "C"), ("X", np.nan, "X"), ("dataflow", "nvdla", "dataflow"),
                            ("dataflow", 3, "dataflow"), ("Y", 2, "Y=2 is smaller than the filter R=3"),
                            ("S", 7, "X=56|S=7")):
        q = dict(ok, **{field: bad})
        if field == "S":
            q = dict(ok, X=5, S=7, R=7, Y=56)
        with pytest.raises(ValueError, match=msg):
            p.predict(**q)
    with pytest.raises(ValueError, match="dataflow"):
        p.predict(K=64, C=64, Y=56, X=56, R=3, S=3)
