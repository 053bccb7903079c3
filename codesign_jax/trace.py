"""Layer tables from any JAX or Flax function, read off its jaxpr.

``workloads_from_fn(fn, *example_args)`` traces ``fn`` with :func:`jax.make_jaxpr` (nothing is
computed; ``jax.ShapeDtypeStruct`` arguments work; arguments that are not arrays or pytrees of arrays,
such as a ``train`` flag, are static) and returns the house's
:class:`~codesign_jax.workloads.LayerTable`: one row per multiply-accumulate primitive,
``conv_general_dilated`` as a conv row and ``dot_general`` as a GEMM row (geometry and MAC
conventions in :mod:`codesign_jax._jaxpr_ops`), with ``repeat`` counting the whole batch, the batch
dimensions of batched matmuls and the trip counts of every enclosing loop, so ``table.macs.sum()``
is the MACs of one call of ``fn``.

Nested jaxprs are walked: ``jit``, ``custom_jvp_call`` / ``custom_vjp_call`` (the primal function),
``remat`` / ``checkpoint``, ``scan`` (times its ``length``), ``while`` (times its trip count when
the counter and bound are known at trace time, e.g. ``fori_loop`` with constant bounds; otherwise
the body is counted once and the loop is listed in the warning), ``cond`` / ``switch`` (a branch
index known at trace time takes that branch; otherwise every branch is costed, its rows named
``.../cond_branch<i>/...`` and flagged in :attr:`Trace.in_cond`, so the total is an upper bound of
what runs), ``shard_map`` (times the devices of its manual mesh axes, shapes being per shard) and
any other primitive holding a jaxpr (counted once, listed in the warning).

Row names are the source's name stack: Flax module paths (``Model/Block_0/Conv_0``), einsum specs,
``jax.named_scope``, with ``jvp(...)`` / ``transpose(...)`` marking a traced gradient; a row with no
scope is named ``<function>:<line>`` of the user code that issued it. Repeated names get ``#2``,
``#3``, ...

Elementwise and reduction ops (``add``, ``exp``, ``reduce_sum``, ...) are not layers; they are summed
in :attr:`Trace.vector_ops`. Primitives that do arithmetic the table does not cost (``fft``,
``reduce_window_*`` pooling, linear algebra, custom / foreign calls, callbacks, convolutions with
parameters that have no layer form, unknown primitives) are listed, with their counts and shapes,
in ONE :class:`UncostedWarning` per call, never dropped silently.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import warnings
from typing import Any, Callable

import jax
import numpy as np
from jax.extend import core as jcore
from jax.extend import source_info_util

from codesign_jax import _jaxpr_eval as ev
from codesign_jax._jaxpr_ops import Unsupported, conv_row, dot_row
from codesign_jax.workloads import LayerTable

__all__ = ["Trace", "Uncosted", "UncostedWarning", "trace_fn", "workloads_from_flax", "workloads_from_fn"]


class UncostedWarning(UserWarning):
    """Arithmetic in a traced function that its layer table does not cost."""


@dataclasses.dataclass(frozen=True)
class Uncosted:
    """One kind of uncosted operation: ``primitive`` ran ``count`` times (trip counts included) on
    operands ``shapes`` (distinct signatures, e.g. ``'f32[8,32,32,16] window (1, 2, 2, 1)'``)."""

    primitive: str
    reason: str
    count: int
    shapes: tuple

    def __str__(self) -> str:
        return f"{self.primitive} x{self.count} ({self.reason}) [{'; '.join(self.shapes)}]"


@dataclasses.dataclass(frozen=True)
class Trace:
    """What :func:`trace_fn` read off a jaxpr.

    Attributes:
      table: the layer table (``n`` rows, one per MAC primitive in program order).
      ops: ``[n]`` the primitive behind each row with its operand shapes and parameters.
      in_cond: bool ``[n]``, rows inside a ``cond`` branch whose index is unknown at trace time (all
        branches are costed; one runs).
      uncosted: arithmetic not in the table (see the module docstring).
      vector_ops: ``{primitive: (executions, output elements)}`` of elementwise / reduction ops.
      notes: ``{note: count}``, approximations in the table's geometry (MACs stay exact).
    """

    table: LayerTable
    ops: tuple
    in_cond: np.ndarray
    uncosted: tuple
    vector_ops: dict
    notes: dict

    def warning(self, who: str = "trace") -> str:
        """The warning text ('' when there is nothing to report)."""
        parts = []
        if self.uncosted:
            parts.append(f"{who}: {sum(u.count for u in self.uncosted)} operation(s) do arithmetic its "
                         f"layer table does not cost: " + ", ".join(map(str, self.uncosted)) + ".")
        if self.notes:
            parts.append(f"{who}: approximations (MACs exact): " + "; ".join(
                f"{k} (x{v})" for k, v in self.notes.items()) + ".")
        return " ".join(parts)


# Primitives that move or reinterpret data without arithmetic.
_NO_ARITH = frozenset("""
    broadcast_in_dim reshape squeeze expand_dims transpose slice dynamic_slice dynamic_update_slice gather
    concatenate pad rev iota copy copy_p convert_element_type bitcast_convert_type select_n
    sharding_constraint device_put stop_gradient reduce_precision split empty empty2 mesh_cast reshard pvary
    optimization_barrier name random_seed random_wrap random_unwrap random_bits random_split random_fold_in
    create_token after_all axis_index all_gather all_to_all ppermute pbroadcast scatter real imag complex
    conj get swap platform_index unreduced sort argsort top_k approx_top_k rng_bit_generator rng_uniform
    debug_callback debug_print""".split())
# Elementwise and reduction arithmetic: summed in Trace.vector_ops, not layers.
_VECTOR = frozenset("""
    abs acos acosh add add_any add_jaxvals and asin asinh atan atan2 atanh cbrt ceil clamp clz cos cosh
    cumlogsumexp cummax cummin cumprod cumsum digamma div eq erf erf_inv erfc exp exp2 expm1 floor ge gt
    igamma igamma_grad_a igammac integer_pow is_finite le lgamma log log1p logistic lt max min mul ne neg
    nextafter not or polygamma population_count pow reduce_and reduce_max reduce_min reduce_or reduce_prod
    reduce_sum reduce_xor argmax argmin rem round rsqrt scatter_add scatter_sub scatter_mul scatter_min
    scatter_max shift_left shift_right_arithmetic shift_right_logical sign sin sinh sqrt square sub tan tanh
    xor zeta regularized_incomplete_beta bessel_i0e bessel_i1e random_gamma threefry2x32 psum pmax pmin
    psum_scatter reduce tie_in""".split())
_CALLS = {"jit": "jaxpr", "pjit": "jaxpr", "closed_call": "call_jaxpr", "core_call": "call_jaxpr",
          "custom_jvp_call": "call_jaxpr", "custom_vjp_call": "call_jaxpr", "custom_vjp_call_jaxpr": "fun_jaxpr",
          "remat2": "jaxpr", "checkpoint": "jaxpr", "remat": "jaxpr"}
_SHAPE_PARAMS = ("window_dimensions", "window_strides", "fft_type", "fft_lengths", "dimension_numbers")


def _small(c):
    """A closed-over constant as a numpy value if it is small and numeric, else None (unknown)."""
    try:
        return np.asarray(c) if np.size(c) <= ev.MAX_SIZE else None
    except (TypeError, ValueError):  # PRNG keys and other extended dtypes
        return None


def _open(j) -> tuple:
    """(open jaxpr, const values or None) of a Jaxpr or ClosedJaxpr."""
    if isinstance(j, jcore.ClosedJaxpr):
        return j.jaxpr, [_small(c) for c in j.consts]
    return j, [None] * len(j.constvars)


def _sig(v) -> str:
    aval = getattr(v, "aval", None)
    try:
        return aval.str_short(short_dtypes=True)
    except (AttributeError, TypeError):
        return str(aval)


def _user_site(eqn) -> str:
    """``function:line`` of the user code that issued ``eqn`` ('' if unknown)."""
    m = re.search(r":(\d+)(?::\d+)? \((.+)\)$", source_info_util.summarize(eqn.source_info))
    return f"{m.group(2)}:{m.group(1)}" if m else ""


class _Walker:
    """Collects rows, uncosted ops, vector-op totals and notes while walking nested jaxprs."""

    def __init__(self):
        self.rows, self.names, self.ops, self.in_cond = [], [], [], []
        self.uncosted: dict = {}
        self.vector: dict = {}
        self.notes: dict = {}
        self._seen: dict = {}

    def _uncosted(self, eqn, reason: str, mult: int):
        entry = self.uncosted.setdefault((eqn.primitive.name, reason), [0, {}])
        entry[0] += mult
        extra = [f"{k} {eqn.params[k]}" for k in _SHAPE_PARAMS
                 if k in eqn.params and eqn.primitive.name not in ("dot_general", "conv_general_dilated")]
        entry[1][" x ".join(_sig(v) for v in eqn.invars) + "".join(" " + e for e in extra)] = None

    def _name(self, eqn, prefix: tuple) -> str:
        scope = str(eqn.source_info.name_stack)
        if not scope or "()" in scope:  # no scope (plain JAX), or only transforms: jvp(), transpose(jvp())
            site = _user_site(eqn)
            scope = scope.replace("()", f"({site})") if scope else site
        base = "/".join(p for p in prefix + (scope,) if p) or eqn.primitive.name
        k = self._seen[base] = self._seen.get(base, 0) + 1
        return base if k == 1 else f"{base}#{k}"

    def _add(self, eqn, row: dict, prefix: tuple, mult: int, in_cond: bool, notes=()):
        row = dict(row, repeat=row["repeat"] * mult)
        self.rows.append(row)
        self.names.append(self._name(eqn, prefix))
        p = eqn.params
        detail = ""
        if eqn.primitive.name == "conv_general_dilated":
            detail = (f" strides {tuple(p['window_strides'])} padding {tuple(map(tuple, p['padding']))} "
                      f"lhs_dilation {tuple(p['lhs_dilation'])} rhs_dilation {tuple(p['rhs_dilation'])} "
                      f"groups {p['feature_group_count']}/{p['batch_group_count']}")
        else:
            detail = f" dimension_numbers {p['dimension_numbers']}"
        self.ops.append(f"{eqn.primitive.name} {' x '.join(_sig(v) for v in eqn.invars)} -> "
                        f"{_sig(eqn.outvars[0])}{detail}" + (f" (x{mult})" if mult > 1 else ""))
        self.in_cond.append(in_cond)
        for n in notes:
            self.notes[n] = self.notes.get(n, 0) + 1

    def walk(self, jaxpr, consts, args, prefix: tuple, mult: int, in_cond: bool):
        """Walks an open ``jaxpr`` with known ``consts``/``args`` (None entries unknown)."""
        env = {v: x for v, x in zip(list(jaxpr.constvars) + list(jaxpr.invars), list(consts) + list(args))
               if x is not None}
        for eqn in jaxpr.eqns:
            vals = [ev.read(v, env) for v in eqn.invars]
            for v, x in zip(eqn.outvars, ev.eval_eqn(eqn, vals)):
                if x is not None:
                    env[v] = x
            self.eqn(eqn, vals, env, prefix, mult, in_cond)

    def _sub(self, j, args, prefix, mult, in_cond):
        if mult == 0:  # a loop that never runs (scan of length 0)
            return
        jaxpr, consts = _open(j)
        args = list(args) if len(args) == len(jaxpr.invars) else [None] * len(jaxpr.invars)
        self.walk(jaxpr, consts, args, prefix, mult, in_cond)

    def eqn(self, eqn, vals, env, prefix: tuple, mult: int, in_cond: bool):
        name, p = eqn.primitive.name, eqn.params
        inner = prefix + (str(eqn.source_info.name_stack).replace("()", ""),)
        shape = lambda v: tuple(int(d) for d in v.aval.shape)
        if name == "dot_general":
            row = dot_row(shape(eqn.invars[0]), shape(eqn.invars[1]), p["dimension_numbers"])
            if row is not None:
                self._add(eqn, row, prefix, mult, in_cond)
        elif name == "conv_general_dilated":
            try:
                row, notes = conv_row(shape(eqn.invars[0]), shape(eqn.invars[1]), shape(eqn.outvars[0]), p)
            except Unsupported as e:
                self._uncosted(eqn, f"no layer form: {e}", mult)
                return
            if row is not None:
                self._add(eqn, row, prefix, mult, in_cond, notes)
        elif name in _CALLS and _CALLS[name] in p:
            self._sub(p[_CALLS[name]], vals, inner, mult, in_cond)
        elif name == "scan":
            nc = p["num_consts"]
            self._sub(p["jaxpr"], vals[:nc] + [None] * (len(vals) - nc), inner, mult * int(p["length"]), in_cond)
        elif name == "while":
            trips = ev.while_trip_count(eqn, env)
            if trips is None:
                self._uncosted(eqn, "trip count not known at trace time: body counted once", mult)
            cn, bn = p["cond_nconsts"], p["body_nconsts"]
            self._sub(p["cond_jaxpr"], vals[:cn] + [None] * (len(vals) - cn - bn), inner,
                      mult * (1 if trips is None else trips + 1), in_cond)
            if trips != 0:
                self._sub(p["body_jaxpr"], vals[cn:cn + bn] + [None] * (len(vals) - cn - bn), inner,
                          mult * (trips or 1), in_cond)
        elif name == "cond":
            branches, index = p["branches"], vals[0]
            if index is not None:
                i = int(np.clip(int(index), 0, len(branches) - 1))
                self._sub(branches[i], vals[1:], inner, mult, in_cond)
            else:
                for i, b in enumerate(branches):
                    self._sub(b, vals[1:], inner + (f"cond_branch{i}",), mult, True)
        elif name == "shard_map":
            axes = p.get("newly_manual_axes", p.get("manual_axes", ())) or ()
            shards = math.prod(int(p["mesh"].shape[a]) for a in axes)
            self._sub(p["jaxpr"], vals, inner, mult * shards, in_cond)
        elif name == "xla_pmap":
            self._sub(p["call_jaxpr"], [None] * len(vals), inner, mult * int(p["axis_size"]), in_cond)
        elif name in _NO_ARITH:
            return
        elif name in _VECTOR:
            n, e = self.vector.get(name, (0, 0))
            elems = sum(math.prod(getattr(v.aval, "shape", ())) for v in eqn.outvars)
            self.vector[name] = (n + mult, e + mult * elems)
        else:
            subs = list(jcore.jaxprs_in_params(p))
            if subs:
                self._uncosted(eqn, "holds a jaxpr of unknown trip count: counted once", mult)
                for j in subs:
                    self._sub(j, [None] * len(_open(j)[0].invars), inner, mult, in_cond)
            else:
                self._uncosted(eqn, "arithmetic not costed", mult)

    def trace(self) -> Trace:
        if self.rows:
            cols = {k: np.asarray([r[k] for r in self.rows], np.int64) for k in self.rows[0]}
            table = LayerTable._make(self.names, network=0, **cols)
        else:
            table = None
        unc = tuple(Uncosted(k[0], k[1], int(v[0]), tuple(v[1])) for k, v in self.uncosted.items())
        return Trace(table=table, ops=tuple(self.ops), in_cond=np.asarray(self.in_cond, bool), uncosted=unc,
                     vector_ops=dict(self.vector), notes=dict(self.notes))


def _arg_names(fn: Callable, n: int) -> list:
    """Names of the parameters ``fn``'s first ``n`` positional arguments bind to."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names, star = [], "args"
    for q in params:
        if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD):
            names.append(q.name)
        elif q.kind == q.VAR_POSITIONAL:
            star = q.name
            break
    names = names[:n]
    return names + [f"{star}[{i}]" for i in range(n - len(names))]


