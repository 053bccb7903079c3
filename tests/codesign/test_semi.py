"""Stage 1 ranking, semi-decoupled vs exhaustive, rank-correlation statistics."""

import numpy as np
import pytest
import scipy.stats

from codesign_jax.codesign import (Objective, dominated_counts, exhaustive_search, family_references, rank_correlation,
                                   reference_points, semi_decoupled, semi_points, smallest_k, spatial_accelerator_space,
                                   stage1_ranking)
from codesign_jax.codesign._study import random_objectives
from codesign_jax.nas import distinct_layers, load_space

SPACE = spatial_accelerator_space(num_pes=(64, 256), noc_bw=(128, 1000), offchip_bw=(50, 150),
                                  dataflow=("kcp_ws", "ykp_os"), l1_size=(64, 256), l2_size=(2048, 65536))


def test_dominated_counts_brute_force():
    rng = np.random.default_rng(3)
    acc, lat, en = rng.integers(0, 5, 60).astype(float), rng.integers(0, 5, 60).astype(float), rng.random(60)
    lat[7] = np.nan
    got = dominated_counts(acc, lat, en, block=16)
    for i in range(60):
        if i == 7:
            assert got[i] == 60
            continue
        dom = [j for j in range(60) if j != 7 and acc[j] >= acc[i] and lat[j] <= lat[i] and en[j] <= en[i]
               and (acc[j] > acc[i] or lat[j] < lat[i] or en[j] < en[i])]
        assert got[i] == len(dom)
    assert (dominated_counts(acc, lat, en, tolerance=0.5) <= got).all()


@pytest.fixture(scope="module")
def study():
    s = load_space("nb201", arch=list(range(0, 15625, 131)))
    d = distinct_layers(s.layers)
    refs = reference_points(SPACE, dict(num_pes=64, noc_bw=128, offchip_bw=50, dataflow="kcp_ws"), per_dataflow=True)
    rank = stage1_ranking(SPACE, d, s.accuracy, refs, per_family=True, backend="numpy")
    full = exhaustive_search(SPACE, s, d, [Objective("max_accuracy", max_latency=1e6)], backend="numpy")
    return s, d, rank, full


def test_semi_returns_the_optimum_exactly_when_its_architecture_is_kept(study):
    s, d, rank, full = study
    objs = random_objectives(full.metrics, s.accuracy, 8, 1, ("max_accuracy", "min_latency", "min_energy", "min_edp"))
    ex = exhaustive_search(SPACE, s, d, objs, backend="numpy").choices
    one = stage1_ranking(SPACE, d, s.accuracy, rank.perf[:1], backend="numpy")
    for rk in (rank, one):
        for k in (2, 10):
            semi = semi_decoupled(SPACE, s, d, objs, rk, k, backend="numpy")
            assert semi.points == len(s) * rk.perf.size + k * SPACE.size
            for e, c in zip(ex, semi.choices):
                assert e.feasible and c.same_pair(e) == (smallest_k(rk, SPACE, e) <= k)
                r = rk.reference_for(SPACE, c.perf)  # what it returns pairs a kept architecture with its family
                assert c.arch in s.arch_index[rk.kept(k, r)] and c.perf in rk.perf_of(SPACE, r)


def test_per_family_references_split_the_designs(study):
    rank = study[2]
    assert rank.family.tolist() == [0, 1]
    parts = [rank.perf_of(SPACE, r) for r in range(2)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(SPACE.n_perf))
    assert all(rank.reference_for(SPACE, int(p)) == r for r in range(2) for p in parts[r])


def test_reference_points_validate(study):
    ref = dict(num_pes=64, noc_bw=128, offchip_bw=50, dataflow="kcp_ws")
    assert reference_points(SPACE, ref, per_dataflow=False).tolist() == [0]
    assert SPACE.perf_points(reference_points(SPACE, ref, per_dataflow=True))["dataflow"].tolist() == ["kcp_ws",
                                                                                                        "ykp_os"]
    with pytest.raises(ValueError, match="reference.num_pes=100"):
        reference_points(SPACE, {**ref, "num_pes": 100}, per_dataflow=False)
    with pytest.raises(ValueError, match="missing axis"):
        reference_points(SPACE, dict(num_pes=64), per_dataflow=False)


