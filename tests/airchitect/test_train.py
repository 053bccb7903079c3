"""Training: a run interrupted and resumed from its orbax checkpoint equals an uninterrupted one;
the ridge-initialized cost head starts at the least-squares fit; the models' shapes."""

from __future__ import annotations

import itertools

import jax
import ml_collections
import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.airchitect import CostHead, EmbedMLP, array_case, train_model
from codesign_jax.airchitect._models import FactorHead, PairMaxHead
from codesign_jax.airchitect._models import Standardizer, ridge_init


@pytest.fixture(scope="module")
def data():
    case = array_case(max_dim=64, min_log2_budget=4, max_log2_budget=6, n_buckets=8, block=256)
    x = case.sample(np.random.default_rng(0), 256)
    xv = case.sample(np.random.default_rng(1), 64)
    lab, labv = case.label(x), case.label(xv)
    std = Standardizer.fit(case.features(x))
    return case, std(case.features(x)), lab, std(case.features(xv)), labv, case.buckets(x), \
        case.buckets(xv)


def _cfg(**kw):
    c = dict(steps=10, batch_size=32, lr=1e-3, warmup=2, weight_decay=1e-4, eval_every=3,
             checkpoint_every=3, mse_weight=1.0, ce_weight=0.1, wide_lr_scale=0.0,
             ridge_init=True, ridge=1e-6, label_smoothing=0.1)
    c.update(kw)
    return ml_collections.ConfigDict(c)


@pytest.mark.parametrize("kind", ["cost", "embed"])
def test_resume_from_checkpoint_is_identical(data, tmp_path, kind):
    case, f, lab, fv, labv, b, bv = data
    if kind == "cost":
        spec = dict(kind="cost", n_classes=case.n_classes, width=16, depth=1, deep_scale=0.5,
                    inv_temp=30.0)
        tr, va = f, fv
    else:
        spec = dict(kind="embed", n_classes=case.n_classes, bucket_sizes=case.bucket_sizes,
                    embed_dim=4, hidden=16)
        tr, va = b, bv
    cfg = _cfg()
    full = train_model(spec, tr, lab, va, labv, cfg, str(tmp_path / "a"), seed=3)
    part = train_model(spec, tr, lab, va, labv, cfg, str(tmp_path / "b"), seed=3, stop_after=5)
    assert part.steps == 5
    resumed = train_model(spec, tr, lab, va, labv, cfg, str(tmp_path / "b"), seed=3)
    for u, v in zip(jax.tree_util.tree_leaves(full.params),
                    jax.tree_util.tree_leaves(resumed.params)):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(full.history, resumed.history)
    # the training seconds are kept in the checkpoint: a finished run read back reports them
    again = train_model(spec, tr, lab, va, labv, cfg, str(tmp_path / "a"), seed=3)
    assert again.steps == full.steps and again.seconds >= 0.5 * full.seconds
    assert resumed.seconds >= part.seconds
    assert full.history.shape == (5, 4)           # step 0, 3, 6, 9, 10
    assert list(full.history[:, 0]) == [0, 3, 6, 9, 10]
    # a different seed trains differently (the comparison above can fail)
    other = train_model(spec, tr, lab, va, labv, cfg, str(tmp_path / "c"), seed=4)
    assert any(not np.array_equal(u, v) for u, v in zip(
        jax.tree_util.tree_leaves(full.params), jax.tree_util.tree_leaves(other.params)))


