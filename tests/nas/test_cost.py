"""Whole spaces on spatial accelerators: distinct-shape evaluation + count matrix equals layer-by-layer sums."""

import numpy as np
import pytest

from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.nas import distinct_layers, load_space, spatial_layers, spatial_network_cost
from codesign_jax.spatial import check_spatial, spatial_cost
from codesign_jax.workloads import LayerTable

ACCELS = SpatialAccelerator(num_pes=np.array([32.0, 64, 256]), l1_size=100.0, l2_size=3000.0,
                            noc_bw=np.array([300.0, 1000, 500]), offchip_bw=np.array([50.0, 350, 150]))


def _layer_by_layer(table: LayerTable, accels, conv_df, dw_df):
    """Every row of the table on its own (no de-duplication), summed per network with np.add.at."""
    n = int(table.network.max()) + 1
    a = np.size(accels.num_pes)
    rt, en = np.zeros((n, a)), np.zeros((n, a))
    bad = np.zeros((n, a), bool)
    first_err = np.full((n, a), "", object)
    for lt, low in spatial_layers(table).items():
        df = dw_df if lt == "DSCONV" else conv_df
        for j in range(a):
            acc = SpatialAccelerator(*(np.asarray(getattr(accels, k)).reshape(-1)[j] if np.ndim(getattr(accels, k))
                                       else getattr(accels, k) for k in ("num_pes", "l1_size", "l2_size", "noc_bw",
                                                                         "offchip_bw")))
            err = check_spatial(low.layers, acc, df)
            ok = err == ""
            rows = table.network[low.index]
            for i in np.flatnonzero(~ok):  # remember the earliest rejected row of each network
                r = low.index[i]
                if first_err[rows[i], j] == "" or r < first_err[rows[i], j][0]:
                    first_err[rows[i], j] = (r, err[i])
            np.logical_or.at(bad[:, j], rows[~ok], True)
            sub = type(low.layers)(*(np.broadcast_to(getattr(low.layers, k), low.index.shape)[ok] for k in
                                     ("K", "C", "R", "S", "Y", "X", "stride")), lt)
            if ok.any():
                rep = spatial_cost(sub, acc, df, backend="numpy")
                np.add.at(rt[:, j], rows[ok], low.count[ok] * np.asarray(rep.runtime_cycles))
                np.add.at(en[:, j], rows[ok], low.count[ok] * np.asarray(rep.energy_total_xmac))
    return rt, en, bad, first_err


@pytest.mark.parametrize("space, arch, conv_df", [("alphanet", [16, 2049, 9998], "kcp_ws"),
                                                  ("alphanet", [3, 4], "rs"), ("nb201", [0, 6111, 15624], "kcp_ws")])
def test_network_sums_equal_layer_by_layer(space, arch, conv_df):
    s = load_space(space, arch=arch)
    cost = spatial_network_cost(s.layers, ACCELS, conv_dataflow=conv_df, backend="numpy")
    rt, en, bad, first = _layer_by_layer(s.layers, ACCELS, conv_df, "dpt")
    assert cost.runtime_cycles.shape == (len(arch), 3)
    np.testing.assert_array_equal(cost.ok, ~bad)
    np.testing.assert_array_equal(cost.runtime_cycles[~bad], rt[~bad])
    np.testing.assert_allclose(cost.energy_total_xmac[~bad], en[~bad], rtol=1e-13)
    assert np.isnan(cost.runtime_cycles[bad]).all()
    np.testing.assert_array_equal(cost.macs, s.macs)
    errors = cost.errors()
    for i, j in zip(*np.nonzero(bad)):  # the network's first rejected layer, by name and reason
        assert errors[i, j].endswith(first[i, j][1]) and errors[i, j].startswith("CONV K=")
    if conv_df == "kcp_ws":  # kcp_ws clusters 64 PEs: the 32-PE accelerator rejects every network
        assert bad[:, 0].all() and not bad[:, 1:].any()
        assert "Y=" in errors[0, 0] and "cluster size" in errors[0, 0]


def test_distinct_layers_rebuild_every_network():
    s = load_space("alphanet", subset="selected_1046")
    d = distinct_layers(s.layers)
    assert len(d.layers) < 600 and d.counts.shape == (1046, len(d.layers))
    np.testing.assert_array_equal(d.network_sum(d.layers.macs), s.macs)
    # a network's rows in order map to distinct rows with the same shape
    for k in ("filt_h", "channels", "filters", "groups", "out_h", "stride"):
        np.testing.assert_array_equal(getattr(d.layers, k)[d.row_layer], getattr(s.layers, k))
    mx = d.network_max(d.layers.channels[:, None].astype(float))
    np.testing.assert_array_equal(mx[:, 0], [s.layers.channels[s.layers.network == i].max() for i in range(1046)])


def test_fc_as_gemm_and_requirements():
    s = load_space("nb201", arch=[6111])
    conv = spatial_network_cost(s.layers, ACCELS, conv_dataflow="rs", requirements=True, backend="numpy")
    gemm = spatial_network_cost(s.layers, ACCELS, conv_dataflow="rs", fc="gemm", backend="numpy")
    assert conv.ok.all() and conv.l1_req.shape == (1, 3) and (conv.l1_req > 0).all()
    assert not gemm.ok[0, 0] and "GEMM" in gemm.errors()[0, 0]  # gemm_nmk clusters 64 PEs as well
    assert gemm.ok[0, 1:].all() and (gemm.runtime_cycles[0, 1:] != conv.runtime_cycles[0, 1:]).all()
    with pytest.raises(ValueError, match="fc='dense'"):
        spatial_network_cost(s.layers, ACCELS, fc="dense")
    with pytest.raises(ValueError, match="backend='gpu'"):
        spatial_network_cost(s.layers, ACCELS, backend="gpu")


@pytest.mark.slow
def test_compiled_grid_equals_numpy():
    s = load_space("alphanet", arch=[16, 2049])
    a = spatial_network_cost(s.layers, ACCELS, backend="numpy")
    b = spatial_network_cost(s.layers, ACCELS, backend="jax")
    np.testing.assert_array_equal(a.ok, b.ok)
    np.testing.assert_array_equal(a.runtime_cycles[a.ok], b.runtime_cycles[b.ok])
    np.testing.assert_allclose(a.energy_total_xmac[a.ok], b.energy_total_xmac[b.ok], rtol=1e-13)
