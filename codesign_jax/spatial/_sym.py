"""Trace-time expression interning for the spatial model: CSE plus exact static folding.

The engine's formulas are written over plain arithmetic. Run over :class:`Sym` values (thin wrappers
of numpy / jax.numpy arrays), every operation is looked up in a table first, so a subexpression that
the case analysis forms many times (same operation, same operands) is emitted once; commutative
operations are keyed with sorted operands. Exact identities fold at trace time: ``x - x = 0``,
``x * 1 = x``, ``x * 0 = 0`` and ``0 / x = 0`` (all values are finite; divisors are positive sizes,
bandwidths or counts), ``x < x`` is False, ``min(x, x) = x``, ``where(c, a, a) = a`` and Python
constants evaluate in Python (IEEE float64, like numpy). Dataflow maps of size ``Sz(D)`` on D thus
fold to constants, and XLA receives a graph several times smaller than the unrolled formulas.
"""

from __future__ import annotations

import math

import numpy as np


def _ckey(x):
    return ("c", type(x).__name__, repr(x))


class Sym:
    """An interned array value (``a``: the numpy / jax array)."""

    __slots__ = ("a", "k", "ops", "op", "fn", "args")
    __array_priority__ = 1000

    def __init__(self, a, k, ops, op=None, fn=None, args=()):
        self.a, self.k, self.ops, self.op = a, k, ops, op  # op: operation name (None: an input)
        self.fn, self.args = fn, args  # lazy: a = fn(*lowered args), set by SymOps.lower_all

    __hash__ = object.__hash__

    def __bool__(self):
        raise TypeError("a traced spatial-model value has no static truth value")

    def __add__(self, o): return self.ops.bin("add", self, o)
    def __radd__(self, o): return self.ops.bin("add", o, self)
    def __sub__(self, o): return self.ops.bin("sub", self, o)
    def __rsub__(self, o): return self.ops.bin("sub", o, self)
    def __mul__(self, o): return self.ops.bin("mul", self, o)
    def __rmul__(self, o): return self.ops.bin("mul", o, self)
    def __truediv__(self, o): return self.ops.bin("div", self, o)
    def __rtruediv__(self, o): return self.ops.bin("div", o, self)
    def __neg__(self): return self.ops.bin("sub", 0.0, self)
    def __lt__(self, o): return self.ops.bin("lt", self, o)
    def __le__(self, o): return self.ops.bin("le", self, o)
    def __gt__(self, o): return self.ops.bin("lt", o, self)
    def __ge__(self, o): return self.ops.bin("le", o, self)
    def __eq__(self, o): return self.ops.bin("eq", self, o)
    def __ne__(self, o): return self.ops.bin("ne", self, o)
    def __and__(self, o): return self.ops.bin("and", self, o)
    def __rand__(self, o): return self.ops.bin("and", o, self)
    def __or__(self, o): return self.ops.bin("or", self, o)
    def __ror__(self, o): return self.ops.bin("or", o, self)
    def __invert__(self): return self.ops.un("not", self)


_COMMUTATIVE = {"add", "mul", "max", "min", "eq", "ne", "and", "or"}