_ARRAY = (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct)


def _is_static(arg) -> bool:
    """A top-level argument that is a single non-array value (bool, int, str, None, an object)."""
    leaves = jax.tree_util.tree_leaves(arg, is_leaf=lambda x: x is None)
    return len(leaves) == 1 and leaves[0] is arg and not isinstance(arg, _ARRAY)


def _describe(name: str, arg) -> str:
    """``name: float32[2, 8]`` for an array, ``name: pytree of k arrays`` for a container."""
    if isinstance(arg, _ARRAY):
        return f"{name}: {np.dtype(arg.dtype).name}{list(np.shape(arg))}"
    if _is_static(arg):
        return f"{name}={arg!r} (static)"
    return f"{name}: pytree of {len(jax.tree_util.tree_leaves(arg))} arrays"


def _check_args(fn: Callable, args: tuple, names: list, who: str) -> None:
    """Raises ValueError on an arity mismatch or a non-array leaf inside a container argument."""
    try:
        inspect.signature(fn).bind(*args)
    except TypeError as e:
        raise ValueError(f"{who}: {getattr(fn, '__name__', 'fn')} cannot take the {len(args)} example "
                         f"argument(s): {e}.") from None
    except ValueError:  # no signature (builtins): let tracing tell
        pass
    for name, arg in zip(names, args):
        if _is_static(arg):
            continue
        for path, leaf in jax.tree_util.tree_flatten_with_path(arg)[0]:
            if not isinstance(leaf, _ARRAY + (bool, int, float, complex)):
                where = name + jax.tree_util.keystr(path)
                raise ValueError(f"{who}: example argument {where} has type {type(leaf).__name__}, not an "
                                 f"array; a container argument must hold arrays or jax.ShapeDtypeStruct only.")


