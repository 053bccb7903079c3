"""Default accelerator sweep: ResNet-18 and AlexNet on a systolic-array grid (~12k designs).

``python experiments/sweep.py --config configs/sweep_default.py --workdir out/sweep``
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    # Shipped topology names (codesign_jax.workloads.shipped_topologies()) or SCALE-Sim
    # topology CSV paths; each network is one segment (its latency/energy = sum over layers).
    c.networks = ("resnet18", "alexnet")
    # For CSV paths: 'conv' or 'gemm'; '' infers ('gemm' if the file name ends in '_gemm').
    c.input_type = ""
    # 'systolic': SCALE-Sim-exact report + energy/area (codesign_jax.systolic._energy);
    # 'compute': compute cycles only (latency objective only).
    c.model = "systolic"
    # Objective minimized for the best designs: latency | energy | edp | area | a metric name.
    c.objective = "edp"
    # 2-3 objectives of the Pareto front (empty: no front).
    c.pareto_objectives = ("latency", "area")
    # Design grid: one tuple per SystolicArray field (a 1-element tuple fixes the field).
    c.grid = ml_collections.ConfigDict()
    c.grid.rows = (4, 8, 16, 32, 64, 128, 256, 512)
    c.grid.cols = (4, 8, 16, 32, 64, 128, 256, 512)
    c.grid.dataflow = ("os", "ws", "is")
    c.grid.ifmap_sram_kb = (64, 128, 256, 512)
    c.grid.filter_sram_kb = (64, 128, 256, 512)
    c.grid.ofmap_sram_kb = (64, 128, 256, 512)
    c.grid.bw_mode = ("CALC",)
    c.grid.bandwidth = (10,)
    # Budgets (0 = none): PEs (rows x cols) and area in mm^2.
    c.max_macs = 0
    c.max_area_mm2 = 0.0
    c.top_k = 10
    c.chunk_size = 0  # designs per chunk; 0 = automatic (results do not depend on it)
    c.progress = True
    c.plot = True
    return c
