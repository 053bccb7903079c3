"""The comparison study end to end on the tiny config (3 GEMMs, 72-design grid, 32 evaluations)."""

import json
import os

import numpy as np

import codesign_jax  # noqa: F401  (float64)
from codesign_jax.relax import experiment
from repo_configs import load_config


def test_tiny_study_writes_its_results(tmp_path):
    config = load_config("relaxed_search", "tiny")
    config.plot = False
    result = experiment.run(config, str(tmp_path))
    assert result["n_cases"] == 3 and result["evaluations_per_method"] == 32
    with open(tmp_path / "result.json") as f:
        assert json.load(f) == result
    for m in experiment.METHODS:
        r = result[f"median_ratio_{m}"]
        assert 0 < r <= 1 + 1e-12, (m, r)  # optimal / found: no method beats the exhaustive optimum
    with open(tmp_path / "details.json") as f:
        details = json.load(f)
    assert details["problem"]["grid_size"] == 3 * 3 * 2 * 2 * 1 * 2
    assert details["methods"]["gradient"]["evaluations_per_case"] <= 32
    rows = np.genfromtxt(tmp_path / "cases.csv", delimiter=",", names=True, dtype=None, encoding=None)
    assert len(rows) == 3
    np.testing.assert_allclose(rows["gradient_ratio"], rows["optimum"] / rows["gradient_found"], rtol=1e-5)
    # a rerun reuses every method's cached results (same numbers, no search)
    assert experiment.run(config, str(tmp_path)) == result
    assert len(os.listdir(tmp_path / "cache")) == 5
