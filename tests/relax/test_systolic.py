"""The relaxed systolic model: the exact formulas on the smooth op set.

Convergence to the exact model at integer designs as t -> 0 (every report field, GEMMs and lowered
convolutions, all dataflows), gradients w.r.t. continuous hardware and soft dataflow choices (finite,
equal to finite differences of the relaxed function, grad / jacfwd / vmap(grad), jit == eager).
"""

from unittest import mock

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import codesign_jax  # noqa: F401  (float64)
from codesign_jax.hardware import SystolicArray
from codesign_jax.relax import _models as models
from codesign_jax.relax import (Relaxed, dataflow_weights, relaxed_compute_cycles, relaxed_systolic_cost,
                                relaxed_systolic_metrics, soft_choice)
from codesign_jax.systolic import REPORT_FIELDS, compute_cycles, systolic_metrics
from codesign_jax.workloads import Conv, Gemm

# GEMMs and convolutions (window geometry: off-edge windows, stride) against odd arrays and SRAMs
# small enough for every CALC-mode epoch regime (operands that fit, re-streamed blocks, flushes).
LAYERS = Gemm.concat([
    Gemm.create(M=[1, 64, 300, 3136, 49], N=[1, 64, 17, 64, 1000], K=[1, 27, 1152, 576, 2048]),
    Conv.create(ifmap_h=[56, 15, 9], ifmap_w=[56, 15, 7], filt_h=[3, 5, 3], filt_w=[3, 5, 1],
                channels=[64, 3, 16], num_filters=[64, 32, 8], stride=[1, 2, 3]).to_gemm()])
ROWS = np.array([1, 7, 16, 32])[:, None]
COLS = np.array([1, 12, 32])[None, :]


SRAMS = ((4.0, 2.0, 1.0), (64.0, 64.0, 64.0))


def _design(df, srams=SRAMS[0]):
    return SystolicArray.create(rows=ROWS, cols=COLS, dataflow=df, ifmap_sram_kb=srams[0],
                                filter_sram_kb=srams[1], ofmap_sram_kb=srams[2])


def _calc_design(df, srams):
    """ROWS x COLS with static dataflow and CALC mode (the relaxed model's input)."""
    return SystolicArray(rows=ROWS, cols=COLS, dataflow=df, ifmap_sram_kb=srams[0], filter_sram_kb=srams[1],
                         ofmap_sram_kb=srams[2], bw_mode=0, bandwidth=10, ifmap_dram_bw=10, filter_dram_bw=10)


def _static(a, df):
    return a.replace(dataflow=df, bw_mode=0)


@pytest.fixture(scope="module")
def relaxed_jit():
    """(t, df, srams) -> relaxed report of LAYERS x ROWS x COLS; one compilation per dataflow."""
    g = jax.tree.map(lambda x: x[:, None, None], LAYERS)

    def fn(t, df, srams):
        return relaxed_systolic_metrics(g, _calc_design(df, srams), t)

    return jax.jit(fn, static_argnums=1), g


@pytest.mark.parametrize("df", [0, 1, 2])
def test_relaxed_converges_to_exact_at_integer_designs(relaxed_jit, df):
    fn, g = relaxed_jit
    for srams in SRAMS:
        # the exact model on the very inputs the relaxed one gets (with SystolicArray.create's array
        # fields instead, its traced-mode path differs by one cycle in one DRAM stop: a floor of an
        # exactly integral quotient rounded differently)
        exact = {k: np.asarray(v) for k, v in systolic_metrics(jnp, g, _calc_design(df, srams)).items()}
        errs = []
        for t in (1e-3, 1e-6, 1e-12):
            got = {k: np.asarray(v) for k, v in fn(t, df, srams).items()}
            errs.append(max(np.max(np.abs(got[k] - exact[k]) / (1 + np.abs(exact[k])))
                            for k in REPORT_FIELDS if np.all(np.isfinite(got[k]))))
            if t <= 1e-6:
                for k in REPORT_FIELDS:
                    np.testing.assert_allclose(got[k], exact[k], rtol=1e-9 if t < 1e-9 else 1e-4,
                                               err_msg=f"{k} at t={t}, SRAMs {srams}")
        assert errs[-1] <= errs[0] and errs[-1] < 1e-9, errs


