"""Semi-decoupled co-design on the 9,999 AlphaNet subnets (ImageNet top-1) x a 13,824-design MAESTRO grid.

    python experiments/semi_decoupled.py --config configs/semi_decoupled_alphanet.py --workdir out/alphanet

As ``semi_decoupled_nb201.py``; also measures the rank correlation in the paper's own setup (its 1,046 kept
subnets x its 50 accelerators, CONV on kcp_ws vs rs, depthwise on dpt).
"""

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
    c.space = ml_collections.ConfigDict(dict(name="alphanet", dataset="imagenet", subset="all", arch=()))
    c.objective = ml_collections.ConfigDict(dict(goal="max_accuracy", max_latency=10_000_000.0, max_energy=1.0e10,
                                                 max_area=20.0))
    c.k = 99  # the largest k with points_ratio >= 100 (9,999 x 13,824 / (9,999 + 99 x 13,824) = 100.3)
    c.paper_study = True
    return c
