"""AIRCHITECT case 3: assign 4 GEMMs to 4 heterogeneous systolic arrays (smallest makespan).

1e6 training sets of 4 GEMMs (M, N, K log-uniform in [1, 1e4]) x 4 arrays (rows, cols in
2^2..2^8), 2e4 validation, 1e5 held-out; 24 classes (the assignments). Ours: PairMaxHead (one MLP shared by
the 16 GEMM-array pairs, an assignment's predicted log makespan = the max of its 4 pairs);
baseline: the paper's embedding network.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "case3"
    c.case = "sched"
    c.case_params = ml_collections.ConfigDict(dict(max_dim=10_000, min_log2_array=2,
                                                   max_log2_array=8, n_buckets=32))
    c.seed = 0
    c.n_train = 1_000_000
    c.n_val = 20_000
    c.n_test = 100_000
    c.cache_data = False
    c.progress = False
    c.latency_queries = 10_000
    c.models = ("ours", "baseline")
    c.ours = ml_collections.ConfigDict()
    c.ours.model = ml_collections.ConfigDict(dict(kind="pairmax", width=64, depth=1,
                                                  inv_temp=30.0))
    c.ours.train = ml_collections.ConfigDict(dict(
        steps=5000, batch_size=512, lr=3e-3, warmup=100, weight_decay=0.0, eval_every=1000,
        checkpoint_every=1000, mse_weight=1.0, ce_weight=0.1, wide_lr_scale=1.0,
        ridge_init=False, ridge=0.0, label_smoothing=0.0))
    c.baseline = ml_collections.ConfigDict()
    c.baseline.model = ml_collections.ConfigDict(dict(kind="embed", embed_dim=16, hidden=256))
    c.baseline.train = ml_collections.ConfigDict(dict(
        steps=3000, batch_size=512, lr=3e-3, warmup=200, weight_decay=1e-4, eval_every=500,
        checkpoint_every=1000, mse_weight=0.0, ce_weight=0.0, wide_lr_scale=1.0, ridge_init=False,
        ridge=0.0, label_smoothing=0.0))
    return c
