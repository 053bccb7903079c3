"""Gradient search on the relaxed systolic model vs random / CMA-ES / Bayesian search (issue 12).

    python experiments/relaxed_search.py --config configs/relaxed_search.py --workdir W
    python experiments/relaxed_search.py --config configs/relaxed_search.py:tiny --workdir W  # seconds

Cases: the distinct GEMMs of the shipped networks (ResNet-18, AlexNet, MobileNetV2, BERT-base),
then seeded random GEMMs, ``n_cases`` in all. Per case, the EDP (pJ x cycles) of the 5-parameter
systolic design (rows, cols: multiples of 8 up to 256; ifmap / filter / ofmap SRAM: 8 KB .. 2 MB in
powers of 2) x 3 dataflows, within 4 mm^2 (PEs + SRAM, 45 nm unit areas): 2.24e6 legal designs per
case; every method gets ``evaluations`` cost-model evaluations per case.
"""

import ml_collections


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.n_cases = 128
    c.networks = ("resnet18", "alexnet", "mobilenetv2", "bert_base_gemm")
    c.random_gemm = ml_collections.ConfigDict({"low": (16, 16, 16), "high": (4096, 1024, 4608)})  # M, N, K
    c.objective = "edp"
    c.grid = ml_collections.ConfigDict({
        "rows": tuple(range(8, 257, 8)), "cols": tuple(range(8, 257, 8)),
        "ifmap_sram_kb": tuple(2 ** i for i in range(3, 12)), "filter_sram_kb": tuple(2 ** i for i in range(3, 12)),
        "ofmap_sram_kb": tuple(2 ** i for i in range(3, 12)), "dataflows": ("os", "ws", "is")})
    c.max_area_mm2 = 4.0
    c.max_pes = 0        # 0: no budget
    c.max_sram_kb = 0    # 0: no budget
    c.evaluations = 512
    # Successive halving: 24 restarts (8 per dataflow), the best 12 after 8 steps, the best 6 after 16,
    # 47 steps in all; 'coordinate' rounding: 6 exact evaluations per final restart. 510 evaluations.
    c.gradient = ml_collections.ConfigDict({
        "restarts": (24, 12, 6), "steps": (8, 8, 31), "learning_rate": 0.2, "lr_end": 0.05,
        "t_start": 0.3, "t_end": 0.02, "penalty_start": 1.0, "penalty_end": 1000.0,
        "dataflow_choice": "restart", "rounding": "coordinate"})
    c.cmaes = ml_collections.ConfigDict({"population": 16, "sigma": 0.3})
    c.bayesopt_cases = 8  # optuna TPE on this many evenly spaced cases (0: all)
    c.plot = True
    if variant == "tiny":  # the end-to-end test: seconds
        c.n_cases = 3
        c.networks = ("alexnet",)
        c.grid.rows = c.grid.cols = (8, 16, 32)
        c.grid.ifmap_sram_kb = c.grid.filter_sram_kb = (8, 64)
        c.grid.ofmap_sram_kb = (8,)
        c.grid.dataflows = ("os", "ws")
        c.max_area_mm2 = 0.3
        c.evaluations = 32
        c.gradient.restarts, c.gradient.steps = (3,), (4,)  # one stage: one compiled scan
        c.cmaes.population = 8
        c.bayesopt_cases = 2
    elif variant:
        raise ValueError(f"unknown variant {variant!r}; valid: '' (default), 'tiny'.")
    return c
