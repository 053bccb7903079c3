"""Sweeps over spatial accelerators with a dataflow constant as a design axis (the AIRCHITECT-v2 space's shape)."""

import numpy as np
import pytest

import codesign_jax  # noqa: F401
from codesign_jax import spatial as sp
from codesign_jax.sweep import spatial_cost_fn, spatial_space, sweep

DF = sp.parse_dataflow("Constant KT 4; TemporalMap(KT,KT) K; TemporalMap(1,1) C; TemporalMap(Sz(R),1) Y; "
                       "SpatialMap(Sz(S),1) X; TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S;", "xp_kt")


def test_sweep_with_a_constant_axis_equals_brute_force():
    rng = np.random.default_rng(0)
    n = 6
    r = rng.choice([1.0, 3.0, 5.0], n)
    layers = sp.conv_layer(2.0 * rng.integers(1, 64, n), 2.0 * rng.integers(1, 64, n), r, r,
                           r + rng.integers(0, 40, n), r + rng.integers(0, 40, n), np.ones(n))  # 1-D leaves
    space = spatial_space(num_pes=[8, 16, 32, 64], noc_bw=64, offchip_bw=32, KT=range(1, 13))
    assert space.size == 48 and space.grid.names == ("num_pes", "KT")
    res = sweep(spatial_cost_fn(DF, "CONV", unit_stride=True), layers, space, "latency", progress=False)
    pes, kt = np.meshgrid([8.0, 16.0, 32.0, 64.0], np.arange(1.0, 13.0), indexing="ij")
    accel = sp.SpatialAccelerator(pes.ravel(), 2**31 - 1, 2**31 - 1, 64.0, 32.0, constants={"KT": kt.ravel()})
    col = sp.conv_layer(*(np.asarray(getattr(layers, k))[:, None] for k in "KCRSYX"))
    rep = sp.spatial_cost(col, accel, DF, backend="numpy")
    rt = np.where(np.asarray(rep.degenerate) == 0, np.asarray(rep.runtime_cycles), np.inf)
    np.testing.assert_array_equal(res.best_value, rt.min(axis=1))
    np.testing.assert_array_equal(rt[np.arange(n), res.best_index], rt.min(axis=1))
    assert len(np.unique(rt.argmin(axis=1) % 12)) > 1  # the tile axis matters


def test_spatial_space_validates():
    with pytest.raises(ValueError, match="KT must be >= 1"):
        spatial_space(num_pes=[8, 16], KT=[0, 1])
    with pytest.raises(ValueError, match="num_pes must be an integer"):
        spatial_space(num_pes=[8.5])
