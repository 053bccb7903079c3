"""Training: optax, a jitted train step, deterministic batches, orbax checkpoints, validation.

Generic over (model inputs ``[n, f]``, number of classes, :class:`~codesign_jax.airchitect.
_case.Labels`): the same loop trains the paper-style :class:`EmbedMLP` (cross-entropy on the label)
and our :class:`CostHead` (``mse_weight`` x squared error of the predicted log cost of every class
against the exhaustive-search table + ``ce_weight`` x tie-aware cross-entropy
``-log sum_{c optimal} softmax(-inv_temp * pred)_c`` over the feasible classes).

Determinism: batch ``s`` is rows ``perm_e[i*B:(i+1)*B]`` of epoch ``e = s // steps_per_epoch``,
``perm_e = default_rng([seed, e]).permutation(n)``; parameters come from ``PRNGKey(seed)``. The
state (parameters, optimizer, best-so-far, curves) is saved with orbax every
``checkpoint_every`` steps, and a run restarted in the same directory resumes from the latest
checkpoint with bit-identical results. The returned parameters are the best on the validation set
(accuracy, then geomean ratio), step 0 included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp

from codesign_jax.airchitect._case import Labels
from codesign_jax.airchitect._models import make_model, ridge_init

__all__ = ["TrainResult", "predict_classes", "train_model"]

_log = logging.getLogger("codesign_jax.airchitect")
_HIST = ("step", "train_loss", "val_accuracy", "val_geomean")


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """Best parameters, the curves ``history [n_evals, 4]`` (columns :data:`_HIST`), and the
    training seconds summed over every process that trained it (resumed runs included)."""

    params: dict
    history: np.ndarray
    seconds: float
    steps: int


@contextlib.contextmanager
def _quiet_checkpoints():
    """orbax logs every save at INFO through absl; keep the training log readable."""
    lg = logging.getLogger("absl")
    old = lg.level
    lg.setLevel(max(old, logging.WARNING))
    try:
        yield
    finally:
        lg.setLevel(old)


def _scores_fn(spec):
    model = make_model(spec)
    if spec["kind"] != "embed":     # cost heads: scores = -inv_temp * predicted log cost
        return lambda p, x: -spec["inv_temp"] * model.apply(p, x)
    return lambda p, x: model.apply(p, x)


def predict_classes(spec, params, inputs: np.ndarray, feasible: np.ndarray,
                    chunk: int = 1 << 15) -> np.ndarray:
    """Argmax over the feasible classes of the model's scores, int64 ``[n]``.

    Each chunk is padded to a power of two (at least 64 rows), so batches of any size reuse a
    handful of compilations (a query of one new size does not recompile the model).
    """
    out = [np.argmax(np.where(feasible[lo:lo + len(s)], s, -np.inf), axis=1)
           for lo, s in _score_chunks(spec, params, inputs, chunk)]
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def predict_scores(spec, params, inputs: np.ndarray, chunk: int = 1 << 15) -> np.ndarray:
    """The model's scores float32 ``[n, C]`` (higher = better), padded per chunk as above."""
    out = [s for _, s in _score_chunks(spec, params, inputs, chunk)]
    return np.concatenate(out) if out else np.zeros((0, int(spec["n_classes"])), np.float32)


def _score_chunks(spec, params, inputs, chunk):
    fn = _jitted_scores(spec)
    for lo in range(0, len(inputs), chunk):
        xb = np.asarray(inputs[lo:lo + chunk])
        m = len(xb)
        pad = max(64, 1 << (m - 1).bit_length()) - m
        xb = np.concatenate([xb, np.repeat(xb[:1], pad, axis=0)]) if pad else xb
        yield lo, np.asarray(fn(params, jnp.asarray(xb)))[:m]


_JIT_CACHE: dict = {}


def _jitted_scores(spec):
    key = repr(sorted(spec.items()))
    if key not in _JIT_CACHE:
        _JIT_CACHE[key] = jax.jit(_scores_fn(spec))
    return _JIT_CACHE[key]


def _optimizer(spec, cfg, steps: int) -> optax.GradientTransformation:
    sched = optax.warmup_cosine_decay_schedule(0.0, cfg.lr, min(cfg.warmup, max(steps - 1, 1)),
                                               max(steps, 2), end_value=cfg.lr * 0.01)
    adam = lambda s: optax.adamw(s, weight_decay=cfg.weight_decay)
    if spec["kind"] != "cost":
        return adam(sched)
    wide = optax.set_to_zero() if cfg.wide_lr_scale == 0 else adam(
        lambda t: cfg.wide_lr_scale * sched(t))
    labels = lambda p: jax.tree_util.tree_map_with_path(
        lambda path, _: "wide" if any(getattr(k, "key", None) == "wide" for k in path) else "deep",
        p)
    return optax.multi_transform({"wide": wide, "deep": adam(sched)}, labels)