def test_rank_correlation_statistics():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    lat = np.stack([base, base + 0.1 * rng.random(200), base ** 2, rng.random(200), base], 1)
    lat[3, 4] = np.nan  # rejected somewhere: left out
    rc = rank_correlation(lat, lat * 2, np.array(["a", "a", "b", "b", "b"]), top_k=(20,))
    assert rc["accelerators"] == [0, 1, 2, 3] and rc["dropped"] == [4]
    rho = rc["matrices"]["spearman_latency"]
    assert rho[0, 2] == pytest.approx(1.0) and rho[0, 1] == pytest.approx(scipy.stats.spearmanr(lat[:, 0],
                                                                                                 lat[:, 1])[0])
    assert rc["kendall_latency"]["all"]["min"] == pytest.approx(min(
        scipy.stats.kendalltau(lat[:, i], lat[:, 3])[0] for i in range(3)))
    assert rc["spearman_latency"]["within"]["pairs"] == 2 and rc["spearman_latency"]["across"]["pairs"] == 4
    top = lambda j: set(np.argsort(lat[:, j], kind="stable")[:20])
    assert rc["top20_overlap_latency"]["within"]["max"] == pytest.approx(len(top(0) & top(1)) / 20)
    with pytest.raises(ValueError, match=">= 2 accelerators"):
        rank_correlation(lat[:, :1], lat[:, :1], np.array(["a"]))


FAMILY = dict(kcp_ws=dict(num_pes=256, noc_bw=1000, offchip_bw=50, k=5),
              ykp_os=dict(num_pes=64, noc_bw=128, offchip_bw=150, k=9))


def test_family_references_kept_sets_and_points_brute_force(study):
    s, d, _, full = study
    perf, ks = family_references(SPACE, FAMILY)
    pts = SPACE.perf_points()
    for p, (df, spec) in zip(perf, FAMILY.items()):  # the one perf point with the family's axes
        want = [q for q in range(SPACE.n_perf) if pts["dataflow"][q] == df
                and all(pts[a][q] == v for a, v in spec.items() if a != "k")]
        assert [int(p)] == want
    assert ks.tolist() == [5, 9]
    rank = stage1_ranking(SPACE, d, s.accuracy, perf, per_family=True, backend="numpy")
    n = len(s)
    for r, k in enumerate(ks):  # kept set: the k least-dominated at the family's reference, ties by accuracy, index
        lat, en = full.metrics.latency[:, perf[r]], full.metrics.energy[:, perf[r]]
        dom = [sum(1 for j in range(n) if s.accuracy[j] >= s.accuracy[i] and lat[j] <= lat[i] and en[j] <= en[i]
                   and (s.accuracy[j] > s.accuracy[i] or lat[j] < lat[i] or en[j] < en[i])) for i in range(n)]
        dom = [n if np.isnan(lat[i]) else c for i, c in enumerate(dom)]
        want = sorted(range(n), key=lambda i: (dom[i], -s.accuracy[i], i))[:k]
        assert rank.kept(int(k), r).tolist() == sorted(want)
    objs = random_objectives(full.metrics, s.accuracy, 8, 2, ("max_accuracy", "min_latency", "min_energy", "min_edp"))
    ex = exhaustive_search(SPACE, s, d, objs, backend="numpy").choices
    semi = semi_decoupled(SPACE, s, d, objs, rank, ks, backend="numpy")
    per_family_designs = [int(np.sum(pts["dataflow"] == df)) * SPACE.n_buffers for df in FAMILY]
    assert semi.points == semi_points(rank, SPACE, ks) == n * 2 + 5 * per_family_designs[0] + 9 * per_family_designs[1]
    assert sum(m.rows.size * m.perf.size for m in semi.metrics) * SPACE.n_buffers + n * 2 == semi.points
    for e, c in zip(ex, semi.choices):  # recovered exactly when the family of the optimum's design kept its arch
        r = rank.reference_for(SPACE, e.perf)
        assert c.same_pair(e) == (e.arch_pos in rank.kept(int(ks[r]), r))
    with pytest.raises(ValueError, match="have no reference"):
        family_references(SPACE, dict(kcp_ws=FAMILY["kcp_ws"]))
    with pytest.raises(ValueError, match="ykp_os.k=0"):
        family_references(SPACE, {**FAMILY, "ykp_os": {**FAMILY["ykp_os"], "k": 0}})
    with pytest.raises(ValueError, match="one value per reference"):
        semi_points(rank, SPACE, [5, 9, 1])
