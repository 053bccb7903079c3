"""Baseline searches on the same :class:`~codesign_jax.relax.Problem`, with the same evaluation budget.

Each proposes legal (design, dataflow) points and evaluates them with the EXACT model; one cost-model
evaluation per point; the result is the best point within budget. A budget check is not a cost
evaluation (every method may make it for free):

* :func:`random_search`: points uniform over the legal grid within budget (rejection sampling);
* :func:`cmaes_search`: CMA-ES (evosax ``CMA_ES``) over ``[0, 1]^(P+1)``: parameter ``i`` at the
  legal value nearest to ``exp(lo_i + u_i (hi_i - lo_i))`` (the gradient search's log box), the
  dataflow ``floor(u_P D)``; fitness ``log(cost) + 100 * sum(relu(log(used / budget)))``;
* :func:`optuna_search`: Bayesian optimization with optuna's TPE sampler (multivariate), the legal
  value indices as integer parameters, the dataflow categorical, budgets as optuna constraints.

``random_search`` and ``cmaes_search`` are pure JAX (jit / vmap them over workloads);
``optuna_search`` runs optuna's sequential ask / tell loop on the host.
"""

from __future__ import annotations

from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from codesign_jax.relax._problem import Problem

__all__ = ["BaselineResult", "cmaes_search", "optuna_search", "point_evaluator", "random_search"]

_REJECTION_ROUNDS = 16  # candidate draws per evaluation for random search's rejection sampling
_INFEASIBLE_WEIGHT = 100.0  # CMA-ES fitness penalty per unit of log budget violation


@struct.dataclass
class BaselineResult:
    """Best point found (leading batch axes when vmapped).

    Attributes:
      design: ``{name: float64 [...]}``; dataflow: int ``[...]``; cost: float64 ``[...]`` exact
        objective (``inf``: no evaluated point within budget); history: float64 ``[..., n]`` the best
        exact objective after each evaluation; evaluations: ``n`` (static).
    """

    design: dict
    dataflow: Any
    cost: Any
    history: Any
    evaluations: int = struct.field(pytree_node=False, default=0)


def _values(problem: Problem):
    return [jnp.asarray(p.values) for p in problem.params]


def _decode(problem: Problem, idx):
    """``{name: legal value}`` from value indices ``[..., P]``."""
    return {p.name: v[idx[..., i]] for i, (p, v) in enumerate(zip(problem.params, _values(problem)))}


def _best(problem: Problem, x: dict, d, cost, feasible) -> BaselineResult:
    cost = jnp.where(feasible, cost, jnp.inf)
    i = jnp.argmin(cost)
    return BaselineResult(design={k: v[i] for k, v in x.items()}, dataflow=d[i], cost=cost[i],
                          history=jax.lax.cummin(cost), evaluations=int(cost.shape[0]))


def random_search(problem: Problem, w: Any, key: jax.Array, evaluations: int) -> BaselineResult:
    """``evaluations`` uniform random legal points within budget (fewer exist: the rest over budget)."""
    n, draws = evaluations, evaluations * _REJECTION_ROUNDS
    keys = jax.random.split(key, len(problem.params) + 1)
    idx = jnp.stack([jax.random.randint(k, (draws,), 0, len(p.values)) for k, p in zip(keys, problem.params)], -1)
    ok = problem.feasible(_decode(problem, idx))
    pick = jnp.argsort(~ok, stable=True)[:n]                 # the first n draws within budget
    idx = idx[pick]
    d = jax.random.randint(keys[-1], (n,), 0, len(problem.dataflows))
    x = _decode(problem, idx)
    cost = jax.vmap(lambda xi, di: problem.exact_cost(w, xi, di))(x, d)
    return _best(problem, x, d, cost, ok[pick])