def _loss_fn(spec, cfg, use_mse: bool):
    model = make_model(spec)

    def loss(params, x, label, optimal, feasible, log_cost):
        out = model.apply(params, x)
        if spec["kind"] == "embed":
            onehot = jax.nn.one_hot(label, out.shape[-1])
            if cfg.label_smoothing:
                onehot = optax.smooth_labels(onehot, cfg.label_smoothing)
            return jnp.mean(optax.softmax_cross_entropy(out, onehot))
        total = 0.0
        if use_mse:
            total = cfg.mse_weight * jnp.mean((out - log_cost) ** 2)
        if cfg.ce_weight:
            lg = jnp.where(feasible, -spec["inv_temp"] * out, -1e30)
            lse = jax.nn.logsumexp(lg, axis=-1)
            ce = lse - jax.nn.logsumexp(jnp.where(optimal, lg, -1e30), axis=-1)
            total = total + cfg.ce_weight * jnp.mean(ce)
        return total

    return loss


def _freeze(d) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in dict(d).items()))


@dataclasses.dataclass(frozen=True)
class _Static:
    """Hashable (model spec, training config, steps, use_mse): the jitted step's static argument,
    so repeated runs with the same settings reuse one compilation."""

    spec: tuple
    cfg: tuple
    steps: int
    use_mse: bool

    def optimizer(self):
        return _optimizer(dict(self.spec), _Cfg(dict(self.cfg)), self.steps)


class _Cfg(dict):
    __getattr__ = dict.__getitem__


@functools.partial(jax.jit, static_argnums=0)
def _train_step(static: _Static, params, opt_state, x, label, optimal, feasible, log_cost):
    """One optax step on a batch: returns (params, opt_state, loss)."""
    loss_fn = _loss_fn(dict(static.spec), _Cfg(dict(static.cfg)), static.use_mse)
    loss, grads = jax.value_and_grad(loss_fn)(params, x, label, optimal, feasible, log_cost)
    updates, opt_state = static.optimizer().update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def _evaluate(spec, params, inputs, labels: Labels) -> tuple[float, float]:
    """Validation (accuracy, geomean ratio; NaN without a cost table) from the label tables."""
    pred = predict_classes(spec, params, inputs, labels.feasible)
    rows = np.arange(len(pred))
    acc = float(np.mean(labels.optimal[rows, pred]))
    if labels.log_cost is None:
        return acc, float("nan")
    lr = labels.log_cost[rows, labels.label].astype(np.float64) - labels.log_cost[rows, pred]
    return acc, float(np.exp(np.mean(np.minimum(lr, 0.0))))


