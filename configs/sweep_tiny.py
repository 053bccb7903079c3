"""Tiny sweep for tests: one shipped network, a few dozen designs, a MAC budget.

Uses the compute-cycle model (compiles in seconds); set ``--config.model=systolic
--config.objective=edp`` for the full SCALE-Sim + energy model.
"""

import importlib.util
import os

import ml_collections


def _default():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sweep_default.py")
    spec = importlib.util.spec_from_file_location("sweep_default", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config()


def get_config() -> ml_collections.ConfigDict:
    c = _default()
    c.networks = ("alexnet",)
    c.model = "compute"
    c.objective = "latency"
    c.pareto_objectives = ("latency", "area", "pes")
    c.grid.rows = (8, 16, 32)
    c.grid.cols = (8, 16, 32)
    c.grid.ifmap_sram_kb = (64, 256)
    c.grid.filter_sram_kb = (128,)
    c.grid.ofmap_sram_kb = (128,)
    c.max_macs = 512
    c.top_k = 3
    c.chunk_size = 16
    c.progress = False
    return c
