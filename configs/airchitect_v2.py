"""AIRCHITECT case 4: the AIRCHITECT-v2 design space (num_pes 1..64 x KTileSz 1..12 = 768 designs).

1e6 training layers (K, C even in 2..512; Y, X in {1, 8, ..., 256}; R = S in {1, 3, 5, 7, 9}; input
>= filter; dataflow dla / eye / shi), 2e4 validation, 1e5 held-out, labelled by exhaustive search
over the 768 designs with the exact MAESTRO runtime (``spatial_runtime_space``). Ours: cost head;
baseline: the paper's embedding network. Labels are cached in ``workdir/data`` (a rerun skips them).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "v2"
    c.case = "v2"
    c.case_params = ml_collections.ConfigDict(dict(n_buckets=64, block=8192, small=64, rerank=4))
    c.seed = 0
    c.n_train = 1_000_000
    c.n_val = 20_000
    c.n_test = 100_000
    c.cache_data = True
    c.progress = True
    c.latency_queries = 10_000
    c.models = ("ours", "baseline")
    c.ours = ml_collections.ConfigDict()
    c.ours.model = ml_collections.ConfigDict(dict(kind="cost", width=128, depth=2,
                                                  deep_scale=0.02, inv_temp=300.0))
    c.ours.train = ml_collections.ConfigDict(dict(
        steps=2000, batch_size=512, lr=1e-3, warmup=100, weight_decay=0.0, eval_every=250,
        checkpoint_every=500, mse_weight=1.0, ce_weight=0.1, wide_lr_scale=0.0, ridge_init=True,
        ridge=1e-6, ridge_rows=200_000, label_smoothing=0.0))
    c.baseline = ml_collections.ConfigDict()
    c.baseline.model = ml_collections.ConfigDict(dict(kind="embed", embed_dim=16, hidden=256))
    c.baseline.train = ml_collections.ConfigDict(dict(
        steps=4000, batch_size=512, lr=3e-3, warmup=200, weight_decay=1e-4, eval_every=500,
        checkpoint_every=1000, mse_weight=0.0, ce_weight=0.0, wide_lr_scale=1.0, ridge_init=False,
        ridge=0.0, label_smoothing=0.0))
    return c