def test_fields_finite_wherever_the_exact_ones_are(relaxed_jit):
    fn, g = relaxed_jit
    # The conv ifmap SRAM stop (and the DRAM stop / bandwidth / prefetch total derived from it) picks
    # among edge pixels masked with -inf; at high t every candidate can be masked (documented).
    conv_stop = {"sram_ifmap_stop", "dram_ifmap_stop", "avg_ifmap_dram_bw", "total_cycles_incl_prefetch"}
    for df in (0, 1, 2):
        exact = {k: np.isfinite(np.asarray(v)) for k, v in systolic_metrics(jnp, g, _design(df)).items()}
        for t in (3.0, 1.0, 0.1, 0.01, 1e-3, 1e-4):
            got = fn(t, df, SRAMS[0])
            bad = [k for k in REPORT_FIELDS if not np.all(np.isfinite(np.asarray(got[k]))[exact[k]])]
            assert set(bad) <= conv_stop, (t, df, bad)
            # the masks compare pixel indices p ~ 3000 at width ~ t p: a one-pixel column fold (cols = 1,
            # 'is') is "in block" with probability sigmoid(1 / (2 t p))^2, below the 1/2 that selects a
            # finite candidate until t < ~1.8e-4
            if t <= 1e-4:
                assert not bad, (t, df, bad)


def test_compute_cycles_converge():
    M, N, K = LAYERS.M[:, None, None], LAYERS.N[:, None, None], LAYERS.K[:, None, None]
    for df in (0, 1, 2):
        want = np.asarray(compute_cycles(jnp, M, N, K, ROWS, COLS, df))
        np.testing.assert_allclose(relaxed_compute_cycles(M, N, K, ROWS, COLS, df, 1e-12), want, rtol=1e-12)


def test_uses_the_exact_models_formula():
    g, a = Gemm.create(M=[64], N=[32], K=[27]), _static(_design(0), 0)
    with mock.patch.object(models, "systolic_metrics", wraps=systolic_metrics) as spy:
        relaxed_systolic_metrics(g, a, 0.1)
    (xp, *_), _ = spy.call_args
    assert spy.call_count == 1 and isinstance(xp, Relaxed)


def test_rejects_user_mode_and_bad_temperatures():
    g = Gemm.create(M=[64], N=[32], K=[27])
    user = SystolicArray.create(rows=8, cols=8, bw_mode="USER")
    with pytest.raises(ValueError, match="bw_mode"):
        relaxed_systolic_metrics(g, user, 0.1)
    with pytest.raises(ValueError, match="temperature"):
        relaxed_systolic_metrics(g, _static(_design(0), 0), 0.0)
    with pytest.raises(ValueError, match="bw_mode must be static"):
        jax.jit(lambda a: relaxed_systolic_metrics(g, a, 0.1))(SystolicArray.create(rows=8, cols=8))


