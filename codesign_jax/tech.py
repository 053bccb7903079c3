"""Technology constants (45 nm) shared by both models' energy terms, each with its source.

Dynamic energy:

* ``MAC_PJ``: one 8-bit multiply-accumulate, 0.23 pJ (Horowitz, "Computing's energy problem",
  ISSCC 2014, 45 nm: 8-bit multiply 0.2 pJ + 8-bit add 0.03 pJ).

Static (leakage) power, charged for the hardware that is powered while a layer runs
(``static energy = leakage power x runtime``), as Accelergy / Timeloop and CACTI do:

* ``PE_LEAK_UW``: one PE (8x8-bit multiplier + 16-bit accumulator), 6.15 uW. From Accelergy's
  library plug-in, Aladdin tables (Accelergy-Project/accelergy-library-plug-in,
  ``library/aladdin``; Shao et al., ISCA 2014): a 32-bit multiplier idles at 0.08 pJ/cycle (45 nm)
  and a 32-bit adder leaks 0.0023 pJ/cycle (40 nm, 1 ns cycle); scaled to 8x8 bits by area
  (width^2: 0.08 / 16 = 0.005 pJ) and to a 16-bit accumulator (width: 0.00115 pJ), at the tables'
  1 GHz: 6.15 uW. Operand / partial-sum registers are not in those tables and not counted.
* ``SRAM_LEAK_UW_PER_KB``: on-chip SRAM, 13.8 uW per KB. CACTI 7.0 (HewlettPackard/cacti),
  45 nm, ITRS low-operating-power (itrs-lop) cells and peripherals, 350 K, one bank, 16-byte
  lines, scratchpad ("ram"): 16 KB 0.241 mW, 64 KB 0.884 mW, 256 KB 3.538 mW, 1024 KB 13.49 mW
  (13.2-15.1 uW/KB; 13.8 at 64-256 KB). ITRS high-performance cells leak about 75x more
  (64 KB: 66.4 mW): pass your own figure for an HP library.
* ``CLOCK_MHZ``: 1000 MHz, the clock of the Aladdin tables above; converts cycles to time.

Units: uW x (cycles / MHz) = uW x us = pJ.
"""

from __future__ import annotations

__all__ = ["CLOCK_MHZ", "MAC_PJ", "PE_LEAK_UW", "SRAM_LEAK_UW_PER_KB", "static_energy_pj"]

MAC_PJ = 0.23                  # Horowitz ISSCC'14, 45 nm: 8b mult 0.2 pJ + 8b add 0.03 pJ
PE_LEAK_UW = 6.15              # Accelergy library plug-in (Aladdin), 45 nm, scaled to an 8-bit MAC
SRAM_LEAK_UW_PER_KB = 13.8     # CACTI 7.0, 45 nm itrs-lop, 350 K (see module doc)
CLOCK_MHZ = 1000.0             # the Aladdin tables' 1 GHz


def static_energy_pj(cycles, pes, sram_kb, *, pe_leak_uw=PE_LEAK_UW,
                     sram_leak_uw_per_kb=SRAM_LEAK_UW_PER_KB, clock_mhz=CLOCK_MHZ,
                     rounded=lambda x: x):
    """Leakage energy (pJ) of ``pes`` PEs and ``sram_kb`` KB of SRAM powered for ``cycles`` cycles.

    ``E_static = (P_pe * pes + P_sram * KB) * cycles / f`` (leakage power x runtime, as Accelergy's
    per-cycle "leak" action). Arguments broadcast (numpy or jax arrays). ``rounded`` is applied to
    each product before it is added (the spatial model passes one that stops XLA's FMA contraction,
    so jitted and numpy results agree to the bit).
    """
    power = rounded(pe_leak_uw * pes) + rounded(sram_leak_uw_per_kb * sram_kb)
    return power * cycles / clock_mhz