def test_ridge_init_is_least_squares():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6)).astype(np.float32)
    w = rng.normal(size=(6, 3))
    y = (x @ w + np.array([1.0, -2.0, 0.5]) + 0.01 * rng.normal(size=(500, 3))).astype(np.float32)
    k, b = ridge_init(x, y, ridge=0.0, block=64)
    X = np.concatenate([x, np.ones((500, 1))], 1).astype(np.float64)
    ref = np.linalg.lstsq(X, y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(k, ref[:6], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b, ref[6], rtol=1e-4, atol=1e-5)


def test_cost_head_starts_at_ridge_fit(data, tmp_path):
    """Step 0 of the cost head is the least-squares wide part (the deep output starts at 0)."""
    case, f, lab, fv, labv, _, _ = data
    spec = dict(kind="cost", n_classes=case.n_classes, width=8, depth=1, deep_scale=1.0,
                inv_temp=30.0)
    res = train_model(spec, f, lab, fv, labv, _cfg(steps=1, lr=0.0), str(tmp_path / "r"))
    k, b = ridge_init(f, lab.log_cost, 1e-6)
    pred = CostHead(case.n_classes, 8, 1, 1.0).apply(res.params, f[:16])
    np.testing.assert_allclose(np.asarray(pred), f[:16] @ k + b, rtol=1e-4, atol=1e-3)


def test_model_shapes():
    e = EmbedMLP((4, 5), n_classes=7, embed_dim=3, hidden=8)
    p = e.init(jax.random.PRNGKey(0), np.zeros((2, 2), np.int32))
    assert e.apply(p, np.array([[3, 4], [0, 1]], np.int32)).shape == (2, 7)
    c = CostHead(n_classes=7, width=8, depth=2)
    p = c.init(jax.random.PRNGKey(0), np.zeros((2, 5), np.float32))
    assert c.apply(p, np.ones((3, 5), np.float32)).shape == (3, 7)


def test_bad_training_config_raises(data, tmp_path):
    case, f, lab, fv, labv, _, _ = data
    spec = dict(kind="cost", n_classes=case.n_classes, width=8, depth=1, deep_scale=1.0,
                inv_temp=30.0)
    with pytest.raises(ValueError, match="batch_size"):
        train_model(spec, f, lab, fv, labv, _cfg(batch_size=10_000), str(tmp_path / "x"))
    with pytest.raises(ValueError, match="kind"):
        train_model(dict(spec, kind="rnn"), f, lab, fv, labv, _cfg(), str(tmp_path / "y"))


def test_pair_max_head_is_the_max_over_each_assignments_pairs():
    m = PairMaxHead(n_classes=24, width=8, depth=1)
    x = np.random.default_rng(0).normal(size=(3, 16 * 5)).astype(np.float32)
    p = m.init(jax.random.PRNGKey(0), x)
    out, st = m.apply(p, x, mutable=["intermediates"])
    pair = np.asarray(st["intermediates"]["pair"][0])                  # [3, gemm, array]
    perms = list(itertools.permutations(range(4)))
    want = np.array([[max(pair[b, perm[j], j] for j in range(4)) for perm in perms]
                     for b in range(3)])
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-6)
    with pytest.raises(ValueError, match="n_classes"):
        PairMaxHead(n_classes=23).init(jax.random.PRNGKey(0), x)


def test_factor_head_scores_are_sums_of_factor_scores():
    m = FactorHead(factors=(2, 3, 4), width=8, depth=1, full=False)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    p = m.init(jax.random.PRNGKey(0), x)
    t = -np.asarray(m.apply(p, x), np.float64).reshape(3, 2, 3, 4)
    # additive in (i, j, k) with the last factor fastest: every mixed second difference is 0
    e = (t - t[:, :1] - t[:, :, :1] - t[:, :, :, :1] + t[:, :1, :1] + t[:, :1, :, :1]
         + t[:, :, :1, :1] - t[:, :1, :1, :1])
    np.testing.assert_allclose(e, 0.0, atol=1e-5)
    assert np.ptp(t) > 1e-3
    # the full correction starts at zero, then breaks the additivity
    mf = FactorHead(factors=(2, 3, 4), width=8, depth=1, full=True)
    pf = mf.init(jax.random.PRNGKey(0), x)
    np.testing.assert_allclose(np.asarray(mf.apply(pf, x)), -t.reshape(3, 24), atol=1e-5)
    pf["params"]["full"]["kernel"] = np.ones_like(pf["params"]["full"]["kernel"]) * \
        np.arange(24, dtype=np.float32) ** 2
    assert not np.allclose(np.asarray(mf.apply(pf, x)), -t.reshape(3, 24), atol=1e-3)