class SymOps:
    """The op set of the engine (``where``, ``tdiv``, ``fdiv``, ``max``, ``min`` and ``xp.ceil`` /
    ``exp2`` / ``trunc`` / ``floor``) over :class:`Sym` values and Python constants."""

    def __init__(self, xp):
        self.backend = xp
        self.xp = self  # the engine calls ops.xp.ceil(...) etc.
        self.table = {}  # key -> node, in creation order
        self._inputs = []
        self.n = 0
        self.anchor = None
        b = xp
        self._bin = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
                     "div": lambda x, y: x / y, "lt": lambda x, y: x < y, "le": lambda x, y: x <= y,
                     "eq": lambda x, y: x == y, "ne": lambda x, y: x != y, "and": lambda x, y: x & y,
                     "or": lambda x, y: x | y, "max": b.maximum, "min": b.minimum}
        self._un = {"not": lambda x: ~x, "floor": b.floor, "ceil": b.ceil, "trunc": b.trunc}

    # -- boundary --------------------------------------------------------------------------------
    def lift(self, a):
        if isinstance(a, (Sym, bool, float)):
            return a
        self.n += 1
        s = Sym(a, ("in", self.n), self)
        self._inputs.append(s)
        if self.anchor is None:
            self.anchor = s
        return s

    def rounded(self, x):
        """``x`` (>= 0) as its own rounded float64: XLA (LLVM) may contract a product and a following
        add into one FMA, which rounds differently from numpy; ``max(x, 0)`` in between prevents that."""
        return x if self.backend is np else self.max(x, 0.0)

    def _divisor(self, y):
        """XLA rewrites division by a constant into multiplication by its reciprocal (not exact): a
        constant divisor that is not a power of 2 becomes a runtime value (``c + 0 * input``)."""
        if self.backend is np or not isinstance(y, float) or y <= 0 or math.frexp(y)[0] == 0.5 or self.anchor is None:
            return y
        return self._new(("opaque", repr(y)), lambda a: y + 0.0 * a, (self.anchor,))

    def _runtime_one(self, shape):
        """A 1.0 of ``shape`` that XLA cannot fold, built from the inputs whose shapes broadcast to it
        (not a broadcast scalar: XLA rewrites ``x / broadcast(b)`` into ``x * broadcast(1 / b)``)."""
        b, t, got = self.backend, 0.0, ()
        for a in sorted(self._inputs, key=lambda a: -np.size(a.a)):  # as few inputs as cover the shape
            sh = np.shape(a.a)
            if np.broadcast_shapes(sh, shape) == shape and np.broadcast_shapes(sh, got) != got:
                got = np.broadcast_shapes(sh, got)
                t = t + 0.0 * b.minimum(a.a, 1.0)  # min: an infinite input still gives 0
            if got == shape:
                break
        return b.broadcast_to(1.0 + t, shape)

    def lower_all(self, vals, share_cost: int = 32):
        """Evaluates the graph behind ``vals`` (list of Sym / constants) in creation order.

        XLA:CPU's loop fusion duplicates a cheap producer into every consumer fusion, so a subexpression
        shared by many cases was recomputed up to ~6x (11.7k fused ops for 2.1k traced ones, rs), and a
        value of a small shape (e.g. a layer-only quantity ``[L, 1]``) fused into a consumer of a larger
        one (``[L, A]``) is recomputed for every element of the larger shape. On the jax backend a value
        is therefore materialised once when its duplication would cost ``(users - 1) * ops >=
        share_cost`` (``ops``: its own unshared expression) or when a user has a larger shape (a boolean
        value passes this on to its float operands). Materialising means dividing by a runtime 1.0:
        exact, and XLA never duplicates a division (``lax.optimization_barrier`` does not help: XLA:CPU
        removes it before fusion). Results are identical; only fusion boundaries move.

        A backend with a ``lower_graph(ops, vals)`` method evaluates the graph itself instead (another
        numerics for the same formulas: ``codesign_jax.relax`` lowers each op to its smooth version).
        """
        lower_graph = getattr(self.backend, "lower_graph", None)
        if lower_graph is not None:
            return lower_graph(self, vals)
        roots = [v for v in vals if isinstance(v, Sym) and v.a is None]
        seen, stack = set(), list(roots)
        while stack:
            v = stack.pop()
            if id(v) in seen:
                continue
            seen.add(id(v))
            stack.extend(a for a in v.args if isinstance(a, Sym) and a.a is None)
        nodes = [v for v in self.table.values() if id(v) in seen]  # creation order: operands first
        syms = lambda v: [a for a in v.args if isinstance(a, Sym)]
        shape = lambda a: np.shape(a.a) if a.a is not None else shp[id(a)]
        uses, shp, isbool, grow = {}, {}, {}, set()
        for v in nodes:  # pass 1: shapes, dtypes, users
            shs = [shape(a) for a in syms(v)]
            shp[id(v)] = shs[0] if all(x == shs[0] for x in shs) else np.broadcast_shapes(*shs)
            isbool[id(v)] = v.op in _BOOL_OPS or (v.op == "where" and all(
                isinstance(b, bool) or (isinstance(b, Sym) and isbool.get(id(b), False)) for b in v.args[1:]))
            for a in syms(v):
                uses[id(a)] = uses.get(id(a), 0) + 1
                if a.a is None and math.prod(shape(a)) < math.prod(shp[id(v)]):
                    grow.add(id(a))
        for v in reversed(nodes):  # a boolean value that feeds a larger shape: materialise its operands
            if id(v) in grow and isbool[id(v)]:
                grow.update(id(a) for a in syms(v) if a.a is None)
        on = self.backend is not np and bool(share_cost) and bool(self._inputs)
        cost, ones = {}, {}
        def one(sh):
            if sh not in ones:
                ones[sh] = self._runtime_one(sh)
            return ones[sh]

        for v in nodes:  # pass 2: emit
            args = [a.a if isinstance(a, Sym) else a for a in v.args]
            if on and v.op == "div" and np.shape(args[1]) != shp[id(v)]:
                # XLA rewrites x / broadcast(b) into x * broadcast(1 / b) (inexact): give b the full shape.
                args[1] = args[1] * one(shp[id(v)])
            v.a = v.fn(*args)
            c = 1 + sum(cost.get(id(a), 0) for a in syms(v))
            n_use = uses.get(id(v), 0)
            if on and not isbool[id(v)] and (id(v) in grow or (n_use >= 2 and (n_use - 1) * c >= share_cost)):
                v.a, c = v.a / one(np.shape(v.a)), 0  # x / 1.0 == x exactly; XLA never duplicates a division
            cost[id(v)] = c
        return [v.a if isinstance(v, Sym) else v for v in vals]

    # -- interning -------------------------------------------------------------------------------
    def _new(self, key, fn, args):
        hit = self.table.get(key)
        if hit is None:
            self.n += 1
            hit = self.table[key] = Sym(None, ("v", self.n), self, key[0], fn, args)
        return hit

    @staticmethod
    def _k(x):
        return x.k if isinstance(x, Sym) else _ckey(x)

    def bin(self, op, x, y):
        xs, ys = isinstance(x, Sym), isinstance(y, Sym)
        if not xs and not ys:
            return self._const(op, x, y)
        f = _fold(op, x, y, xs, ys)
        if f is not _NO:
            return f
        if op == "div" and not ys:
            y = self._divisor(y)
        kx, ky = self._k(x), self._k(y)
        if op in _COMMUTATIVE and ky < kx:
            x, y, kx, ky = y, x, ky, kx
        return self._new((op, kx, ky), self._bin[op], (x, y))

    def un(self, op, x):
        if not isinstance(x, Sym):
            return self._const1(op, x)
        return self._new((op, x.k), self._un[op], (x,))

    def _const(self, op, x, y):
        if op in ("and", "or"):
            return bool(x and y) if op == "and" else bool(x or y)
        with np.errstate(all="ignore"):
            r = _NP_BIN[op](np.float64(x), np.float64(y))
        return bool(r) if isinstance(r, (bool, np.bool_)) else float(r)

    def _const1(self, op, x):
        if op == "not":
            return not x
        with np.errstate(all="ignore"):
            return float(getattr(np, op)(np.float64(x)))

    # -- the engine's op set ---------------------------------------------------------------------
    def where(self, c, a, b):
        if c is True or (isinstance(c, (bool, np.bool_)) and c):
            return a
        if c is False or isinstance(c, (bool, np.bool_)):
            return b
        if a is b or (not isinstance(a, Sym) and not isinstance(b, Sym) and _ckey(a) == _ckey(b)):
            return a
        ka, kb = self._k(a), self._k(b)
        return self._new(("where", c.k, ka, kb), self.backend.where, (c, a, b))

    def max(self, a, b):
        return self.bin("max", a, b)

    def min(self, a, b):
        return self.bin("min", a, b)

    def tdiv(self, a, b):  # C++ integer division (truncates toward zero)
        return self.un("trunc", a / b if isinstance(a, Sym) or isinstance(b, Sym) else self._const("div", a, b))

    def fdiv(self, a, b):  # floor division of non-negative integers
        return self.un("floor", a / b if isinstance(a, Sym) or isinstance(b, Sym) else self._const("div", a, b))

    def ceil(self, x):
        return self.un("ceil", x)

    def floor(self, x):
        return self.un("floor", x)

    def trunc(self, x):
        return self.un("trunc", x)

    def exp2(self, x):
        """2^x for integer x, exact (``ldexp``; XLA's ``exp2`` is off by ulps at integers)."""
        if not isinstance(x, Sym):
            return float(np.ldexp(1.0, int(max(min(x, 1100.0), -1100.0))))
        b = self.backend
        if b is np:
            return self._new(("pow2", x.k), lambda a: np.ldexp(1.0, np.clip(a, -1100.0, 1100.0).astype(np.int32)), (x,))
        return self._new(("pow2", x.k), _pow2_bits, (x,))



