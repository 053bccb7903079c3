"""Energy of the systolic model: dynamic terms plus static (leakage) energy, and what EDP then picks."""

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax import tech
from codesign_jax.hardware import SystolicArray
from codesign_jax.systolic import default_energy_table, systolic_cost, systolic_energy, systolic_metrics
from codesign_jax.topology import load_topology, shipped_topology_path
from codesign_jax.workloads import Gemm


def test_static_energy_by_hand():
    g = Gemm.create(M=100, N=30, K=70)
    a = SystolicArray.create(rows=4, cols=8, ifmap_sram_kb=64, filter_sram_kb=32, ofmap_sram_kb=16)
    m = systolic_metrics(np, g, a)
    e = systolic_energy(np, m, a, default_energy_table())
    cycles = float(m["total_cycles"])
    # 32 PEs at 6.15 uW and 112 KB at 13.8 uW/KB for `cycles` cycles at 1 GHz (1000 cycles = 1 us)
    hand = (32 * 6.15 + 112 * 13.8) * cycles / 1000.0
    assert float(e["static_energy_pj"]) == pytest.approx(hand, rel=1e-12)
    parts = ("mac_energy_pj", "sram_ifmap_energy_pj", "sram_filter_energy_pj", "sram_ofmap_energy_pj",
             "dram_energy_pj", "static_energy_pj")
    assert float(e["total_energy_pj"]) == pytest.approx(sum(float(e[p]) for p in parts), rel=1e-12)
    assert float(e["edp_pj_cycles"]) == pytest.approx(float(e["total_energy_pj"]) * cycles, rel=1e-12)
    # overridable like the dynamic constants; zero leakage removes the term
    off = systolic_energy(np, m, a, default_energy_table(pe_leak_uw=0.0, sram_leak_uw_per_kb=0.0))
    assert float(off["static_energy_pj"]) == 0.0
    with pytest.raises(ValueError, match="clock_mhz must be > 0"):
        default_energy_table(clock_mhz=0.0)


def _network_edp(table, sizes):
    g = load_topology(shipped_topology_path("resnet18"), "conv").gemm
    a = SystolicArray.create(rows=np.asarray(sizes)[:, None], cols=np.asarray(sizes)[None, :], dataflow="os",
                             ifmap_sram_kb=256, filter_sram_kb=256, ofmap_sram_kb=256)
    layers = Gemm(**{k: np.asarray(getattr(g, k))[:, None, None] for k in ("M", "N", "K", "ifmap_unique",
                                                                         "ifmap_valid")})
    m = systolic_metrics(np, layers, a)
    e = systolic_energy(np, m, a, table)
    return (e["total_energy_pj"].sum(0) * m["total_cycles"].sum(0)), e["static_energy_pj"].sum(0)


def test_edp_has_an_interior_optimum_with_leakage():
    """Without leakage a bigger array only lowers latency at no energy cost: EDP picks the largest one.
    With the cited 45 nm leakage an idle PE costs energy, and the optimum moves inside the grid."""
    sizes = [8, 16, 32, 64, 128, 256, 512]
    edp, static = _network_edp(default_energy_table(), sizes)
    r, c = np.unravel_index(np.argmin(edp), edp.shape)
    assert (r, c) != (len(sizes) - 1, len(sizes) - 1) and max(r, c) >= 3, (sizes[r], sizes[c])
    assert np.all(static > 0)
    edp0, _ = _network_edp(default_energy_table(pe_leak_uw=0.0, sram_leak_uw_per_kb=0.0), sizes)
    assert np.unravel_index(np.argmin(edp0), edp0.shape) == (len(sizes) - 1, len(sizes) - 1)


def test_energy_grows_with_runtime_for_a_fixed_design():
    """Same design and layer, DRAM bandwidth lowered: more stall cycles, (almost) the same accesses,
    more energy. (SCALE-Sim's ofmap write-back counts up to bw - 1 padded words more at high bandwidth.)"""
    g = Gemm.create(M=64, N=48, K=96)
    bws = np.array([1, 2, 4, 8, 16])
    a = SystolicArray.create(rows=8, cols=8, dataflow="os", ifmap_sram_kb=2, filter_sram_kb=2,
                             ofmap_sram_kb=2, bw_mode="USER", bandwidth=bws)
    m = {k: np.asarray(v) for k, v in systolic_cost(g, a).fields.items()}
    e = systolic_energy(np, m, a, default_energy_table())
    order = np.argsort(m["total_cycles"])
    assert np.all(np.diff(m["total_cycles"][order]) > 0)  # the bandwidths do change the runtime here
    dynamic = e["total_energy_pj"] - e["static_energy_pj"]
    np.testing.assert_allclose(dynamic, dynamic[0], rtol=1e-3)
    assert np.all(np.diff(e["static_energy_pj"][order]) > 0)
    assert np.all(np.diff(e["total_energy_pj"][order]) > 0)


def test_static_energy_uses_tech_constants():
    assert tech.static_energy_pj(1000.0, 1.0, 0.0) == pytest.approx(tech.PE_LEAK_UW)
    assert tech.static_energy_pj(2000.0, 0.0, 1.0) == pytest.approx(2 * tech.SRAM_LEAK_UW_PER_KB)
