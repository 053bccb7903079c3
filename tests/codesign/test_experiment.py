"""The semi-decoupled experiment end to end on the tiny config."""

import json

from codesign_jax.codesign.experiment import RESULT_KEYS, run
from repo_configs import load_config


def test_tiny_study_writes_result_and_plots(tmp_path):
    r = run(load_config("semi_decoupled_tiny"), str(tmp_path))
    saved = json.loads((tmp_path / "result.json").read_text())
    assert tuple(saved) == RESULT_KEYS and saved["same_optimum"] == r["same_optimum"]
    assert saved["n_architectures"] == 400 and saved["n_accelerators"] == 24 * 4 and saved["k"] == 20
    semi, ex = saved["semi_decoupled"], saved["exhaustive"]
    assert ex["points_evaluated"] == 400 * 96 and semi["points_evaluated"] == 400 * 1 + 20 * 96  # one reference
    assert saved["points_ratio"] == ex["points_evaluated"] / semi["points_evaluated"]
    assert semi["stage2_metrics_identical_to_exhaustive"]
    pair = lambda o: (o["feasible"], o["arch"], o["design"])
    assert saved["same_optimum"] == (pair(semi["optimum"]) == pair(ex["optimum"]))
    assert 0 <= saved["recovery_rate"] <= 1 and -1 <= saved["spearman_latency_min"] <= 1
    details = json.loads((tmp_path / "details.json").read_text())
    assert details["recovery"]["per_dataflow"]["settings"] == 12
    fam = details["recovery"]["family_references"]  # kcp_ws k=15, rs k=10, each family 12 perf points x 4 buffers
    assert fam["k"] == [15, 10] and fam["points_ratio"] == 400 * 96 / (400 * 2 + 15 * 48 + 10 * 48)
    assert details["recovery"]["family_references_dev"]["seed"] == 7 and fam["seed"] == 0
    for png in ("rank_heatmap.png", "rank_scatter.png"):
        assert (tmp_path / png).stat().st_size > 10_000