def _batch_index(n: int, batch: int, seed: int, step: int, cache: dict | None = None) -> np.ndarray:
    """Rows of batch ``step`` (module doc); ``cache`` keeps the current epoch's permutation."""
    spe = max(n // batch, 1)
    e, i = divmod(step, spe)
    if cache is not None and cache.get("epoch") == e:
        perm = cache["perm"]
    else:
        perm = np.random.default_rng([seed, e]).permutation(n)
        if cache is not None:
            cache.update(epoch=e, perm=perm)
    return np.sort(perm[i * batch:(i + 1) * batch])


def _init_params(spec, cfg, inputs, labels: Labels, seed: int):
    model = make_model(spec)
    params = model.init(jax.random.PRNGKey(seed), jnp.asarray(inputs[:2]))
    if spec["kind"] == "cost" and cfg.ridge_init and labels.log_cost is not None:
        # the fit on the first ridge_rows samples (iid; ~100 features need far fewer than 1e6)
        r = int(cfg.get("ridge_rows", 0) or len(inputs))
        kernel, bias = ridge_init(inputs[:r], labels.log_cost[:r], cfg.ridge)
        params = jax.tree_util.tree_map(lambda x: x, params)     # a mutable copy
        params["params"]["wide"] = {"kernel": jnp.asarray(kernel), "bias": jnp.asarray(bias)}
    return params


def train_model(spec: dict, inputs: np.ndarray, labels: Labels, val_inputs: np.ndarray,
                val_labels: Labels, cfg, ckpt_dir: str, *, seed: int = 0,
                stop_after: int | None = None, progress: bool = False) -> TrainResult:
    """Trains one model (``spec`` from the config), resuming from ``ckpt_dir`` if it has a state.

    Args:
      spec: model spec (:func:`make_model` fields plus ``inv_temp`` for the cost head).
      inputs, labels: training set (features float32 ``[n, f]`` or buckets int32 ``[n, k]``).
      val_inputs, val_labels: validation set (best-parameter selection, curves).
      cfg: ConfigDict with ``steps, batch_size, lr, warmup, weight_decay, eval_every,
        checkpoint_every`` (and for the cost head ``mse_weight, ce_weight, wide_lr_scale,
        ridge_init, ridge``, optionally ``ridge_rows``: fit the wide part on that many rows;
        for the baseline ``label_smoothing``).
      stop_after: return after this many steps as if interrupted (tests of resuming).

    Returns:
      :class:`TrainResult` (the best parameters on the validation set).
    """
    t0 = time.perf_counter()
    steps, B = int(cfg.steps), int(cfg.batch_size)
    if steps < 1 or B < 1 or B > len(inputs):
        raise ValueError(f"need steps >= 1 and 1 <= batch_size <= {len(inputs)} training samples,"
                         f" got steps={steps}, batch_size={B}.")
    use_mse = (spec["kind"] != "embed" and cfg.mse_weight > 0 and labels.log_cost is not None)
    static = _Static(_freeze(spec), _freeze(cfg.to_dict() if hasattr(cfg, "to_dict") else cfg),
                     steps, use_mse)
    opt = static.optimizer()
    train_step = functools.partial(_train_step, static)

    n_hist = steps // max(int(cfg.eval_every), 1) + 2
    with _quiet_checkpoints():
        mgr = ocp.CheckpointManager(os.path.abspath(ckpt_dir),
                                    options=ocp.CheckpointManagerOptions(max_to_keep=1))
    params = _init_params(spec, cfg, inputs, labels, seed) if mgr.latest_step() is None else \
        make_model(spec).init(jax.random.PRNGKey(seed), jnp.asarray(inputs[:2]))
    state = {"params": params, "opt_state": opt.init(params), "best_params": params,
             "best": np.full(2, -np.inf), "history": np.full((n_hist, len(_HIST)), np.nan),
             "n_hist": np.asarray(0), "step": np.asarray(0), "loss_sum": np.asarray(0.0),
             "loss_n": np.asarray(0), "seconds": np.asarray(0.0)}
    if mgr.latest_step() is not None:
        with _quiet_checkpoints():
            try:
                state = mgr.restore(mgr.latest_step(), args=ocp.args.StandardRestore(state))
            except (KeyError, ValueError):     # a checkpoint from before "seconds" was kept
                old = {k: v for k, v in state.items() if k != "seconds"}
                state = dict(mgr.restore(mgr.latest_step(), args=ocp.args.StandardRestore(old)),
                             seconds=np.asarray(np.nan))
        _log.info("resumed %s from step %d", ckpt_dir, int(state["step"]))
    prior = float(state["seconds"])     # training seconds of earlier processes (NaN: unknown)
    state = {k: (np.asarray(v) if k in ("best", "history") else v) for k, v in state.items()}
    hist = state["history"]
    n_h = int(state["n_hist"])
    loss_sum, loss_n = float(state["loss_sum"]), int(state["loss_n"])

    def record(step, params):
        nonlocal n_h, loss_sum, loss_n, loss_acc
        loss_sum, loss_acc = loss_sum + float(loss_acc), jnp.zeros((), jnp.float32)
        acc, gm = _evaluate(spec, params, val_inputs, val_labels)
        hist[n_h] = (step, loss_sum / loss_n if loss_n else np.nan, acc, gm)
        n_h += 1
        loss_sum, loss_n = 0.0, 0
        key = np.asarray([acc, -np.inf if np.isnan(gm) else gm])
        if tuple(key) > tuple(state["best"]):
            state["best"], state["best_params"] = key, params
        _log.info("%s step %d: val accuracy %.4f, geomean %.5f", spec["kind"], step, acc, gm)

    start = int(state["step"])
    p, o = state["params"], state["opt_state"]
    loss_acc = jnp.zeros((), jnp.float32)     # summed on the device, read at each evaluation
    if start == 0 and n_h == 0:
        record(0, p)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps, initial=start, desc=f"train {spec['kind']}", unit="step")
    lc_dummy = np.zeros((B, 1), np.float32)
    perm_cache: dict = {}
    for s in range(start, steps):
        ix = _batch_index(len(inputs), B, seed, s, perm_cache)
        lc = labels.log_cost[ix] if use_mse else lc_dummy
        p, o, loss = train_step(p, o, inputs[ix], labels.label[ix], labels.optimal[ix],
                                labels.feasible[ix], lc)
        loss_acc, loss_n = loss_acc + loss, loss_n + 1
        done = s + 1
        if done % int(cfg.eval_every) == 0 or done == steps:
            record(done, p)
        if done % int(cfg.checkpoint_every) == 0 or done == steps or done == stop_after:
            loss_sum, loss_acc = loss_sum + float(loss_acc), jnp.zeros((), jnp.float32)
            state.update(params=p, opt_state=o, history=hist, n_hist=np.asarray(n_h),
                         step=np.asarray(done), loss_sum=np.asarray(loss_sum, np.float64),
                         loss_n=np.asarray(loss_n),
                         seconds=np.asarray(prior + time.perf_counter() - t0, np.float64))
            with _quiet_checkpoints():
                mgr.save(done, args=ocp.args.StandardSave(state))
                mgr.wait_until_finished()
        if bar is not None:
            bar.update(1)
        if done == stop_after:
            break
    if bar is not None:
        bar.close()
    with _quiet_checkpoints():
        mgr.close()
    best = jax.tree_util.tree_map(np.asarray, state["best_params"])
    return TrainResult(params=best, history=hist[:n_h].copy(),
                       seconds=prior + time.perf_counter() - t0,
                       steps=int(min(steps, stop_after or steps)))