def _pow2_bits(x):
    """2^x for integer-valued float64 x, exact, from the IEEE-754 bits (jnp.ldexp lowers to a scalar
    ``pow`` library call on XLA:CPU): normal exponents, subnormals down to 2^-1074, 0 below, inf above."""
    import jax  # local: the numpy backend must not need jax
    import jax.numpy as jnp
    e = jnp.clip(x, -1100.0, 1100.0).astype(jnp.int64)
    bits = jax.lax.bitcast_convert_type
    normal = bits(jax.lax.shift_left(jnp.clip(e, -1022, 1023) + 1023, jnp.int64(52)), jnp.float64)
    sub = bits(jax.lax.shift_left(jnp.int64(1), jnp.clip(e + 1074, 0, 51)), jnp.float64)
    return jnp.where(e > 1023, jnp.inf, jnp.where(e >= -1022, normal, jnp.where(e >= -1074, sub, 0.0)))


_NO = object()
_BOOL_OPS = frozenset({"lt", "le", "eq", "ne", "and", "or", "not"})
_NP_BIN = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "lt": np.less,
           "le": np.less_equal, "eq": np.equal, "ne": np.not_equal, "max": np.maximum, "min": np.minimum}


def _is(v, c):
    return not isinstance(v, Sym) and not isinstance(v, bool) and v == c


