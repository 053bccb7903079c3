"""sweep_table: a whole layer table (repeats counted) swept per network, against brute force."""

import numpy as np

import codesign_jax  # noqa: F401  (x64)
from codesign_jax.hardware import SystolicArray
from codesign_jax.sweep import sweep_table, systolic_space
from codesign_jax.systolic import systolic_network_cost
from codesign_jax.workloads import LayerTable


def test_sweep_table_equals_brute_force_network_cost():
    t = LayerTable.concat([
        LayerTable.conv(16, 16, 3, 16, 3, stride=2, pad_h=2, repeat=2, network=0),
        LayerTable.conv(8, 8, 16, 32, 3, pad_h=2, groups=16, network=0),
        LayerTable.gemm(M=10, N=20, K=30, repeat=3, network=1)])
    rows, cols, dfs = [4, 8, 16], [4, 8, 16, 32], ["os", "ws", "is"]
    space = systolic_space(rows=rows, cols=cols, dataflow=dfs)
    res = sweep_table(t, space, ("latency", "energy"), top_k=2)
    grid = SystolicArray.create(rows=np.array(rows)[:, None, None], cols=np.array(cols)[None, :, None],
                                dataflow=np.arange(3)[None, None, :])
    for net in (0, 1):
        brute = systolic_network_cost(t.select(t.network == net), grid).total
        lat = brute["total_cycles"].reshape(-1)               # C order = the grid's flat index
        assert res.best_value[net] == lat.min() and res.best_index[net] == int(np.argmin(lat))
        assert sorted(res.topk_value[net]) == sorted(np.sort(lat)[:2])
