"""The joint search: equals a brute-force lexicographic search over every design (buffer axes included),
infeasible settings name the binding budget, and stage-2 metrics of a subset equal the full table's rows."""

import math

import numpy as np
import pytest

from codesign_jax.codesign import (Objective, best_pairs, evaluate_pairs, objective_from_config,
                                   spatial_accelerator_space, systolic_array_space)
from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.nas import distinct_layers, load_space, spatial_network_cost

ARCH = [0, 6111, 14346, 15624, 3, 77]
SPACE = spatial_accelerator_space(num_pes=(32, 256), noc_bw=(128, 1000), offchip_bw=(50,), dataflow=("kcp_ws", "rs"),
                                  l1_size=(64, 256), l2_size=(2048, 65536))


@pytest.fixture(scope="module")
def table():
    s = load_space("nb201", arch=sorted(ARCH))
    d = distinct_layers(s.layers)
    return s, d, evaluate_pairs(SPACE, d, backend="numpy")


@pytest.fixture(scope="module")
def all_pairs(table):
    """Every (architecture, design) pair, each design built by hand: (arch, design, lat, en, area, acc) where the
    model accepts the network and the design's own L1 / L2 hold its requirements."""
    s = table[0]
    out = []
    for p in range(SPACE.n_perf):
        v = SPACE.perf_points([p])
        acc = SpatialAccelerator(float(v["num_pes"][0]), 1.0, 1.0, float(v["noc_bw"][0]), float(v["offchip_bw"][0]))
        c = spatial_network_cost(s.layers, acc, conv_dataflow=v["dataflow"][0], requirements=True, backend="numpy")
        for b in range(SPACE.n_buffers):
            di = p * SPACE.n_buffers + b
            dv = SPACE.design([di])
            area = SPACE.area_mm2([p])[0, b]
            for i in range(len(s)):
                if c.ok[i, 0] and c.l1_req[i, 0] <= dv["l1_size"][0] and c.l2_req[i, 0] <= dv["l2_size"][0]:
                    out.append((i, di, c.runtime_cycles[i, 0], c.energy_total_xmac[i, 0], area, s.accuracy[i]))
    return out


def _brute(s, pairs, objective):
    rows = [([float(k) for k in objective.keys(np, lat, en, area, a)], int(s.arch_index[i]), di)
            for i, di, lat, en, area, a in pairs if objective.meets(lat, en, area, a)]
    return min(rows) if rows else None


@pytest.mark.parametrize("objective", [
    Objective("max_accuracy", max_latency=1.5e6, max_energy=1e9, max_area=10.0),
    Objective("min_latency", min_accuracy=88.0),
    Objective("min_energy", min_accuracy=80.0, max_area=8.0),
    Objective("min_edp", max_area=50.0),
    Objective("weighted", weights=(("latency", 1.0), ("area", 0.5), ("accuracy", 2.0)),
              scales=(("latency", 1e6), ("area", 10.0))),
])
def test_best_pair_equals_brute_force_over_all_designs(table, all_pairs, objective):
    s, d, m = table
    (c,) = best_pairs(m, s.accuracy, s.arch_index, [objective], SPACE.n_buffers)
    ref = _brute(s, all_pairs, objective)
    assert c.feasible and ref is not None
    assert (c.arch, c.design) == (ref[1], ref[2])
    assert c.latency == m.latency[c.arch_pos, c.perf] and c.accuracy == s.accuracy[c.arch_pos]


def test_infeasible_names_the_binding_budget_and_closest_pair(table):
    s, _, m = table
    tight = Objective("max_accuracy", max_latency=1e6, max_energy=1e9, max_area=0.5)
    loose_area = Objective("max_accuracy", max_latency=10.0, max_area=1e4)
    c, c2 = best_pairs(m, s.accuracy, s.arch_index, [tight, loose_area], SPACE.n_buffers)
    assert not c.feasible and c.binding == "max_area" and c.violation["max_area"] > 0
    assert c.area == np.nanmin(m.area)  # the closest pair has the smallest area there is
    assert "binding budget max_area" in c.to_dict()["message"] and str(c.arch) in c.to_dict()["message"]
    assert not c2.feasible and c2.binding == "max_latency" and c2.latency == np.nanmin(m.latency)


def test_subset_metrics_equal_full_rows_bit_for_bit(table):
    s, d, m = table
    sub = evaluate_pairs(SPACE, d, rows=[1, 4], backend="numpy")
    for f in ("latency", "energy", "area", "buffer", "feasible"):
        np.testing.assert_array_equal(getattr(sub, f), getattr(m, f)[[1, 4]])
    assert sub.model_points < m.model_points  # only the distinct layers of those two cells


def test_systolic_pairs_equal_layer_by_layer():
    from codesign_jax.systolic import default_energy_table, systolic_energy, systolic_metrics

    s = load_space("alphanet", arch=[16, 2049])
    sy = systolic_array_space(rows=(8, 32), cols=(16,), dataflow=("os", "ws"), ifmap_sram_kb=(64,),
                              filter_sram_kb=(64,), ofmap_sram_kb=(32,))
    m = evaluate_pairs(sy, distinct_layers(s.layers))
    low = s.layers.lower_gemm()  # every group its own GEMM, as SCALE-Sim runs a depthwise layer
    net = s.layers.network[low.index]
    for p in range(sy.n_perf):
        arr = sy.systolic_arrays([p])
        rep = systolic_metrics(np, low.layers, arr)
        e = systolic_energy(np, rep, arr, default_energy_table())
        np.testing.assert_allclose(m.latency[:, p], np.bincount(net, low.count * rep["total_cycles"]), rtol=1e-12)
        np.testing.assert_allclose(m.energy[:, p], np.bincount(net, low.count * e["total_energy_pj"]), rtol=1e-12)
    assert m.feasible.all() and (m.buffer == 0).all()


@pytest.mark.parametrize("cfg, msg", [
    (dict(goal="fastest"), "objective.goal='fastest'"),
    (dict(goal="max_accuracy", max_latency=-1.0), "objective.max_latency=-1.0"),
    (dict(goal="max_accuracy", max_energy=float("nan")), "objective.max_energy=nan"),
    (dict(goal="max_accuracy", latency=3), "unknown field"),
    (dict(goal="weighted", weights={"latency": -1.0}), "objective.weights.latency=-1.0"),
    (dict(goal="weighted", weights={"speed": 1.0}), "unknown key"),
])
def test_objective_rejects_bad_values(cfg, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
        objective_from_config(cfg)


def test_objective_none_budget_means_unbounded():
    o = objective_from_config(dict(goal="min_latency", min_accuracy=None, max_area=3.0))
    assert o.min_accuracy == -math.inf and o.budgets() == {"max_area": 3.0}