def _fold(op, x, y, xs, ys):
    """Exact identities (values finite, divisors positive); ``_NO`` when none applies."""
    if op == "add":
        if _is(x, 0.0):
            return y
        if _is(y, 0.0):
            return x
        for a, b in ((x, y), (y, x)):  # (p - q) + q = p (integers below 2^53)
            if isinstance(a, Sym) and a.op == "sub" and a.args[1] is b:
                return a.args[0]
    elif op == "sub":
        if x is y:
            return 0.0
        if _is(y, 0.0):
            return x
        if isinstance(x, Sym) and x.op == "add":  # (p + q) - p = q
            if x.args[0] is y:
                return x.args[1]
            if x.args[1] is y:
                return x.args[0]
    elif op == "mul":
        if _is(x, 1.0):
            return y
        if _is(y, 1.0):
            return x
        if _is(x, 0.0) or _is(y, 0.0):
            return 0.0
    elif op == "div":
        if _is(y, 1.0):
            return x
        if _is(x, 0.0):
            return 0.0
    elif op in ("max", "min"):
        if x is y:
            return x
        inf = math.inf if op == "min" else -math.inf
        if _is(x, inf):
            return y
        if _is(y, inf):
            return x
    elif op in ("lt", "ne"):
        if x is y:
            return False
    elif op in ("le", "eq"):
        if x is y:
            return True
    elif op in ("and", "or"):
        if x is y:
            return x
        for a, b in ((x, y), (y, x)):
            if isinstance(a, (bool, np.bool_)):
                return (b if a else False) if op == "and" else (True if a else b)
    return _NO
