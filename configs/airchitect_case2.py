"""AIRCHITECT case 2: SRAM buffer sizing (ifmap / filter / ofmap in 1..1024 KB) in SCALE-Sim's
USER bandwidth mode: the smallest total SRAM within 5% of the cycles with 1024 KB buffers.

2e5 training samples (GEMM M, N, K log-uniform in [1, 512]; rows, cols in 2^3..2^7; os/ws/is;
bandwidth 2^0..2^5 words/cycle), 5e3 validation, 1e4 held-out; 1331 classes. Labels by the exact
pruned search through the USER-mode lane pool (no full cost table, so no ridge fit and no cost
regression). Ours: the factor head (one score per ifmap, filter and ofmap size, a class scores
their sum) on the tie-aware cross-entropy, with closed-form per-size USER-mode features; its
answer is the best of its 4 best-scoring classes checked exactly (``rerank``, up to 4 waves);
``metrics.json`` also reports each model answering alone (``model_only``).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "case2"
    c.case = "sram"
    c.case_params = ml_collections.ConfigDict(dict(
        max_dim=512, min_log2_array=3, max_log2_array=7, max_log2_bandwidth=5, slack_pct=5,
        round_size=128, n_buckets=32, lanes=1024, max_iter=16, backend="pool", rerank=4,
        rerank_waves=4))
    c.seed = 0
    c.n_train = 200_000
    c.n_val = 5_000
    c.n_test = 10_000
    c.cache_data = True
    c.progress = False
    c.latency_queries = 2000
    c.models = ("ours", "baseline")
    c.ours = ml_collections.ConfigDict()
    c.ours.model = ml_collections.ConfigDict(dict(kind="factor", factors=(11, 11, 11), width=256,
                                                  depth=2, full=False, inv_temp=1.0))
    c.ours.train = ml_collections.ConfigDict(dict(
        steps=16000, batch_size=512, lr=1e-3, warmup=200, weight_decay=0.0, eval_every=2000,
        checkpoint_every=4000, mse_weight=0.0, ce_weight=1.0, wide_lr_scale=1.0,
        ridge_init=False, ridge=0.0, label_smoothing=0.0))
    c.baseline = ml_collections.ConfigDict()
    c.baseline.model = ml_collections.ConfigDict(dict(kind="embed", embed_dim=16, hidden=256))
    c.baseline.train = ml_collections.ConfigDict(dict(
        steps=4000, batch_size=512, lr=3e-3, warmup=200, weight_decay=1e-4, eval_every=500,
        checkpoint_every=1000, mse_weight=0.0, ce_weight=0.0, wide_lr_scale=1.0,
        ridge_init=False, ridge=0.0, label_smoothing=0.0))
    return c
