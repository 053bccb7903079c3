"""Gradient search and the baselines on a tiny systolic problem, against a brute-force optimum.

The problem: rows, cols in {4, 8, 16}, ifmap / filter SRAM in {8, 64} KB, ofmap 8 KB, dataflows os
and ws, EDP under an area budget; two GEMM workloads. The brute force evaluates every legal
(design, dataflow) with the exact model; the sweep engine's exhaustive optimum must equal it.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import codesign_jax  # noqa: F401  (float64)
from codesign_jax.relax import (cmaes_search, optimize, optuna_search, random_search, search_evaluations,
                                systolic_problem, systolic_workloads)
from codesign_jax.sweep import sweep
from codesign_jax.workloads import Gemm

GRID = dict(rows=(4, 8, 16), cols=(4, 8, 16), ifmap_sram_kb=(8, 64), filter_sram_kb=(8, 64), ofmap_sram_kb=(8,))
PROBLEM = systolic_problem(**GRID, dataflows=("os", "ws"), objective="edp", max_area_mm2=0.04)
GEMMS = Gemm.create(M=[3136, 96], N=[64, 300], K=[576, 40])
W = jax.tree.map(jnp.asarray, systolic_workloads(GEMMS))


def _one(i):
    return jax.tree.map(lambda a: a[i], W)


@pytest.fixture(scope="module")
def brute_force():
    """[2 workloads]: (optimum, {point index: cost}) over every legal (design, dataflow) within budget."""
    names = PROBLEM.names
    pts = list(itertools.product(*[GRID[n] for n in names]))
    x = {n: jnp.asarray([p[i] for p in pts], jnp.float64) for i, n in enumerate(names)}
    ok = np.asarray(PROBLEM.feasible(x))
    assert 0 < ok.sum() < len(pts)  # the budget binds
    out = []
    for i in range(2):
        c = np.stack([np.asarray(jax.vmap(lambda xi: PROBLEM.exact_cost(_one(i), xi, d))(x)) for d in (0, 1)], -1)
        out.append(float(np.min(c[ok])))
    return out


def test_sweep_reference_equals_brute_force(brute_force):
    space, cost_fn, objective = PROBLEM.sweep_space()
    res = sweep(cost_fn, GEMMS, space, objective, progress=False)
    np.testing.assert_allclose(np.asarray(res.best_value), brute_force, rtol=1e-12)


def _check_found(res, i, opt, batched=True):
    """A result (batched over the workloads, or of workload ``i`` alone) is a legal design within
    budget whose cost is its exact cost on workload ``i``, never below the optimum."""
    pick = (lambda v: np.asarray(v)[i]) if batched else np.asarray
    x = {k: jnp.asarray(pick(v)) for k, v in res.design.items()}
    for n in PROBLEM.names:
        assert float(x[n]) in GRID[n], (n, x[n])
    assert bool(PROBLEM.feasible(x))
    d, cost = int(pick(res.dataflow)), float(pick(res.cost))
    np.testing.assert_allclose(cost, float(PROBLEM.exact_cost(_one(i), x, d)), rtol=1e-12)
    assert cost >= opt * (1 - 1e-12)
    return cost


def test_gradient_search_reports_exact_costs_and_finds_the_optimum(brute_force):
    kw = dict(restarts=8, steps=12, learning_rate=0.2, t_start=0.3, t_end=0.02, dataflow_choice="restart",
              rounding="neighbors")
    res = optimize(PROBLEM, W, key=jax.random.key(0), batched=True, **kw)
    assert res.evaluations == search_evaluations(PROBLEM, **{k: kw[k] for k in
                                                              ("restarts", "steps", "dataflow_choice", "rounding")})
    assert res.evaluations == 8 * 12 + 8 * 2 ** 5
    assert res.loss.shape == (2, 12) and np.all(np.isfinite(res.loss))
    for i in range(2):
        assert _check_found(res, i, brute_force[i]) <= brute_force[i] * 1.02  # within 2% on this toy grid
        # every finite candidate is an exact cost of a legal design: none beats the optimum
        c = res.candidates[i][np.isfinite(res.candidates[i])]
        assert c.size and np.all(c >= brute_force[i] * (1 - 1e-12))


@pytest.mark.slow
def test_gradient_search_successive_halving_and_softmin_choice(brute_force):
    res = optimize(PROBLEM, _one(0), key=jax.random.key(1), restarts=(6, 2), steps=(4, 6),
                   dataflow_choice="softmin", rounding="coordinate")
    assert res.evaluations == (6 * 4 + 2 * 6) * 2 + 2 * (2 + 1 + 5)
    assert res.loss.shape == (10,) and res.final["rows"].shape == (2,)
    _check_found(res, 0, brute_force[0], batched=False)


def test_baselines_report_exact_costs(brute_force):
    n = 32
    for i in range(2):
        for res in (random_search(PROBLEM, _one(i), jax.random.key(i), n),
                    cmaes_search(PROBLEM, _one(i), jax.random.key(i), n, population=8),
                    optuna_search(PROBLEM, _one(i), 12, seed=i)):
            _check_found(res, i, brute_force[i], batched=False)
            h = np.asarray(res.history)
            assert np.all(h[1:] <= h[:-1]) and h[-1] == float(res.cost)  # best so far
    # random search with many more draws than points: the optimum (misses it with prob ~ e^-12)
    res = random_search(PROBLEM, _one(0), jax.random.key(7), 2048)
    np.testing.assert_allclose(float(res.cost), brute_force[0], rtol=1e-12)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="rounding"):
        optimize(PROBLEM, _one(0), key=jax.random.key(0), rounding="floor")
    with pytest.raises(ValueError, match="restarts"):
        optimize(PROBLEM, _one(0), key=jax.random.key(0), restarts=(2, 4), steps=(1, 1))
    with pytest.raises(ValueError, match="objective"):
        systolic_problem(**GRID, objective="area")
    with pytest.raises(ValueError, match="max_area_mm2"):
        systolic_problem(**GRID, max_area_mm2=-1.0)
    with pytest.raises(ValueError, match="population"):
        cmaes_search(PROBLEM, _one(0), jax.random.key(0), 30, population=8)
