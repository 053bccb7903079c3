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
    c.k = 99  # one_reference / per_dataflow: the largest k with points_ratio >= 100 (9,999 x 13,824 / (9,999 + 99 x
    # 13,824) = 100.3)
    # Default: family references (configs/semi_decoupled_nb201.py). Chosen on development settings only (random seed
    # 1000, never the reported seed 0): per dataflow the reference among num_pes 64/256/1024 x noc 64/256 x off-chip
    # 50/150/350 and the k split (each k >= 40) that recover the most development optima with
    # 4 x 9,999 + sum_f k_f x 3,456 <= 9,999 x 13,824 / 100 (sum k_f <= 388): k = 133/98/78/40, the 39 left
    # spread evenly -> 143/108/88/49 (points_ratio 100.1). Development recovery 0.990 (198/200). Reproduced by
    # experiments/choose_family_references.py.
    c.variant = "family_references"
    c.random.dev_seed = 1000
    c.paper_study = True
    return c
