"""Gradient search over hardware: Adam on the relaxed model, then rounding and the exact model.

:func:`make_search` builds a pure search ``(workload, key) -> SearchResult`` (jit / vmap it over
workloads); :func:`optimize` runs it. One search:

1. ``restarts`` random starts, log-uniform in the box of the legal values and within budget
   (rejection sampling: a budget check is not a cost evaluation), one vmapped batch;
2. ``steps`` optax steps (Adam by default, cosine-decayed step size) on
   ``log(relaxed objective) + lam * sum(relu(v)^2)`` over ``theta = log(hardware)`` (projected back
   into the box after each step), ``v`` the budgets' ``log(used / budget)``. The temperature ``t``
   and the penalty weight ``lam`` are annealed geometrically (``t_start -> t_end``,
   ``penalty_start -> penalty_end``). The dataflow is chosen softly: ``'softmin'``, the relaxed
   argmin of all dataflows' relaxed costs at temperature ``t``; ``'logits'``, learned softmax (or
   Gumbel-softmax) weights; or ``'restart'``, restart ``r`` keeps dataflow ``r mod D`` (the argmin
   over dataflows is then taken over restarts, and a step costs one evaluation instead of ``D``);
3. each restart's end point is rounded to legal designs: ``'nearest'`` (log space), ``'coordinate'``
   (the nearest and the ``P`` designs that move one parameter to its other bracketing legal value) or
   ``'neighbors'`` (all ``2^P`` combinations of the bracketing values), with the restart's dataflow;
   the EXACT model evaluates them, and the result is the best one within budget with its exact
   objective: the only number reported.

Every cost-model evaluation is counted (``SearchResult.evaluations``): a relaxed step evaluates each
dataflow it mixes once (its gradient comes with it by reverse mode), a rounding candidate once.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from codesign_jax.relax._models import dataflow_weights, soft_choice
from codesign_jax.relax._ops import softmin_weights
from codesign_jax.relax._problem import Problem

__all__ = ["SearchResult", "make_search", "optimize", "search_evaluations"]

_CHOICES = ("softmin", "logits", "restart")
_ROUNDINGS = ("nearest", "coordinate", "neighbors")
_INIT_TRIES = 64  # uniform draws per restart for the rejection sampling of a start within budget


@struct.dataclass
class SearchResult:
    """What a search returns (leading batch axes when vmapped over workloads).

    Attributes:
      design: ``{name: float64 [...]}``, the legal design found.
      dataflow: int ``[...]``, its index into ``problem.dataflows``.
      cost: float64 ``[...]``, its exact objective (``inf``: no candidate within budget).
      loss: float64 ``[..., steps]``, the lowest relaxed loss over the restarts at each step.
      candidates: float64 ``[..., restarts, n]``, exact objective of every rounding candidate
        (``inf`` over budget).
      final: ``{name: float64 [..., restarts]}``, each restart's continuous end point.
      final_dataflow: int ``[..., restarts]``, each restart's dataflow.
      evaluations: cost-model evaluations per workload (static).
    """

    design: dict
    dataflow: Any
    cost: Any
    loss: Any
    candidates: Any
    final: dict
    final_dataflow: Any
    evaluations: int = struct.field(pytree_node=False, default=0)


def _n_candidates(n_par: int, rounding: str) -> int:
    return {"nearest": 1, "coordinate": 1 + n_par, "neighbors": 2 ** n_par}[rounding]


def _stages(restarts, steps) -> tuple:
    """``((restarts, steps), ...)`` from ints (one stage) or equal-length sequences (successive halving:
    each stage keeps the best ``restarts[i]`` of the previous stage's restarts, by relaxed loss)."""
    r = (restarts,) if isinstance(restarts, (int, np.integer)) else tuple(restarts)
    n = (steps,) if isinstance(steps, (int, np.integer)) else tuple(steps)
    if len(r) != len(n) or not r:
        raise ValueError(f"restarts and steps must be ints or sequences of one length, got "
                         f"restarts={restarts!r}, steps={steps!r}.")
    for name, vals in (("restarts", r), ("steps", n)):
        if any(not isinstance(v, (int, np.integer)) or v < 1 for v in vals):
            raise ValueError(f"{name} must be positive ints, got {name}={vals!r}.")
    if any(b > a for a, b in zip(r, r[1:])):
        raise ValueError(f"restarts per stage must not increase, got restarts={r!r}.")
    return tuple(zip((int(x) for x in r), (int(x) for x in n)))


def search_evaluations(problem: Problem, *, restarts, steps, dataflow_choice: str = "softmin",
                       rounding: str = "neighbors") -> int:
    """Cost-model evaluations of one search (its budget per workload)."""
    d = len(problem.dataflows)
    per_step = 1 if dataflow_choice == "restart" else d
    final = d if dataflow_choice == "softmin" else 0  # the relaxed argmin at the end point
    stages = _stages(restarts, steps)
    return (sum(r * n for r, n in stages) * per_step
            + stages[-1][0] * (final + _n_candidates(len(problem.params), rounding)))


def _geometric(a: float, b: float, k, n: int):
    return a * (b / a) ** (k / max(n - 1, 1))


def _check(learning_rate, lr_end, t_start, t_end, penalty_start, penalty_end, dataflow_choice, rounding):
    if dataflow_choice not in _CHOICES:
        raise ValueError(f"dataflow_choice={dataflow_choice!r} must be one of {_CHOICES}.")
    if rounding not in _ROUNDINGS:
        raise ValueError(f"rounding={rounding!r} must be one of {_ROUNDINGS}.")
    for name, v in (("learning_rate", learning_rate), ("t_start", t_start), ("t_end", t_end),
                    ("penalty_start", penalty_start), ("penalty_end", penalty_end)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {name}={v!r}.")
    if not 0 < lr_end <= 1:
        raise ValueError(f"lr_end must be in (0, 1], got lr_end={lr_end!r}.")


def make_search(problem: Problem, *, restarts=8, steps=64, learning_rate: float = 0.1,
                lr_end: float = 0.05, t_start: float = 1.0, t_end: float = 1e-3, penalty_start: float = 1.0,
                penalty_end: float = 1e3, dataflow_choice: str = "softmin", gumbel: bool = False,
                rounding: str = "neighbors", optimizer: Optional[optax.GradientTransformation] = None):
    """A pure search function ``(workload, key) -> SearchResult`` (see the module doc).

    Args:
      problem: the :class:`Problem`.
      restarts, steps: random starts (one vmapped batch) and optimizer steps per start; or equal-length
        sequences for successive halving: stage ``i`` runs ``steps[i]`` steps on the best
        ``restarts[i]`` restarts of stage ``i - 1`` (by relaxed loss; the schedules below run over
        the total steps).
      learning_rate: Adam's step size in log-hardware units, cosine-decayed to ``lr_end * learning_rate``
        at the last step (``optimizer`` replaces Adam and its schedule).
      t_start, t_end: temperature at the first / last step (geometric schedule).
      penalty_start, penalty_end: budget penalty weight at the first / last step.
      dataflow_choice: 'softmin', 'logits' (``gumbel=True``: a Gumbel-softmax sample per step) or
        'restart' (see the module doc).
      rounding: 'nearest', 'coordinate' or 'neighbors'.
    """
    stages = _stages(restarts, steps)
    _check(learning_rate, lr_end, t_start, t_end, penalty_start, penalty_end, dataflow_choice, rounding)
    total = sum(n for _, n in stages)
    lr = optax.cosine_decay_schedule(learning_rate, max(total - 1, 1), alpha=lr_end)
    opt = optax.adam(lr) if optimizer is None else optimizer
    names, n_df, n_par = problem.names, len(problem.dataflows), len(problem.params)
    lo = jnp.asarray([p.log_bounds[0] for p in problem.params])
    hi = jnp.asarray([p.log_bounds[1] for p in problem.params])
    legal = [jnp.log(jnp.asarray(p.values)) for p in problem.params]
    to_x = lambda theta: {n: jnp.exp(theta[..., i]) for i, n in enumerate(names)}

    def objective(w, theta, logits, df, t, key):
        """log of the soft choice among the dataflows' relaxed costs."""
        costs = problem.relaxed_costs(w, to_x(theta), t)                                    # [D]
        if dataflow_choice == "restart":
            return jnp.log(costs[df])
        if dataflow_choice == "softmin":
            wts = softmin_weights(costs, t)
        else:
            wts = dataflow_weights(logits, key=key if gumbel else None)
        return jnp.log(soft_choice(costs, wts))

    def loss_fn(z, w, df, t, lam, key):
        theta, logits = z
        v = problem.violations(to_x(theta))
        return objective(w, theta, logits, df, t, key) + lam * jnp.sum(jnp.square(jax.nn.relu(v)))

    def descend(w, z, state, df, key, k0: int, n: int):
        """``n`` steps of one restart from global step ``k0``."""
        def step(carry, k):
            z, state, key = carry
            key, sub = jax.random.split(key)
            t = _geometric(t_start, t_end, k, total)
            lam = _geometric(penalty_start, penalty_end, k, total)
            loss, g = jax.value_and_grad(loss_fn)(z, w, df, t, lam, sub)
            upd, state = opt.update(g, state, z)
            theta, logits = optax.apply_updates(z, upd)
            return ((jnp.clip(theta, lo, hi), logits), state, key), loss

        ks = jnp.arange(k0, k0 + n, dtype=jnp.float64)
        (z, state, _), losses = jax.lax.scan(step, (z, state, key), ks)
        return z, state, losses

    def starts(key, r):
        """``[r, P]`` log-uniform starts, each the first of its draws within budget."""
        u = jax.random.uniform(key, (r, _INIT_TRIES, n_par), jnp.float64)
        theta = lo + u * (hi - lo)
        ok = problem.feasible(to_x(theta))                                                 # [r, tries]
        return theta[jnp.arange(r), jnp.argmax(ok, -1)]  # none within budget: the first draw

    def candidates(theta):
        """``[n, P]`` indices of legal values around ``theta`` (see ``rounding``)."""
        below, above = [], []
        for i, vals in enumerate(legal):
            n = vals.shape[0]
            below.append(jnp.clip(jnp.searchsorted(vals, theta[i], side="right") - 1, 0, n - 1))
            above.append(jnp.clip(jnp.searchsorted(vals, theta[i], side="left"), 0, n - 1))
        below, above = jnp.stack(below), jnp.stack(above)
        near_is_below = theta - jnp.stack([v[i] for v, i in zip(legal, below)]) <= \
            jnp.stack([v[i] for v, i in zip(legal, above)]) - theta
        nearest = jnp.where(near_is_below, below, above)
        if rounding == "nearest":
            return nearest[None]
        if rounding == "coordinate":
            other = jnp.where(near_is_below, above, below)
            flips = jnp.where(jnp.eye(n_par, dtype=bool), other[None], nearest[None])
            return jnp.concatenate([nearest[None], flips])
        bits = (np.arange(2 ** n_par)[:, None] >> np.arange(n_par)[None]) & 1              # [2^P, P]
        return jnp.where(jnp.asarray(bits, bool), above, below)

    def legal_x(idx):
        """``{name: the legal value}`` (exactly, not exp(log)) of value indices ``[..., P]``."""
        return {n: jnp.asarray(p.values)[idx[..., i]] for i, (n, p) in enumerate(zip(names, problem.params))}

    def exact(w, idx, d):
        x = legal_x(idx)
        return jnp.where(problem.feasible(x), problem.exact_cost(w, x, d), jnp.inf)

    def search(w, key) -> SearchResult:
        k_init, key = jax.random.split(key)
        r0 = stages[0][0]
        z = (starts(k_init, r0), jnp.zeros((r0, n_df)))
        state = jax.vmap(opt.init)(z)
        dfs = jnp.arange(r0) % n_df      # 'restart': restart r keeps dataflow r mod D
        k0, history, last = 0, [], None
        for r, n in stages:
            if last is not None:  # successive halving: keep the r restarts with the lowest loss
                keep = jnp.argsort(last)[:r]
                z, state, dfs = jax.tree.map(lambda a: a[keep], (z, state, dfs))
            key, sub = jax.random.split(key)
            z, state, losses = jax.vmap(functools.partial(descend, k0=k0, n=n), (None, 0, 0, 0, 0))(
                w, z, state, dfs, jax.random.split(sub, r))
            history.append(jnp.min(losses, 0))
            last, k0 = losses[:, -1], k0 + n
        theta, logits = z
        if dataflow_choice == "softmin":  # the relaxed argmin at the last temperature
            d = jnp.argmin(jax.vmap(lambda th: problem.relaxed_costs(w, to_x(th), t_end))(theta), -1)
        elif dataflow_choice == "logits":
            d = jnp.argmax(logits, -1)
        else:
            d = dfs
        cand = jax.vmap(candidates)(theta)                                                 # [R, n, P]
        costs = jax.vmap(lambda c, di: jax.vmap(lambda ci: exact(w, ci, di))(c))(cand, d)   # [R, n]
        flat = jnp.argmin(costs.reshape(-1))
        i, j = flat // costs.shape[1], flat % costs.shape[1]
        return SearchResult(
            design=legal_x(cand[i, j]), dataflow=d[i], cost=costs[i, j],
            loss=jnp.concatenate(history), candidates=costs, final=to_x(theta), final_dataflow=d,
            evaluations=search_evaluations(problem, restarts=restarts, steps=steps,
                                           dataflow_choice=dataflow_choice, rounding=rounding))

    return search


@functools.lru_cache(maxsize=32)
def _compiled(problem: Problem, batched: bool, kw: tuple):
    search = make_search(problem, **dict(kw))
    return jax.jit(jax.vmap(search) if batched else search)


def optimize(problem: Problem, workload: Any, *, key: jax.Array, batched: bool = False, **kw) -> SearchResult:
    """Runs :func:`make_search` (jitted; compiled once per problem and settings).

    Args:
      problem: the :class:`Problem`. workload: one workload, or (``batched=True``) workloads with a
        leading axis ``[S, ...]``, searched in one vmapped batch with independent keys.
      key: a ``jax.random`` key. **kw: :func:`make_search` settings.

    Returns:
      :class:`SearchResult` as host NumPy arrays; ``cost`` is the exact model's objective.
    """
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}  # hashable settings
    fn = _compiled(problem, batched, tuple(sorted(kw.items())))
    if batched:
        n = jax.tree_util.tree_leaves(workload)[0].shape[0]
        key = jax.random.split(key, n)
    return jax.tree.map(np.asarray, fn(workload, key))
