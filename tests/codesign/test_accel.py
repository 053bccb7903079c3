"""Accelerator spaces: sizes, decoding, area model, config validation."""

import numpy as np
import pytest

from codesign_jax.codesign import accelerator_space, spatial_accelerator_space, systolic_array_space


def test_default_grids_have_at_least_1e4_designs():
    sp, sy = accelerator_space({"kind": "spatial"}), accelerator_space({"kind": "systolic"})
    assert sp.size == 1152 * 12 >= 1e4 and sp.n_perf == 1152 and sp.n_buffers == 12
    assert sy.size == 11664 >= 1e4 and sy.n_buffers == 1


def test_design_decoding_is_perf_major():
    sp = spatial_accelerator_space(num_pes=(64, 128), noc_bw=(100,), offchip_bw=(50, 60), dataflow=("rs", "kcp_ws"),
                                   l1_size=(64, 128, 256), l2_size=(1000, 2000))
    assert sp.size == 8 * 6
    d = sp.design(np.arange(sp.size))
    assert d["num_pes"][:24].tolist() == [64] * 24 and d["l2_size"][:2].tolist() == [1000, 2000]
    assert d["dataflow"][6] == "kcp_ws" and d["l1_size"][6] == 64  # design 6 = perf point 1, buffer 0
    # area (MAESTRO's DSE model): increasing in PEs, L1 and L2
    a = sp.area_mm2()
    assert a.shape == (8, 6) and (np.diff(a[0].reshape(3, 2), axis=0) > 0).all() and (a[4] > a[0]).all()


def test_systolic_area_is_pes_plus_sram():
    sy = systolic_array_space(rows=(8, 16), cols=(8,), dataflow=("ws",), ifmap_sram_kb=(64,), filter_sram_kb=(64,),
                              ofmap_sram_kb=(32,))
    a = sy.area_mm2()[:, 0]
    np.testing.assert_allclose(a, (np.array([64, 128]) * 283.0 + 160 * 1024 * 0.104) * 1e-6)


@pytest.mark.parametrize("cfg, msg", [
    ({"kind": "tpu"}, "accelerators.kind='tpu'"),
    ({"kind": "spatial", "num_pes": (0, 64)}, "num_pes=0"),
    ({"kind": "spatial", "dataflow": ("kcp_ws", "nlr")}, "dataflow='nlr'"),
    ({"kind": "spatial", "l1_size": (64, 64)}, "repeated"),
    ({"kind": "spatial", "rows": (8,)}, "unknown field(s) ['rows']"),
    ({"kind": "systolic", "dataflow": ("xs",)}, "dataflow='xs'"),
    ({"kind": "systolic", "cols": (8.5,)}, "cols=8.5"),
])
def test_bad_config_values_name_the_field(cfg, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        accelerator_space(cfg)
