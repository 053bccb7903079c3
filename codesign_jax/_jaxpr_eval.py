"""Trace-time constants of a jaxpr: small values known before the program runs, and the trip counts
of ``while`` loops whose bounds are such constants (``fori_loop`` with bounds JAX could not turn
into a ``scan``, hand-written counters), used by :mod:`codesign_jax.trace`.

Values are numpy scalars or small arrays (at most :data:`MAX_SIZE` elements); ``None`` means not
known. Only side-effect-free integer / comparison / select primitives are evaluated (with numpy;
JAX's integer division truncates toward zero, which :func:`_div` reproduces).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from jax.extend import core as jcore

__all__ = ["MAX_SIZE", "MAX_TRIPS", "eval_eqn", "eval_jaxpr", "read", "while_trip_count"]

#: Largest constant (elements) the evaluator keeps.
MAX_SIZE = 16
#: Iterations simulated when a loop's counter is not a plain ``i + step < bound`` counter.
MAX_TRIPS = 10_000


def _div(a, b):
    q = np.trunc(np.true_divide(a, b)) if np.issubdtype(np.result_type(a, b), np.integer) else a / b
    return np.asarray(q).astype(np.result_type(a, b))


def _rem(a, b):
    return np.asarray(np.fmod(a, b)).astype(np.result_type(a, b))


_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum, "min": np.minimum,
           "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal, "eq": np.equal,
           "ne": np.not_equal, "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
           "div": _div, "rem": _rem}
_UNARY = {"neg": np.negative, "not": lambda x: np.invert(x) if x.dtype != bool else ~x, "abs": np.abs,
          "sign": np.sign, "floor": np.floor, "ceil": np.ceil, "copy": lambda x: x, "copy_p": lambda x: x,
          "broadcast_in_dim": None, "convert_element_type": None}


def read(v, env: dict) -> Any:
    """The known value of atom ``v`` (a Literal's value, or ``env[v]``), else None."""
    if isinstance(v, jcore.Literal):
        return np.asarray(v.val)
    return env.get(v)


def eval_eqn(eqn, vals: Sequence) -> list:
    """Output values of ``eqn`` given its input values (None where unknown)."""
    name = eqn.primitive.name
    outs = [None] * len(eqn.outvars)
    if any(v is None for v in vals) or len(eqn.outvars) != 1:
        return outs
    aval = eqn.outvars[0].aval
    shape = getattr(aval, "shape", None)
    if shape is None or int(np.prod(shape)) > MAX_SIZE:
        return outs
    try:
        dtype = np.dtype(aval.dtype)
    except TypeError:  # extended dtypes (PRNG keys)
        return outs
    if name in _BINARY and len(vals) == 2:
        out = _BINARY[name](vals[0], vals[1])
    elif name in _UNARY and len(vals) == 1:
        fn = _UNARY[name]
        out = vals[0] if fn is None else fn(vals[0])
    elif name in ("reshape", "squeeze") and len(vals) == 1:
        out = np.reshape(vals[0], shape)
    elif name == "select_n":
        out = np.choose(np.asarray(vals[0]).astype(np.int64), vals[1:])
    elif name == "clamp":
        out = np.clip(vals[1], vals[0], vals[2])
    else:
        return outs
    try:
        return [np.broadcast_to(np.asarray(out).astype(dtype), shape).copy()]
    except (ValueError, TypeError):
        return outs


def eval_jaxpr(jaxpr, consts: Sequence, args: Sequence) -> list:
    """Known outputs of ``jaxpr`` (open) for known ``consts``/``args`` (None entries unknown)."""
    env = {}
    for v, x in zip(list(jaxpr.constvars) + list(jaxpr.invars), list(consts) + list(args)):
        if x is not None:
            env[v] = x
    for eqn in jaxpr.eqns:
        for v, x in zip(eqn.outvars, eval_eqn(eqn, [read(a, env) for a in eqn.invars])):
            if x is not None:
                env[v] = x
    return [read(v, env) for v in jaxpr.outvars]


def _small(x):
    try:
        return np.asarray(x) if np.size(x) <= MAX_SIZE else None
    except (TypeError, ValueError):  # extended dtypes (PRNG keys)
        return None


def _closed(c):
    """(open jaxpr, known consts) of a ClosedJaxpr."""
    return c.jaxpr, [_small(x) for x in c.consts]


def _affine(cond, body, cconsts, bconsts, carry) -> int | None:
    """Trip count of the counter pattern ``i = i0; while i < b (or <=, >, >=, !=): i += step``."""
    cj, cc = _closed(cond)
    bj, bc = _closed(body)
    if len(cj.eqns) != 1 or cj.eqns[0].primitive.name not in ("lt", "le", "gt", "ge", "ne"):
        return None
    cmp = cj.eqns[0]
    pos = {v: i for i, v in enumerate(cj.invars[len(cconsts):])}
    cenv = {v: x for v, x in zip(list(cj.constvars) + list(cj.invars),
                                 cc + list(cconsts) + list(carry)) if x is not None}
    a, b = cmp.invars
    name = cmp.primitive.name
    carry_pos = lambda v: pos.get(v) if isinstance(v, jcore.Var) else None
    if carry_pos(a) is None:  # bound < i  ->  i > bound
        a, b = b, a
        name = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "ne": "ne"}[name]
    if carry_pos(a) is None:
        return None
    i = pos[a]
    i0, bound = carry[i], read(b, cenv)
    if carry_pos(b) is not None:  # the bound is a carry: it must come out of the body unchanged
        k = pos[b]
        if bj.outvars[k] is not bj.invars[len(bconsts) + k]:
            return None
    if i0 is None or bound is None or not np.issubdtype(np.asarray(i0).dtype, np.integer):
        return None
    # body: out_i = add(in_i, step) (or add(step, in_i), or sub(in_i, step)) with a known step
    in_i, out_i = bj.invars[len(bconsts) + i], bj.outvars[i]
    benv = {v: x for v, x in zip(list(bj.constvars) + list(bj.invars[:len(bconsts)]), bc + list(bconsts))
            if x is not None}
    prod = [e for e in bj.eqns if out_i in e.outvars]
    if len(prod) != 1 or prod[0].primitive.name not in ("add", "sub"):
        return None
    x, y = prod[0].invars
    if prod[0].primitive.name == "add" and y is in_i:
        x, y = y, x
    if x is not in_i:
        return None
    step = read(y, benv)
    if step is None:
        return None
    step = int(step) if prod[0].primitive.name == "add" else -int(step)
    i0, bound = int(i0), int(bound)
    if name == "le":
        name, bound = "lt", bound + 1
    elif name == "ge":
        name, bound = "gt", bound - 1
    if name == "lt":
        return 0 if i0 >= bound else (-(-(bound - i0) // step) if step > 0 else None)
    if name == "gt":
        return 0 if i0 <= bound else (-(-(i0 - bound) // -step) if step < 0 else None)
    # ne: ends when i hits the bound exactly
    if i0 == bound:
        return 0
    return (bound - i0) // step if step and (bound - i0) % step == 0 and (bound - i0) // step > 0 else None


def while_trip_count(eqn, env: dict) -> int | None:
    """Trip count of a ``while`` eqn whose counter is known at trace time, else None.

    The plain counter pattern is solved in closed form; anything else is simulated on the known
    scalar carries for up to :data:`MAX_TRIPS` iterations (None if the condition depends on an
    unknown value or the loop runs longer).
    """
    p = eqn.params
    cn, bn = p["cond_nconsts"], p["body_nconsts"]
    vals = [read(v, env) for v in eqn.invars]
    cconsts, bconsts, carry = vals[:cn], vals[cn:cn + bn], vals[cn + bn:]
    n = _affine(p["cond_jaxpr"], p["body_jaxpr"], cconsts, bconsts, carry)
    if n is not None:
        return n
    cj, cc = _closed(p["cond_jaxpr"])
    bj, bc = _closed(p["body_jaxpr"])
    for trips in range(MAX_TRIPS + 1):
        go = eval_jaxpr(cj, cc, list(cconsts) + list(carry))[0]
        if go is None:
            return None
        if not bool(go):
            return trips
        carry = eval_jaxpr(bj, bc, list(bconsts) + list(carry))
    return None
