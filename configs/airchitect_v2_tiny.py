"""Tiny AIRCHITECT case 4 run for tests: a few hundred AIRCHITECT-v2 layers, small models.

Batches up to ``small`` layers are labelled with the numpy port (no compilation of the 36 labelling
graphs), so the whole run takes seconds.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "v2_tiny"
    c.case = "v2"
    c.case_params = ml_collections.ConfigDict(dict(n_buckets=8, block=256, small=1024))
    c.seed = 0
    c.n_train = 192
    c.n_val = 48
    c.n_test = 48
    c.cache_data = True
    c.progress = False
    c.latency_queries = 4
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