def _trace(fn: Callable, args: tuple, names: list, who: str) -> Trace:
    """Traces ``fn`` with its non-array arguments static (closed over) and walks the jaxpr."""
    _check_args(fn, args, names, who)
    static = [_is_static(a) for a in args]

    def traced(*dyn):
        it = iter(dyn)
        return fn(*(a if s else next(it) for a, s in zip(args, static)))

    try:
        closed = jax.make_jaxpr(traced)(*(a for a, s in zip(args, static) if not s))
    except Exception as e:  # noqa: BLE001 -- any tracing failure is reported with the arguments
        given = ", ".join(_describe(n, a) for n, a in zip(names, args))
        msg = " ".join(str(e).split("\n--------------------")[0].split())
        msg = msg if len(msg) <= 600 else msg[:600] + " ..."
        # JAX names traced arguments by position: argument 2 of `traced` is the example argument name
        dyn_names = [n for n, s in zip(names, static) if not s]
        msg = re.sub(r"argument (\w+)\[(\d+)\]", lambda m: (f"argument {dyn_names[int(m.group(2))]}"
                     if int(m.group(2)) < len(dyn_names) else m.group(0)), msg)
        raise ValueError(f"{who}: cannot trace {getattr(fn, '__name__', 'fn')} with the example arguments "
                         f"({given}): {type(e).__name__}: {msg}") from e
    walker = _Walker()
    jaxpr, consts = _open(closed)
    walker.walk(jaxpr, consts, [None] * len(jaxpr.invars), (), 1, False)
    return walker.trace()


