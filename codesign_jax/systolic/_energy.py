"""Energy and area tables for the systolic model (SCALE-Sim 3.0.0 has none).

Defaults (all overridable, as float arrays so designs can vary them in a batch):

* Energy per access in units of one 8-bit MAC, from the Eyeriss energy hierarchy
  (Chen, Emer, Sze, ISCA 2016, Fig. 1 / Sec. III: ALU 1x, RF 1x, NoC/inter-PE 2x,
  global buffer 6x, DRAM 200x), scaled to picojoules with the 45 nm 8-bit multiply (0.2 pJ)
  + add (0.03 pJ) of Horowitz, ISSCC 2014 ("Computing's energy problem"), i.e. 0.23 pJ per MAC.
  SCALE-Sim's ifmap/filter/ofmap SRAMs are global buffers (6x); every operand hop between
  neighbouring PEs is an inter-PE transfer (2x).
* Area: a PE (8-bit MAC + registers) 283 um^2 and an SRAM word (byte) 0.104 um^2 from MAESTRO's
  DSE cost database (maestro-project/maestro, src/cost-model/include/design-space-exploration/
  DSE_cost-database.hpp: MAC 283 um^2, SRAM per element 0.104 um^2).
* Static (leakage) energy: leakage power of every PE and every KB of the three SRAMs times the
  layer's runtime (total cycles, stalls included) at the table's clock; 45 nm defaults and their
  sources in :mod:`codesign_jax.tech` (PE 6.15 uW, SRAM 13.8 uW/KB, 1 GHz). Without it a bigger
  array only ever lowers latency at no energy cost, and EDP always picks the largest array.
"""

from __future__ import annotations

import numpy as np
from flax import struct

from codesign_jax import tech

__all__ = ["EnergyTable", "default_energy_table", "systolic_energy", "systolic_area_mm2",
           "ENERGY_FIELDS"]

ENERGY_FIELDS = ("mac_energy_pj", "sram_ifmap_energy_pj", "sram_filter_energy_pj",
                 "sram_ofmap_energy_pj", "dram_energy_pj", "static_energy_pj", "total_energy_pj",
                 "area_mm2", "edp_pj_cycles")

_MAC_PJ = tech.MAC_PJ  # Horowitz ISSCC'14, 45 nm: 8b mult 0.2 pJ + 8b add 0.03 pJ


@struct.dataclass
class EnergyTable:
    """Per-access energies (pJ), leakage powers (uW), clock (MHz) and unit areas (um^2).

    Fields are float arrays or scalars.
    """

    mac_pj: float = _MAC_PJ                  # one MAC (Eyeriss: ALU 1x)
    ifmap_sram_pj: float = 6 * _MAC_PJ       # per word read (Eyeriss: global buffer 6x)
    filter_sram_pj: float = 6 * _MAC_PJ      # per word read
    ofmap_sram_pj: float = 6 * _MAC_PJ       # per word written
    dram_pj: float = 200 * _MAC_PJ           # per word read or written (Eyeriss: DRAM 200x)
    pe_leak_uw: float = tech.PE_LEAK_UW      # per PE (Accelergy library plug-in, Aladdin, 45 nm)
    sram_leak_uw_per_kb: float = tech.SRAM_LEAK_UW_PER_KB  # per KB of SRAM (CACTI 7, 45 nm lop)
    clock_mhz: float = tech.CLOCK_MHZ        # converts cycles to time for the leakage
    pe_area_um2: float = 283.0               # MAESTRO DSE_cost-database.hpp: MAC area
    sram_area_um2_per_byte: float = 0.104    # MAESTRO DSE_cost-database.hpp: SRAM per element


def default_energy_table(**overrides) -> EnergyTable:
    """The cited defaults with any field replaced; rejects unknown names and negative values."""
    names = {f.name for f in EnergyTable.__dataclass_fields__.values()}
    for k, v in overrides.items():
        if k not in names:
            raise ValueError(f"unknown energy table field {k!r}; valid: {sorted(names)}.")
        arr = np.asarray(v, dtype=np.float64)
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"energy table field {k} must be finite and >= 0, got {v!r}.")
        if k == "clock_mhz" and np.any(arr <= 0):
            raise ValueError(f"energy table field clock_mhz must be > 0, got {v!r}.")
    return EnergyTable(**overrides)


def systolic_area_mm2(xp, rows, cols, ifmap_kb, filter_kb, ofmap_kb, table: EnergyTable):
    """PE array + the three SRAMs, in mm^2 (1 word = 1 byte as in SCALE-Sim)."""
    pes = xp.asarray(rows, dtype=xp.float64) * cols
    sram_bytes = (xp.asarray(ifmap_kb, dtype=xp.float64) + filter_kb + ofmap_kb) * 1024.0
    return (pes * table.pe_area_um2 + sram_bytes * table.sram_area_um2_per_byte) * 1e-6


def systolic_energy(xp, m: dict, a, table: EnergyTable, *, broadcast: bool = True) -> dict:
    """Energy (pJ), area (mm^2) and energy-delay product from a systolic report ``m``.

    ``E = e_mac*MACs + e_if*SRAM_if_reads + e_fl*SRAM_fl_reads + e_of*SRAM_of_writes
    + e_dram*(DRAM reads + writes) + E_static``, ``E_static = (P_pe*R*C + P_sram*(KB_if + KB_fl +
    KB_of)) * total_cycles / f`` (:func:`codesign_jax.tech.static_energy_pj`); EDP = E * total cycles.
    """
    mac = m["macs"] * table.mac_pj
    s_if = m["sram_ifmap_reads"] * table.ifmap_sram_pj
    s_fl = m["sram_filter_reads"] * table.filter_sram_pj
    s_of = m["sram_ofmap_writes"] * table.ofmap_sram_pj
    dram = (m["dram_ifmap_reads"] + m["dram_filter_reads"] + m["dram_ofmap_writes"]) * table.dram_pj
    sram_kb = xp.asarray(a.ifmap_sram_kb, dtype=xp.float64) + a.filter_sram_kb + a.ofmap_sram_kb
    pes = xp.asarray(a.rows, dtype=xp.float64) * a.cols
    static = tech.static_energy_pj(m["total_cycles"], pes, sram_kb, pe_leak_uw=table.pe_leak_uw,
                                   sram_leak_uw_per_kb=table.sram_leak_uw_per_kb,
                                   clock_mhz=table.clock_mhz)
    total = mac + s_if + s_fl + s_of + dram + static
    area = systolic_area_mm2(xp, a.rows, a.cols, a.ifmap_sram_kb, a.filter_sram_kb,
                             a.ofmap_sram_kb, table)
    return {
        "mac_energy_pj": mac,
        "sram_ifmap_energy_pj": s_if,
        "sram_filter_energy_pj": s_fl,
        "sram_ofmap_energy_pj": s_of,
        "dram_energy_pj": dram,
        "static_energy_pj": static,
        "total_energy_pj": total,
        "area_mm2": xp.broadcast_to(area, xp.shape(total)) if broadcast else area,
        "edp_pj_cycles": total * m["total_cycles"],
    }
