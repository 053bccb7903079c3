"""Tiny AIRCHITECT run for tests: case 1 on small GEMMs and budgets, a few hundred samples.

tests/airchitect/test_experiment.py also runs case 3 with it (case, case_params and the model
overridden).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "tiny"
    c.case = "array"
    c.case_params = ml_collections.ConfigDict(dict(max_dim=64, min_log2_budget=4,
                                                   max_log2_budget=6, n_buckets=8))
    c.seed = 0
    c.n_train = 512
    c.n_val = 128
    c.n_test = 128
    c.cache_data = True
    c.progress = False
    c.latency_queries = 32
    c.models = ("ours", "baseline")
    c.ours = ml_collections.ConfigDict()
    c.ours.model = ml_collections.ConfigDict(dict(kind="cost", width=16, depth=1,
                                                  deep_scale=0.1, inv_temp=30.0))
    c.ours.train = ml_collections.ConfigDict(dict(
        steps=12, batch_size=64, lr=1e-3, warmup=2, weight_decay=0.0, eval_every=4,
        checkpoint_every=4, mse_weight=1.0, ce_weight=0.1, wide_lr_scale=0.0, ridge_init=True,
        ridge=1e-6, label_smoothing=0.0))
    c.baseline = ml_collections.ConfigDict()
    c.baseline.model = ml_collections.ConfigDict(dict(kind="embed", embed_dim=4, hidden=16))
    c.baseline.train = ml_collections.ConfigDict(dict(
        steps=12, batch_size=64, lr=3e-3, warmup=2, weight_decay=1e-4, eval_every=4,
        checkpoint_every=4, mse_weight=0.0, ce_weight=0.0, wide_lr_scale=1.0, ridge_init=False,
        ridge=0.0, label_smoothing=0.1))
    return c