def trace_fn(fn: Callable, *example_args: Any) -> Trace:
    """The :class:`Trace` of ``fn(*example_args)``. Arrays, ``jax.ShapeDtypeStruct`` and pytrees of
    them are traced (only shapes and dtypes matter); any other single value (a ``train`` flag, a
    size, a string, ``None``) is static, closed over as ``functools.partial`` would. ``Trace.table``
    is None if ``fn`` has no ``conv_general_dilated`` / ``dot_general``.

    Raises:
      ValueError: on an arity mismatch, naming a container argument's leaf that is not an array,
        or, when ``fn`` cannot be traced with the example arguments, naming every argument with its
        shape and JAX's error (which names the argument a traced value came from, e.g. a Python
        ``if`` on a traced ``train`` flag).
    """
    return _trace(fn, example_args, _arg_names(fn, len(example_args)), "trace_fn")


def _table(tr: Trace, who: str, fn_name: str) -> LayerTable:
    text = tr.warning(who)
    if text:
        warnings.warn(text, UncostedWarning, stacklevel=3)
    if tr.table is None:
        raise ValueError(f"{who}: {fn_name} has no conv_general_dilated or dot_general: no layers to cost.")
    return tr.table


def workloads_from_fn(fn: Callable, *example_args: Any) -> LayerTable:
    """The :class:`~codesign_jax.workloads.LayerTable` of ``fn(*example_args)`` (see the module
    docstring); ``table.macs`` counts the whole batch and every loop trip.

    Warns:
      UncostedWarning: once, listing uncosted arithmetic and geometry approximations.

    Raises:
      ValueError: as :func:`trace_fn`, or when ``fn`` has no MAC primitive.
    """
    tr = _trace(fn, example_args, _arg_names(fn, len(example_args)), "workloads_from_fn")
    return _table(tr, "workloads_from_fn", getattr(fn, "__name__", "fn"))


def workloads_from_flax(module, variables, *inputs: Any, method: Callable | str | None = None,
                        **apply_kwargs: Any) -> LayerTable:
    """The layer table of ``module.apply(variables, *inputs, method=method, **apply_kwargs)``.

    ``variables`` may be real or abstract (``jax.eval_shape(module.init, key, *inputs)``);
    ``apply_kwargs`` (``train=False``, ``mutable=['batch_stats']``, ...) are closed over, not traced.
    Row names are the module paths (``ClassName/Block_0/Conv_0``).
    """
    if not hasattr(module, "apply"):
        raise ValueError(f"workloads_from_flax: module must be a Flax module, got {type(module).__name__}.")
    if not hasattr(variables, "keys"):
        raise ValueError(f"workloads_from_flax: variables must be a mapping such as module.init(...) returns, "
                         f"got {type(variables).__name__}.")

    def apply(variables, *inputs):
        return module.apply(variables, *inputs, method=method, **apply_kwargs)

    names = ["variables"] + [f"inputs[{i}]" for i in range(len(inputs))]
    tr = _trace(apply, (variables,) + inputs, names, "workloads_from_flax")
    return _table(tr, "workloads_from_flax", type(module).__name__)