def _from_unit(problem: Problem, u):
    """``[..., P+1]`` in the unit box -> (legal point, dataflow index)."""
    u = jnp.clip(u, 0.0, 1.0)
    x = {}
    for i, p in enumerate(problem.params):
        lo, hi = p.log_bounds
        logv = jnp.log(jnp.asarray(p.values))
        target = lo + u[..., i] * (hi - lo)
        x[p.name] = jnp.asarray(p.values)[jnp.argmin(jnp.abs(logv - target[..., None]), -1)]
    d = jnp.minimum(jnp.floor(u[..., -1] * len(problem.dataflows)), len(problem.dataflows) - 1)
    return x, d.astype(jnp.int32)


def cmaes_search(problem: Problem, w: Any, key: jax.Array, evaluations: int, *, population: int = 16,
                 sigma: float = 0.3) -> BaselineResult:
    """CMA-ES (evosax) with ``evaluations // population`` generations of ``population`` points.

    Starts at the centre of the unit box with step size ``sigma``.
    """
    from evosax.algorithms import CMA_ES  # noqa: PLC0415  (optional dependency of the baselines only)

    if evaluations % population:
        raise ValueError(f"evaluations={evaluations} must be a multiple of population={population}.")
    dim = len(problem.params) + 1
    es = CMA_ES(population_size=population, solution=jnp.zeros(dim))
    params = es.default_params.replace(std_init=jnp.asarray(sigma))
    k0, key = jax.random.split(key)
    state = es.init(k0, jnp.full(dim, 0.5), params)

    def generation(state, k):
        ka, kt = jax.random.split(k)
        pop, state = es.ask(ka, state, params)
        x, d = _from_unit(problem, pop)
        cost = jax.vmap(lambda xi, di: problem.exact_cost(w, xi, di))(x, d)
        penalty = jnp.sum(jax.nn.relu(problem.violations(x)), -1)
        state, _ = es.tell(kt, pop, jnp.log(cost) + _INFEASIBLE_WEIGHT * penalty, state, params)
        return state, (x, d, cost, problem.feasible(x))

    _, (x, d, cost, ok) = jax.lax.scan(generation, state, jax.random.split(key, evaluations // population))
    flat = lambda a: a.reshape((-1,) + a.shape[2:])
    return _best(problem, jax.tree.map(flat, x), flat(d), flat(cost), flat(ok))


def point_evaluator(problem: Problem):
    """Jitted ``(w, x, d) -> (exact cost, violations [C], within budget)`` of one point (for
    :func:`optuna_search`; build it once to share its compilation across workloads)."""
    return jax.jit(lambda w, x, d: (problem.exact_cost(w, x, d), problem.violations(x), problem.feasible(x)))


def optuna_search(problem: Problem, w: Any, evaluations: int, *, seed: int = 0,
                  evaluate: Optional[Any] = None) -> BaselineResult:
    """Optuna TPE (multivariate, constrained) for ``evaluations`` trials; host-side NumPy result.

    ``evaluate``: a :func:`point_evaluator` of ``problem`` (default: a new one).
    """
    import optuna  # noqa: PLC0415  (optional dependency of the baselines only)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    evaluate = point_evaluator(problem) if evaluate is None else evaluate
    dists = {p.name: optuna.distributions.IntDistribution(0, len(p.values) - 1) for p in problem.params}
    dists["dataflow"] = optuna.distributions.CategoricalDistribution(list(range(len(problem.dataflows))))
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True))
    xs, ds, costs, oks = [], [], [], []
    for _ in range(evaluations):
        trial = study.ask(dists)
        x = {p.name: np.float64(p.values[trial.params[p.name]]) for p in problem.params}
        d = int(trial.params["dataflow"])
        cost, v, ok = jax.device_get(evaluate(w, x, d))
        for i, vi in enumerate(np.reshape(v, -1)):
            trial.set_constraint(f"budget{i}", float(vi))
        study.tell(trial, float(np.log(cost)))
        xs.append(x), ds.append(d), costs.append(float(cost)), oks.append(bool(ok))
    x = {k: np.asarray([xi[k] for xi in xs]) for k in xs[0]}
    res = _best(problem, x, np.asarray(ds), np.asarray(costs), np.asarray(oks))
    return jax.tree.map(np.asarray, res)
