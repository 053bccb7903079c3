"""Semi-decoupled co-design on NAS-Bench-201 (CIFAR-10) x a 13,824-design MAESTRO grid.

    python experiments/semi_decoupled.py --config configs/semi_decoupled_nb201.py --workdir out/nb201

Stage 1 ranks all 15,625 cells on one reference accelerator (kcp_ws, 256 PEs, NoC 256, off-chip 150) and
keeps k = 100; stage 2 and the exhaustive baseline search every design. The study also runs the other
variant (one reference per dataflow family, each family's designs searched with its own kept set) on the
same random settings and reports both. Budgets of the main objective are in the model's units: cycles, x MAC energy
(MAESTRO), mm^2 (MAESTRO's area model).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.space = ml_collections.ConfigDict(dict(name="nb201", dataset="cifar10", subset="", arch=()))
    c.accelerators = ml_collections.ConfigDict(dict(
        kind="spatial", num_pes=(16, 32, 64, 128, 256, 512, 1024, 2048), noc_bw=(64, 128, 256, 512, 1000, 2000),
        offchip_bw=(25, 50, 100, 150, 250, 350), dataflow=("kcp_ws", "rs", "ykp_os", "xp_ws"),
        l1_size=(64, 256, 512), l2_size=(4096, 16384, 65536, 262144), dw_dataflow="dpt", fc="conv"))
    c.reference = ml_collections.ConfigDict(dict(num_pes=256, noc_bw=256, offchip_bw=150, dataflow="kcp_ws"))
    # stage-1 variant: "one_reference" (above), "per_dataflow" (the reference's axes in every dataflow, one k) or
    # "family_references" (below: each dataflow family its own reference and kept-set size k, its designs searched
    # with its own kept set). These were chosen on AlphaNet's development settings (random seed 1000, see
    # semi_decoupled_alphanet.py); here they are only reported beside the default.
    c.variant = "one_reference"
    c.family_references = ml_collections.ConfigDict(dict(
        kcp_ws=dict(num_pes=1024, noc_bw=64, offchip_bw=350, k=143),
        rs=dict(num_pes=64, noc_bw=64, offchip_bw=50, k=108),
        ykp_os=dict(num_pes=64, noc_bw=64, offchip_bw=150, k=88),
        xp_ws=dict(num_pes=64, noc_bw=64, offchip_bw=50, k=49)))
    c.k = 100
    c.tolerance = 0.0
    c.objective = ml_collections.ConfigDict(dict(goal="max_accuracy", max_latency=300_000.0, max_energy=1.0e9,
                                                 max_area=20.0))
    c.random = ml_collections.ConfigDict(dict(n=200, seed=0, goals=("max_accuracy", "min_latency", "min_energy",
                                                                    "min_edp"), dev_seed=None))
    c.recovery_k_values = (1, 5, 10, 20, 50, 100, 200, 500, 1000)
    c.rank = ml_collections.ConfigDict(dict(per_dataflow=12, seed=0, kendall=True, top_k=(10, 100)))
    c.paper_study = False
    c.backend = "auto"
    return c
