"""Hardware descriptions of both models as pytrees of arrays (any broadcastable batch shape).

* ``SystolicArray`` mirrors the fields of a SCALE-Sim 3.0.0 ``.cfg`` file
  (``scalesim/scale_config.py``): array rows x cols, dataflow, the three SRAM sizes in KB, the
  interface bandwidth mode and bandwidths.
* ``SpatialAccelerator`` mirrors a MAESTRO hardware file (``hw.m``): PEs, L1/L2 sizes, NoC and
  off-chip bandwidths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flax import struct

from codesign_jax._validate import validate_positive_int

__all__ = ["BW_MODES", "DATAFLOWS", "SpatialAccelerator", "SystolicArray", "dataflow_code"]

#: SCALE-Sim dataflow names, in the order of their integer codes.
DATAFLOWS = ("os", "ws", "is")
#: SCALE-Sim ``InterfaceBandwidth`` modes, in the order of their integer codes.
BW_MODES = ("CALC", "USER")


def _enum_code(name: str, value, names: tuple) -> np.ndarray:
    """Maps names (case-insensitive) or integer codes of ``names`` to int64 codes; raises with
    ``name`` on anything else."""
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        flat = [str(x).strip().lower() for x in arr.ravel()]
        lower = [n.lower() for n in names]
        bad = [x for x in flat if x not in lower]
        if bad:
            raise ValueError(f"{name} must be one of {names}, got {bad[0]!r}.")
        return np.asarray([lower.index(x) for x in flat], np.int64).reshape(arr.shape)
    codes = validate_positive_int(name, arr, minimum=0)
    if np.any(codes >= len(names)):
        valid = ", ".join(f"{i} ({n})" for i, n in enumerate(names))
        raise ValueError(f"{name} code must be one of {valid}, got "
                         f"{codes[codes >= len(names)].ravel()[0]}.")
    return codes


def dataflow_code(dataflow) -> np.ndarray:
    """Maps dataflow names ('os'/'ws'/'is') or codes (0/1/2) to int codes; raises on others."""
    return _enum_code("dataflow", dataflow, DATAFLOWS)


@struct.dataclass
class SystolicArray:
    """A batch of systolic-array designs (int64 arrays, broadcast together).

    Attributes:
      rows, cols: PE array height and width (>= 1).
      dataflow: 0 = output stationary, 1 = weight stationary, 2 = input stationary.
      ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb: double-buffered SRAM sizes in KB (1 word =
        1 byte, as SCALE-Sim 3.0.0 hard-codes ``word_size = 1`` in ``single_layer_sim.run``).
      bw_mode: 0 = ``CALC`` (SCALE-Sim estimates the DRAM bandwidth: no read stalls),
        1 = ``USER`` (bandwidths below are enforced and stalls occur).
      bandwidth: ``Bandwidth`` key (words/cycle): ofmap write-back bandwidth in USER mode.
      ifmap_dram_bw, filter_dram_bw: ``IfmapSRAMBankBandwidth`` / ``FilterSRAMBankBandwidth``
        (words/cycle): DRAM->SRAM read bandwidths in USER mode.
    """

    rows: np.ndarray
    cols: np.ndarray
    dataflow: np.ndarray
    ifmap_sram_kb: np.ndarray
    filter_sram_kb: np.ndarray
    ofmap_sram_kb: np.ndarray
    bw_mode: np.ndarray
    bandwidth: np.ndarray
    ifmap_dram_bw: np.ndarray
    filter_dram_bw: np.ndarray

    @classmethod
    def create(cls, rows, cols, dataflow="os", ifmap_sram_kb=1024, filter_sram_kb=1024,
               ofmap_sram_kb=1024, bw_mode="CALC", bandwidth=10, ifmap_dram_bw=None,
               filter_dram_bw=None) -> "SystolicArray":
        """Validated constructor; every field broadcast to a common shape.

        ``ifmap_dram_bw``/``filter_dram_bw`` default to ``bandwidth`` (as in SCALE-Sim's sample
        configs, where the layout bank bandwidths equal ``Bandwidth``).
        """
        mode = _enum_code("bw_mode", bw_mode, BW_MODES)
        bw = validate_positive_int("bandwidth", bandwidth)
        f = dict(
            rows=validate_positive_int("rows", rows),
            cols=validate_positive_int("cols", cols),
            dataflow=dataflow_code(dataflow),
            ifmap_sram_kb=validate_positive_int("ifmap_sram_kb", ifmap_sram_kb),
            filter_sram_kb=validate_positive_int("filter_sram_kb", filter_sram_kb),
            ofmap_sram_kb=validate_positive_int("ofmap_sram_kb", ofmap_sram_kb),
            bw_mode=mode,
            bandwidth=bw,
            ifmap_dram_bw=validate_positive_int(
                "ifmap_dram_bw", bw if ifmap_dram_bw is None else ifmap_dram_bw),
            filter_dram_bw=validate_positive_int(
                "filter_dram_bw", bw if filter_dram_bw is None else filter_dram_bw),
        )
        arrs = np.broadcast_arrays(*f.values())
        return cls(**dict(zip(f.keys(), arrs)))

    @property
    def shape(self) -> tuple:
        return np.shape(self.rows)


@struct.dataclass
class SpatialAccelerator:
    """A MAESTRO hardware description (its ``hw.m`` file); fields broadcast over a batch.

    Attributes:
      num_pes: processing elements. l1_size / l2_size: buffer capacities (elements) -- MAESTRO only
        compares them with the requirements (``l1_fits``/``l2_fits`` in the report).
      noc_bw: NoC bandwidth (elements/cycle). offchip_bw: off-chip bandwidth (elements/cycle).
      noc_hops: NoC latency (``NoC_NumHops`` of a hw file, default 1; ``noc_hop_latency * noc_hops`` in
        MAESTRO's flag mode, default 0): NoC delay = noc_hops + ceil(x/bw) - 1.
      constants: ``{name: array}``, per-point values of a dataflow's named constants (a mapping file's
        ``Constant KTileSz 4;``, e.g. a tile size as a design axis); traced like every other field.
    """

    num_pes: Any
    l1_size: Any
    l2_size: Any
    noc_bw: Any
    offchip_bw: Any
    noc_hops: Any = 1
    constants: Any = struct.field(default_factory=dict)
