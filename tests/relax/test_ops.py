"""The smooth op set: exact limits (ties included), continuity, bounds, finite gradients, jit == eager."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import codesign_jax  # noqa: F401  (float64)
from codesign_jax.relax import _ops as ops

X = np.array([-3.0, -2.5, -1.0, -0.999, -0.25, 0.0, 0.001, 0.5, 0.999, 1.0, 1.25, 7.0, 7.75, 1e6 + 0.5])
INTS = np.array([0.0, 1.0, 2.0, 5.0, 64.0, 1e6, 3e9])
TEMPS = (1e-2, 1e-4, 1e-8)


def test_floor_and_ceil_exact_at_integers_for_every_temperature():
    for t in (3.0, 1.0, 0.3, 1e-3):
        for x in (INTS, -INTS):
            np.testing.assert_array_equal(ops.soft_floor(x, t), x)
            np.testing.assert_array_equal(ops.soft_ceil(x, t), x)
            np.testing.assert_array_equal(ops.soft_trunc(x, t), x)


def test_floor_ceil_trunc_converge_everywhere():
    # pointwise: floor's step from k - 1 to k lies within about t below k (ceil's above k - 1)
    for t in TEMPS:
        far = (np.ceil(X) - X > 20 * t) | (X == np.floor(X))
        far_c = (X - np.floor(X) > 20 * t) | (X == np.floor(X))
        assert far.sum() >= 8 and np.max(np.abs(ops.soft_floor(X, t) - np.floor(X))[far]) <= 1e-6
        assert np.max(np.abs(ops.soft_ceil(X, t) - np.ceil(X))[far_c]) <= 1e-6
    np.testing.assert_array_equal(ops.soft_floor(X, 1e-9), np.floor(X))
    np.testing.assert_array_equal(ops.soft_ceil(X, 1e-9), np.ceil(X))
    np.testing.assert_array_equal(ops.soft_trunc(X, 1e-9), np.trunc(X))


def test_ceil_of_a_positive_quotient_is_at_least_one():
    x = np.linspace(1e-6, 1.0, 101)
    for t in (10.0, 1.0, 0.1):
        np.testing.assert_array_equal(ops.soft_ceil(x, t), 1.0)
        np.testing.assert_array_equal(ops.soft_floor(-x, t), -1.0)


def test_floor_is_continuous_monotone_and_fractional_at_high_temperature():
    x = np.linspace(0.0, 5.0, 50001)  # [0, 5]: no jump (the only one is at 0 from the left)
    for t in (1.0, 0.1, 0.02):
        f = np.asarray(ops.soft_floor(x, t))
        assert np.all(np.diff(f) >= -1e-12)
        assert np.max(np.abs(np.diff(f))) < 2.0 / t * 1e-4 + 1e-9  # Lipschitz ~ 1/t: no jumps
        assert np.all((f >= np.floor(x) - 1e-12) & (f <= np.floor(x) + 1))
    np.testing.assert_allclose(ops.soft_floor(x, 1e4), x, atol=1e-7)


def test_max_min_exact_at_ties_and_bounded():
    a = np.array([3.0, 1e9, -4.0, 0.0, 7.0])
    b = np.array([3.0, 1e9 + 1.0, 2.0, 0.0, -7.0])
    for t in (1.0, 0.1):
        h = t * (1 + (np.abs(a) + np.abs(b)) / 2)
        mx, mn = np.asarray(ops.soft_max(a, b, t)), np.asarray(ops.soft_min(a, b, t))
        assert mx[0] == 3.0 and mn[0] == 3.0 and mx[3] == 0.0  # ties: exact
        assert np.all(np.abs(mx - np.maximum(a, b)) <= 0.28 * h)
        assert np.all(np.abs(mn - np.minimum(a, b)) <= 0.28 * h)
        np.testing.assert_allclose(mx + mn, a + b, rtol=1e-12, atol=1e-12)  # the two weights sum to one
    np.testing.assert_array_equal(ops.soft_max(a, b, 1e-12), np.maximum(a, b))
    np.testing.assert_array_equal(ops.soft_min(a, b, 1e-12), np.minimum(a, b))


def test_comparisons_of_integers_converge_with_ties_decided_exactly():
    x = np.array([0.0, 1.0, 5.0, 5.0, 1e6, 1e6])
    y = np.array([0.0, 2.0, 5.0, 4.0, 1e6, 1e6 + 1])
    for t in (1e-3, 1e-9):
        tol = 1e-3 if t > 1e-6 else 0.0
        assert np.max(np.abs(ops.soft_lt(x[:4], y[:4], t) - (x[:4] < y[:4]))) <= tol
        assert np.max(np.abs(ops.soft_le(x[:4], y[:4], t) - (x[:4] <= y[:4]))) <= tol
        assert np.max(np.abs(ops.soft_eq(x[:4], y[:4], t) - (x[:4] == y[:4]))) <= tol
    # relative width: 1e6 vs 1e6 + 1 is decided once t * 1e6 << 1/2
    np.testing.assert_array_equal(ops.soft_lt(x, y, 1e-12), x < y)
    np.testing.assert_array_equal(ops.soft_eq(x, y, 1e-12), x == y)
    p = np.asarray(ops.soft_lt(x, y, 1.0))
    assert np.all((p > 0) & (p < 1))


def test_where_and_logic():
    p = jnp.array([0.0, 1.0, 0.25])
    np.testing.assert_allclose(ops.soft_where(p, 10.0, 2.0), [2.0, 10.0, 4.0])
    np.testing.assert_array_equal(ops.soft_where(jnp.array([True, False]), 1.0, 2.0), [1.0, 2.0])
    np.testing.assert_allclose(ops.soft_and(p, 0.5), p * 0.5)
    np.testing.assert_allclose(ops.soft_or(p, 0.5), p + 0.5 - p * 0.5)
    np.testing.assert_allclose(ops.soft_not(p), 1 - p)


def test_infinite_operands_give_exact_values_and_finite_gradients():
    inf = np.inf
    np.testing.assert_array_equal(ops.soft_max(jnp.array([-inf, 3.0]), jnp.array([2.0, inf]), 0.5), [2.0, inf])
    mn = np.asarray(ops.soft_min(jnp.array([inf, 1.0]), 4.0, 0.5))
    assert mn[0] == 4.0 and 1.0 <= mn[1] < 4.0
    np.testing.assert_array_equal(ops.soft_where(jnp.array([0.4, 0.6]), jnp.array([1.0, 1.0]), -inf), [-inf, 1.0])
    np.testing.assert_array_equal(ops.soft_floor(jnp.array([inf, -inf]), 0.5), [inf, -inf])
    np.testing.assert_array_equal(ops.soft_lt(jnp.array([-inf, 1.0]), jnp.array([0.0, inf]), 0.5), [1.0, 1.0])

    def f(x):
        masked = ops.soft_where(ops.soft_lt(x, 3.0, 0.5), x, -jnp.inf)
        return ops.soft_max(masked, 0.5 * x, 0.5) + ops.soft_floor(x, 0.5)

    for x in (1.3, 4.7):
        assert np.isfinite(jax.grad(f)(x))


def _fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("name", ["soft_floor", "soft_ceil", "soft_trunc"])
def test_rounding_gradients_equal_finite_differences(name):
    fn = getattr(ops, name)
    for t in (1.0, 0.2):
        for x in (0.37, 2.93, -1.61, 5.999):
            f = lambda v: fn(v, t)
            np.testing.assert_allclose(jax.grad(f)(x), _fd(f, x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["soft_max", "soft_min", "soft_lt", "soft_le", "soft_eq"])
def test_binary_gradients_equal_finite_differences(name):
    fn = getattr(ops, name)
    for t in (1.0, 0.05):
        for a, b in ((3.2, 4.1), (100.0, 97.0), (-2.0, 5.5)):
            g = jax.grad(lambda u, v: fn(u, v, t), argnums=(0, 1))(a, b)
            np.testing.assert_allclose(g[0], _fd(lambda u: fn(u, b, t), a), rtol=1e-5, atol=1e-8)
            np.testing.assert_allclose(g[1], _fd(lambda v: fn(a, v, t), b), rtol=1e-5, atol=1e-8)


def _mixed(x, t):
    return (ops.soft_floor(x, t) + ops.soft_ceil(x / 3, t) * ops.soft_max(x, 1.0, t)
            - ops.soft_where(ops.soft_le(x, 2.0, t), x, ops.soft_min(x, 4.0, t)))


class JitEagerTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_ops_jit_equals_eager(self):
        x = jnp.array([0.3, 2.7, -1.2, 5.0])
        with jax.disable_jit():
            want = np.asarray(_mixed(x, 0.3))
        got = np.asarray(self.variant(_mixed)(x, 0.3))
        np.testing.assert_allclose(got, want, rtol=1e-13)
        self.assertTrue(np.all(np.isfinite(got)))


def test_softmin_weights():
    c = jnp.array([4.0, 2.0, 8.0])
    w = ops.softmin_weights(c, 1.0)
    np.testing.assert_allclose(w, (1 / c) / jnp.sum(1 / c))  # t = 1: proportional to 1 / cost
    np.testing.assert_allclose(ops.softmin_weights(c, 1e-3), [0.0, 1.0, 0.0], atol=1e-200)
