"""Tiny semi-decoupled study for tests: 400 NB201 cells x 96 MAESTRO designs."""

import importlib.util
import os

import ml_collections


def _nb201():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "semi_decoupled_nb201.py")
    spec = importlib.util.spec_from_file_location("semi_decoupled_nb201", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config()


def get_config() -> ml_collections.ConfigDict:
    c = _nb201()
    c.space.arch = tuple(range(0, 15625, 39))[:400]
    c.accelerators.num_pes = (32, 64, 256)  # 3 x 2 x 2 x 2 = 24 perf points x 4 buffer options
    c.accelerators.noc_bw = (128, 1000)
    c.accelerators.offchip_bw = (50, 150)
    c.accelerators.dataflow = ("kcp_ws", "rs")
    c.accelerators.l1_size = (64, 256)
    c.accelerators.l2_size = (4096, 262144)
    c.reference.num_pes = 64
    c.reference.noc_bw = 128
    c.k = 20
    c.family_references = ml_collections.ConfigDict(dict(kcp_ws=dict(num_pes=64, noc_bw=128, offchip_bw=50, k=15),
                                                         rs=dict(num_pes=32, noc_bw=1000, offchip_bw=150, k=10)))
    c.random.dev_seed = 7
    c.random.n = 12
    c.recovery_k_values = (1, 5, 20)
    c.rank.per_dataflow = 3
    c.rank.kendall = True
    c.rank.top_k = (5,)
    c.objective.max_latency = 2_000_000.0
    c.objective.max_area = 50.0
    return c
