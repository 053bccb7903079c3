"""The smooth op set: temperature-``t`` versions of the few discrete operations the cost formulas use.

Both cost models are written once against a tiny op set (DESIGN.md, "One formula, two numerics"):
``floor`` / ``ceil`` / ``trunc`` (ceil and floor division), ``maximum`` / ``minimum``, the comparisons
``< <= ==`` with ``& | ~`` on their results, and ``where``. This module gives each a smooth version
with a temperature ``t > 0``; every one converges to the exact operation as ``t -> 0``, and at
``t >= 1`` floor and ceil are the identity (the fully fractional relaxation). Arguments are float64
arrays (broadcasting); ``t`` may be a traced scalar (annealing inside ``jit``).

* Floor: ``n + phi_t(x - n)``, ``n = floor(x)``, with ``phi_t`` a normalised sigmoid step on
  ``[0, 1)`` centred at ``1 - min(t, 1) / 2``, width ``t``: ``phi_t(0) = 0`` and ``phi_t(1-) = 1``,
  so the relaxed floor is continuous, equal to ``floor`` at every integer for every ``t``, and
  ``-> floor(x)`` everywhere as ``t -> 0``; for ``t -> inf`` ``phi_t(r) -> r`` (``floor(x) -> x``).
  One exception: on ``[-1, 0)`` it is exactly -1 (no step toward 0), so ``ceil(x) = -floor(-x)`` is
  exactly 1 for every ``0 < x <= 1``: a ceil division of positive sizes (a fold count) never drops
  below one fold, which the fractional relaxation ``ceil(S / R) ~ S / R`` would reward for arrays
  larger than the operand. Like the exact ops, floor (ceil) then jumps at 0.
  Trunc is the floor of ``|x|`` with ``x``'s sign.
* Max / min: the Boltzmann operator ``a s + b (1 - s)``, ``s = sigmoid((a - b) / h)``, i.e. a soft
  ``where(a > b, a, b)``, at the relative width ``h = t * (1 + (|a| + |b|) / 2)`` (one temperature
  serves cycle counts of 10 and of 10^9). It is exact at ties (``max(a, a) = a``: log-sum-exp's
  ``+h log 2`` there would move an exactly integral quotient below a floor step) and within
  ``0.28 h`` of the exact value elsewhere, the error decaying as ``|a - b| exp(-|a - b| / h)``.
* Comparisons: the operands of every comparison in both models are integers, so ``x < y`` is
  ``x <= y - 1/2``: ``sigmoid((y - x - 1/2) / h)`` (a tie ``x == y`` is False, not 1/2, and the
  limit is exact). ``x <= y`` is ``sigmoid((y - x + 1/2) / h)``, ``x == y`` is ``x <= y and y <= x``.
  Results are probabilities; ``and``/``or``/``not`` are ``p q``, ``p + q - p q``, ``1 - p``.
* Where: ``p a + (1 - p) b`` for a soft condition ``p``.

Infinite operands (the models use +-inf as the neutral element of masked min / max reductions)
take the exact operation (a where with an infinite branch selects by ``p > 1/2``, which is the exact
comparison for integer operands): the result is never NaN, but such masks carry no gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["soft_and", "soft_ceil", "soft_eq", "soft_floor", "soft_le", "soft_lt", "soft_max",
           "soft_min", "soft_not", "soft_or", "soft_trunc", "soft_where", "softmin_weights"]

_F = jnp.float64


def _finite(guard, *xs):
    """(all finite mask, the inputs with non-finite entries replaced by 0): the double-where that
    keeps NaN out of the gradient of the branch not taken. ``guard=False``: the caller knows the
    inputs are finite (no ops emitted)."""
    if not guard:
        return True, list(xs)
    ok = jnp.isfinite(xs[0])
    for x in xs[1:]:
        ok = ok & jnp.isfinite(x)
    return ok, [jnp.where(ok, x, 0.0) for x in xs]


def _scale(a, b, t):
    """The relative smoothing width ``t * (1 + (|a| + |b|) / 2)``."""
    return t * (1.0 + 0.5 * (jnp.abs(a) + jnp.abs(b)))


def soft_floor(x, t, guard: bool = True):
    """Relaxed ``floor(x)``: exact at integers and on ``[-1, 0)`` for every ``t``, ``-> floor`` as ``t -> 0``.

    ``guard`` (every op here): handle infinite entries (False when the caller knows there are none).
    """
    x = jnp.asarray(x, _F)
    ok, (x0,) = _finite(guard, x)
    n = jnp.floor(x0)
    r = x0 - n                                   # in [0, 1)
    c = 1.0 - 0.5 * jnp.minimum(t, 1.0)          # step centre: 1 - t/2 (t < 1), 1/2 (t >= 1)
    lo, hi = jax.nn.sigmoid(-c / t), jax.nn.sigmoid((1.0 - c) / t)
    phi = (jax.nn.sigmoid((r - c) / t) - lo) / (hi - lo)
    phi = jnp.where(n == -1.0, 0.0, phi)  # floor(x) = -1 on [-1, 0): no step toward 0 (so ceil(x) >= 1 for x > 0)
    return jnp.where(ok, n + phi, x) if guard else n + phi


def soft_ceil(x, t, guard: bool = True):
    """Relaxed ``ceil(x) = -floor(-x)``."""
    return -soft_floor(-jnp.asarray(x, _F), t, guard)


def soft_trunc(x, t, guard: bool = True):
    """Relaxed ``trunc(x)`` (toward zero): ``sign(x) * floor(|x|)``; continuous through 0."""
    x = jnp.asarray(x, _F)
    return jnp.where(x >= 0, soft_floor(x, t, guard), soft_ceil(x, t, guard))


def soft_max(a, b, t, guard: bool = True):
    """Relaxed ``maximum(a, b)``: the Boltzmann operator ``a s + b (1 - s)``, ``s = sigmoid((a - b) / h)``."""
    a, b = jnp.asarray(a, _F), jnp.asarray(b, _F)
    ok, (a0, b0) = _finite(guard, a, b)
    s = jax.nn.sigmoid((a0 - b0) / _scale(a0, b0, t))
    soft = a0 * s + b0 * (1.0 - s)  # (not b + (a - b) s: exactly a at s = 1)
    return jnp.where(ok, soft, jnp.maximum(a, b)) if guard else soft


def soft_min(a, b, t, guard: bool = True):
    """Relaxed ``minimum(a, b) = -max(-a, -b)``."""
    return -soft_max(-jnp.asarray(a, _F), -jnp.asarray(b, _F), t, guard)


def _compare(x, y, t, shift, exact, guard):
    x, y = jnp.asarray(x, _F), jnp.asarray(y, _F)
    ok, (x0, y0) = _finite(guard, x, y)
    p = jax.nn.sigmoid((y0 - x0 + shift) / _scale(x0, y0, t))
    return jnp.where(ok, p, exact(x, y).astype(_F)) if guard else p


def soft_lt(x, y, t, guard: bool = True):
    """Relaxed ``x < y`` for integer-valued operands (``x <= y - 1/2``), a probability in [0, 1]."""
    return _compare(x, y, t, -0.5, jnp.less, guard)


def soft_le(x, y, t, guard: bool = True):
    """Relaxed ``x <= y`` for integer-valued operands (``x <= y + 1/2``)."""
    return _compare(x, y, t, 0.5, jnp.less_equal, guard)


def soft_eq(x, y, t, guard: bool = True):
    """Relaxed ``x == y`` for integer-valued operands: ``(x <= y) and (y <= x)``."""
    return soft_le(x, y, t, guard) * soft_le(y, x, t, guard)


def soft_and(p, q):
    return p * q


def soft_or(p, q):
    return p + q - p * q


def soft_not(p):
    return 1.0 - p


def soft_where(p, a, b, guard: bool = True):
    """``p a + (1 - p) b``; where a branch is infinite, the exact selection by ``p > 1/2``."""
    p, a, b = jnp.asarray(p), jnp.asarray(a, _F), jnp.asarray(b, _F)
    if p.dtype == jnp.bool_:
        return jnp.where(p, a, b)
    ok, (a0, b0) = _finite(guard, a, b)
    mix = p * a0 + (1.0 - p) * b0  # exactly a (b) at p = 1 (0)
    return jnp.where(ok, mix, jnp.where(p > 0.5, a, b)) if guard else mix


def softmin_weights(costs, t, axis: int = -1):
    """Relaxed one-hot ``argmin`` over ``axis``: ``softmax(-log(costs) / t)`` (costs > 0).

    Relative (log-domain), so one temperature serves any cost scale; ``t -> 0`` gives the one-hot
    argmin (ties split evenly), and ``sum(w * costs)`` is a relaxed ``min`` over ``axis``.
    """
    return jax.nn.softmax(-jnp.log(jnp.asarray(costs, _F)) / t, axis=axis)