# --- gradients --------------------------------------------------------------------------------------
G1 = Gemm.create(M=[3136, 49], N=[64, 1000], K=[576, 2048])
NAMES = ("rows", "cols", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb")


def _log_edp(logx, t, df):
    """log(sum cycles * sum energy) of G1 on the continuous design exp(logx) (5 parameters)."""
    x = jnp.exp(logx)
    a = SystolicArray(rows=x[0], cols=x[1], dataflow=df, ifmap_sram_kb=x[2], filter_sram_kb=x[3],
                      ofmap_sram_kb=x[4], bw_mode=0, bandwidth=10.0, ifmap_dram_bw=10.0, filter_dram_bw=10.0)
    m = relaxed_systolic_cost(G1, a, t)
    return jnp.log(jnp.sum(m["total_cycles"]) * jnp.sum(m["total_energy_pj"]))


def _points(n, seed=0):
    """Random non-integer designs: rows / cols in [2, 300], SRAMs in [2, 4096] KB (log-uniform)."""
    u = np.random.default_rng(seed).uniform(size=(n, 5))
    lo, hi = np.log([2, 2, 2, 2, 2]), np.log([300, 300, 4096, 4096, 4096])
    return lo + u * (hi - lo)


@pytest.fixture(scope="module")
def grad_fn():
    return jax.jit(jax.grad(_log_edp), static_argnums=2), jax.jit(_log_edp, static_argnums=2)


@pytest.mark.parametrize("df", [0, 1, 2])
def test_gradients_equal_finite_differences(grad_fn, df):
    grad, f = grad_fn
    h = 1e-7  # an SRAM's soft floor steps over ~t / (KB * 10.24) in log-KB: 1e-6 is too coarse at t = 0.1
    for t in (1.0, 0.1):
        for x in _points(3, seed=df):
            g = np.asarray(grad(x, t, df))
            fd = np.array([(f(x + h * e, t, df) - f(x - h * e, t, df)) / (2 * h) for e in np.eye(5)])
            np.testing.assert_allclose(g, fd, rtol=2e-4, atol=1e-6, err_msg=f"t={t} at {np.exp(x)}")
            assert np.any(np.abs(g) > 1e-4)


def test_gradients_finite_on_the_design_range(grad_fn):
    grad, _ = grad_fn
    xs = _points(16, seed=7)
    corners = np.log(np.array([[1, 1, 1, 1, 1], [512, 512, 8192, 8192, 8192], [1, 512, 1, 8192, 1]], float))
    for t in (3.0, 0.3, 0.03, 1e-3):
        for df in (0, 1, 2):
            g = jax.vmap(grad, (0, None, None))(np.concatenate([xs, corners]), t, df)
            assert np.all(np.isfinite(np.asarray(g))), (t, df)


@pytest.mark.slow   # a second compiled gradient (jacfwd), ~35 s on 2 cores; run by `pytest -m slow`
def test_grad_jacfwd_and_vmap_grad_agree(grad_fn):
    grad, _ = grad_fn
    x = _points(4, seed=3)
    per = np.stack([np.asarray(grad(xi, 0.3, 0)) for xi in x])
    np.testing.assert_allclose(jax.vmap(jax.grad(_log_edp), (0, None, None))(x, 0.3, 0), per, rtol=1e-10)
    np.testing.assert_allclose(jax.jacfwd(_log_edp)(x[0], 0.3, 0), per[0], rtol=1e-10)

    def both(logx):  # a vector-valued function: cycles and energy separately
        xx = jnp.exp(logx)
        a = SystolicArray(rows=xx[0], cols=xx[1], dataflow=1, ifmap_sram_kb=xx[2], filter_sram_kb=xx[3],
                          ofmap_sram_kb=xx[4], bw_mode=0, bandwidth=10.0, ifmap_dram_bw=10.0,
                          filter_dram_bw=10.0)
        m = relaxed_systolic_cost(G1, a, 0.3)
        return jnp.stack([jnp.sum(m["total_cycles"]), jnp.sum(m["total_energy_pj"])])

    jf, jr = jax.jacfwd(both)(x[1]), jax.jacrev(both)(x[1])
    chex.assert_shape(jf, (2, 5))
    np.testing.assert_allclose(jf, jr, rtol=1e-10)


class JitEagerTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_relaxed_edp_and_gradient_jit_equals_eager(self):
        x = _points(1, seed=11)[0]
        with jax.disable_jit():
            want = (np.asarray(_log_edp(x, 0.2, 2)), np.asarray(jax.grad(_log_edp)(x, 0.2, 2)))
        f = self.variant(lambda x: (_log_edp(x, 0.2, 2), jax.grad(_log_edp)(x, 0.2, 2)))
        got = f(x)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-9, atol=1e-12)


def test_soft_dataflow_choice_gradients():
    x = _points(1, seed=5)[0]
    costs = jnp.stack([jnp.exp(_log_edp(x, 0.1, d)) for d in range(3)])
    f = lambda logits: jnp.log(soft_choice(costs, dataflow_weights(logits, 0.7)))
    logits = jnp.array([0.3, -0.2, 0.1])
    g, h = jax.grad(f)(logits), 1e-6
    fd = np.array([(f(logits + h * e) - f(logits - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-9)
    best = int(jnp.argmin(costs))
    assert g[best] < 0 and np.isclose(np.sum(g), 0.0, atol=1e-9)  # raising the best one's logit helps
    # Gumbel-softmax: a differentiable sample on the simplex; its argmax follows softmax(logits)
    keys = jax.random.split(jax.random.key(0), 4000)
    w = jax.vmap(lambda k: dataflow_weights(logits, 0.5, key=k))(keys)
    np.testing.assert_allclose(jnp.sum(w, -1), 1.0, rtol=1e-12)
    freq = np.bincount(np.asarray(jnp.argmax(w, -1)), minlength=3) / len(keys)
    np.testing.assert_allclose(freq, jax.nn.softmax(logits), atol=0.03)
    gg = jax.grad(lambda l: jnp.log(soft_choice(costs, dataflow_weights(l, 0.5, key=keys[0]))))(logits)
    assert np.all(np.isfinite(gg))
