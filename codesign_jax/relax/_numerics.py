"""The relaxed numerics: an array namespace ``xp`` that the exact models' formulas run on unchanged.

:class:`Relaxed` ``(t)`` is the ``xp`` argument of :func:`codesign_jax.systolic.systolic_metrics` /
:func:`~codesign_jax.systolic.compute_cycles` and of the spatial model's ``_report``. Its arrays are
:class:`SoftArray` s: jax.numpy float64 arrays whose comparisons return probabilities and whose
``& | ~`` combine them (the formulas compare with Python operators), and the namespace's
``floor`` / ``ceil`` / ``trunc`` / ``maximum`` / ``minimum`` / ``where`` are the smooth ops of
:mod:`codesign_jax.relax._ops`. A static condition (a Python / NumPy bool: a dataflow or bandwidth
mode fixed for the whole batch) still selects its formula while tracing.

The spatial model first interns its formulas into a graph (``spatial/_sym.py``); the namespace's
:meth:`Relaxed.lower_graph` evaluates that same graph node by node on soft arrays (SymOps calls it in
place of its XLA-specific lowering). No cost formula is written here: only the op set changes.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from codesign_jax.relax import _ops
from codesign_jax.spatial._sym import Sym

__all__ = ["Relaxed", "SoftArray", "unwrap"]

_F = jnp.float64


def unwrap(x):
    """The jax array inside a :class:`SoftArray` (anything else unchanged)."""
    return x.v if isinstance(x, SoftArray) else x


def _finite(x) -> bool:
    """Statically known finite: a SoftArray's flag, a Python / NumPy constant's value; a jax array
    (a model input) is taken as finite."""
    if isinstance(x, SoftArray):
        return x.fin
    if isinstance(x, (bool, int, float, np.generic, np.ndarray)):
        return bool(np.all(np.isfinite(x)))
    return True


def _logical(x):
    """A truth value as a float probability (Python / NumPy bools become 0.0 / 1.0)."""
    x = unwrap(x)
    return jnp.asarray(x, _F) if not hasattr(x, "dtype") or x.dtype == bool else x


class SoftArray:
    """A float64 jax array ``v`` whose comparisons are soft at temperature ``t`` (see ``_ops``).

    Arithmetic is jax.numpy's; ``<, <=, >, >=, ==, !=`` return probabilities (SoftArrays in [0, 1]);
    ``&, |, ~`` are the soft and / or / not. It has no truth value (a branch on it would be a
    silent hard decision). ``fin`` (static) says the values are known finite: every value computed
    from finite inputs and constants by ``+ - * /`` and the smooth ops is (the models never divide
    by zero); the models' +-inf constants (neutral elements of masked reductions) clear it, and
    only then do the smooth ops emit their guards for infinite entries.
    """

    __slots__ = ("v", "t", "fin")
    __array_ufunc__ = None  # NumPy scalars / arrays on the left defer to the reflected operators

    def __init__(self, v, t, fin: bool = True):
        self.v, self.t, self.fin = v, t, fin

    def _new(self, v, *others):
        return SoftArray(v, self.t, self.fin and all(_finite(o) for o in others))

    shape = property(lambda self: jnp.shape(self.v))
    ndim = property(lambda self: jnp.ndim(self.v))
    size = property(lambda self: jnp.size(self.v))
    dtype = property(lambda self: self.v.dtype)

    def __bool__(self):
        raise TypeError("a relaxed value has no static truth value")

    def __repr__(self):
        return f"SoftArray({self.v!r}, t={self.t!r}, fin={self.fin})"

    __hash__ = None

    def _cmp(self, op, x, y, *others):
        g = not (self.fin and all(_finite(o) for o in others))
        return SoftArray(op(unwrap(x), unwrap(y), self.t, g), self.t)  # probabilities: finite

    def __add__(self, o): return self._new(self.v + unwrap(o), o)
    def __radd__(self, o): return self._new(unwrap(o) + self.v, o)
    def __sub__(self, o): return self._new(self.v - unwrap(o), o)
    def __rsub__(self, o): return self._new(unwrap(o) - self.v, o)
    def __mul__(self, o): return self._new(self.v * unwrap(o), o)
    def __rmul__(self, o): return self._new(unwrap(o) * self.v, o)
    def __truediv__(self, o): return self._new(self.v / unwrap(o), o)
    def __rtruediv__(self, o): return self._new(unwrap(o) / self.v, o)
    def __neg__(self): return self._new(-self.v)
    def __pos__(self): return self
    def __lt__(self, o): return self._cmp(_ops.soft_lt, self, o, o)
    def __le__(self, o): return self._cmp(_ops.soft_le, self, o, o)
    def __gt__(self, o): return self._cmp(_ops.soft_lt, o, self, o)
    def __ge__(self, o): return self._cmp(_ops.soft_le, o, self, o)
    def __eq__(self, o): return self._cmp(_ops.soft_eq, self, o, o)
    def __ne__(self, o): return self._new(_ops.soft_not(self._cmp(_ops.soft_eq, self, o, o).v))
    def __and__(self, o): return self._new(_ops.soft_and(_logical(self), _logical(o)))
    __rand__ = __and__
    def __or__(self, o): return self._new(_ops.soft_or(_logical(self), _logical(o)))
    __ror__ = __or__
    def __invert__(self): return self._new(_ops.soft_not(_logical(self)))


class Relaxed:
    """Array namespace ``xp`` with smooth discrete ops at temperature ``t`` (float or traced scalar).

    Pass it where a model takes ``xp`` (``systolic_metrics(Relaxed(t), g, a)``); its results are
    :class:`SoftArray` s (:func:`unwrap` them). ``t -> 0`` converges to the exact model.
    """

    float64 = _F

    def __init__(self, temperature):
        self.t = jnp.asarray(temperature, _F)

    def _wrap(self, v, *inputs) -> SoftArray:
        return SoftArray(v, self.t, all(_finite(x) for x in inputs))

    @staticmethod
    def _guard(*inputs) -> bool:
        return not all(_finite(x) for x in inputs)

    # -- array construction and shapes --------------------------------------------------------------
    def asarray(self, x, dtype=None) -> SoftArray:
        if isinstance(x, SoftArray):
            return x if dtype is None else SoftArray(jnp.asarray(x.v, dtype), self.t, x.fin)
        return self._wrap(jnp.asarray(x, dtype), x)

    def zeros_like(self, x) -> SoftArray:
        return self._wrap(jnp.zeros_like(unwrap(x)))

    def broadcast_to(self, x, shape) -> SoftArray:
        return self._wrap(jnp.broadcast_to(unwrap(x), shape), x)

    @staticmethod
    def shape(x) -> tuple:
        return jnp.shape(unwrap(x))

    broadcast_shapes = staticmethod(jnp.broadcast_shapes)

    # -- the smooth op set --------------------------------------------------------------------------
    def floor(self, x) -> SoftArray:
        return self._wrap(_ops.soft_floor(unwrap(x), self.t, self._guard(x)), x)

    def ceil(self, x) -> SoftArray:
        return self._wrap(_ops.soft_ceil(unwrap(x), self.t, self._guard(x)), x)

    def trunc(self, x) -> SoftArray:
        return self._wrap(_ops.soft_trunc(unwrap(x), self.t, self._guard(x)), x)

    def maximum(self, a, b) -> SoftArray:
        return self._wrap(_ops.soft_max(unwrap(a), unwrap(b), self.t, self._guard(a, b)), a, b)

    def minimum(self, a, b) -> SoftArray:
        return self._wrap(_ops.soft_min(unwrap(a), unwrap(b), self.t, self._guard(a, b)), a, b)

    def where(self, c, a, b) -> SoftArray:
        return self._wrap(_ops.soft_where(_logical(c), unwrap(a), unwrap(b), self._guard(a, b)), a, b)

    def exp2(self, x) -> SoftArray:
        """``2**x`` (smooth; the exact backends build it from IEEE bits for exact integer powers).
        Overflows to inf for ``x > 1024`` as they do, so the result is not known finite."""
        return SoftArray(jnp.exp2(jnp.clip(jnp.asarray(unwrap(x), _F), -1100.0, 1100.0)), self.t, False)

    # -- the spatial model's symbolic graph ---------------------------------------------------------
    def lower_graph(self, ops: Any, vals: list) -> list:
        """Evaluates the interned graph behind ``vals`` (``spatial/_sym.py``) on soft arrays.

        Each node applies its own operation to its lowered operands: arithmetic and comparisons are
        Python operators (soft on :class:`SoftArray`), ``max / min / floor / ceil / trunc / where``
        were bound to this namespace when the graph was built, and ``pow2`` (exact IEEE-bit powers
        on the exact backends) becomes :meth:`exp2`. Nodes run in creation order (operands first).
        """
        seen, stack = set(), [v for v in vals if isinstance(v, Sym) and v.a is None]
        while stack:
            v = stack.pop()
            if id(v) not in seen:
                seen.add(id(v))
                stack.extend(a for a in v.args if isinstance(a, Sym) and a.a is None)
        for v in ops.table.values():
            if id(v) in seen:
                args = [a.a if isinstance(a, Sym) else a for a in v.args]
                v.a = self.exp2(args[0]) if v.op == "pow2" else v.fn(*args)
        return [v.a if isinstance(v, Sym) else v for v in vals]


def is_soft(x) -> bool:
    return isinstance(x, SoftArray)


def to_array(x) -> Any:
    """A model output as a float64 jax array (SoftArrays unwrapped, Python / NumPy scalars lifted)."""
    x = unwrap(x)
    return jnp.asarray(x, _F) if isinstance(x, (bool, int, float, np.generic)) else x
