"""Loads tests/data/scalesim_reference.csv (real SCALE-Sim 3.0.0 runs) into model inputs."""

import csv
import os

import numpy as np

from codesign_jax.hardware import SystolicArray
from codesign_jax.workloads import Conv, Gemm

DATA = os.path.join(os.path.dirname(__file__), "data")
CONV_KEYS = ("ifmap_h", "ifmap_w", "filt_h", "filt_w", "channels", "num_filters", "stride")


def load_rows(name="scalesim_reference.csv"):
    with open(os.path.join(DATA, name)) as f:
        return list(csv.DictReader(f))


def row_gemm(x) -> Gemm:
    if x["input_type"] == "gemm":
        return Gemm.create(int(x["M"]), int(x["N"]), int(x["K"]))
    return Conv.create(*[int(x[k]) for k in CONV_KEYS]).to_gemm()


def row_array(x) -> SystolicArray:
    return SystolicArray.create(
        int(x["rows"]), int(x["cols"]), x["dataflow"], int(x["ifmap_sram_kb"]),
        int(x["filter_sram_kb"]), int(x["ofmap_sram_kb"]), x["bw_mode"], int(x["bandwidth"]))


def batch(rows):
    """Stacks rows into one Gemm and one SystolicArray batch of shape [n_rows]."""
    gs = [row_gemm(x) for x in rows]
    arrs = [row_array(x) for x in rows]
    g = Gemm.concat(gs)
    a = SystolicArray(**{k: np.concatenate([np.ravel(getattr(v, k)) for v in arrs])
                         for k in SystolicArray.__dataclass_fields__})
    return g, a


def ref(rows, field):
    return np.asarray([float(x[field]) for x in rows])
