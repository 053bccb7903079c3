"""The CSV MAESTRO writes for a network (``--print_res_csv_file=true``), row for row and digit for digit.

Columns and their C++ types follow maestro-project/maestro@4eb08d1 ``design-space-exploration/
DSE_csv_writer.hpp`` (``CSVWriter::WriteDesignPoint`` for ``ConfigurationV2``); the per-layer values
follow ``user-api/API_user-interface-v2.hpp: APIV2::OutputResults`` (energy, throughput, multicast
factors, tensor sizes) and the area / power of ``DSE_hardware_modules.hpp: Accelerator`` with the
constants of ``DSE_cost-database.hpp`` and ``DSE_scaling-coefficients.hpp``, summed in MAESTRO's order
so that the printed digits agree. Numbers print as C++ ``ostream <<`` does (``%g``, 6 significant
digits; glibc's ``-nan`` for a NaN with the sign bit set, as ``0.0 / 0.0`` gives on x86).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["CSV_HEADER", "csv_lines"]

_TENSORS = ("input", "filter", "output")
CSV_HEADER = (
    "Neural Network Name, Layer Number, NumPEs, Runtime (Cycles), Activity count-based Energy (nJ), Throughput "
    "(MACs/Cycle), Throughput Per Energy (GMACs/s*J), Area, Power, NoC BW Req (Elements/cycle), Avg BW Req, Peak BW "
    "Req, Vector Width, Offchip BW Req (Elements/cycle),  L2 SRAM Size Req (Bytes), L1 SRAM Size Req (Bytes), "
    "Multicasting Factor (Weight), Multicasting Factor (Input), Num Total Input Pixels, Num Total Weight Pixels, "
    "Ops/J, Num MACs, PE power, L1 power, L2 power, NOC power, "
    + "".join(f"{t} l1 read, {t} l1 write, {t} l2 read, {t} l2 write, {t} reuse factor," for t in _TENSORS)
    + "Ingress Delay (Min), Ingress Delay (Max), Ingress Delay (Avg), Egress Delay (Min), Egress Delay (Max),  Egress "
    "Delay (Avg),Compute Delay (Min), Compute Delay (Min), Compute Delay (Avg),Avg number of utilized PEs, Arithmetic "
    "Intensity")

MAC_ENERGY = 0.00023  # nJ per MAC: DSE_cost-database.hpp mac_energy
L2_MULT, L1_MULT = 18.61, 1.68  # BASE_constants.hpp l2_energy_multiplier, l1_energy_multiplier


def fmt(x) -> str:
    """A double as C++ ``std::cout << x`` prints it (precision 6)."""
    x = float(x)
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "%g" % x


def _long(x) -> int:
    """A value assigned to a C++ long: MAESTRO's untouched +-LDBL_MAX minima convert to LONG_MIN on x86."""
    x = float(x)
    return int(x) if math.isfinite(x) else -2**63


def _int32(v: int) -> int:
    """A long assigned to a C++ int (two's-complement wrap, as g++ does)."""
    return (int(v) + 2**31) % 2**32 - 2**31


def _div(a, b):
    """C++ floating division (x86: 0/0 -> -nan, x/0 -> +-inf)."""
    with np.errstate(all="ignore"):
        return np.float64(a) / np.float64(b)


def _ldiv(a, b):
    with np.errstate(all="ignore"):
        return np.longdouble(a) / np.longdouble(b)


def _seq_sum(x: float, n: int) -> float:
    """``x`` added ``n`` times to 0.0, one at a time (MAESTRO loops over PEs)."""
    return float(np.cumsum(np.full(n, x))[-1]) if n > 0 else 0.0


def area_power(num_pes: int, vector_width: int, noc_bw: int, l1: int, l2: int) -> tuple:
    """(area, power, pe power, l1 power, l2 power, noc power) of DSE_hardware_modules.hpp
    ``Accelerator(num_pes, vector_width, noc_bw, l1, l2)`` (um^2, mW), summed in MAESTRO's order."""
    cells = lambda size: math.ceil(float(size) / 1.0) or 1.0  # SRAM: ceil(total / unit), at least 1
    mac_a, mac_p = 283.0 * float(vector_width), 1.2223 * float(vector_width)
    l1_a, l1_p = 0.104 * cells(l1), 0.00345 * cells(l1)
    l2_a, l2_p = 0.104 * cells(l2), 0.00345 * cells(l2)
    n = float(num_pes)
    bus = 14.662 * n + 28.895  # Bus::GetScaledNumber
    arb = 1.2886 * n ** 2 + 5.5814 * n + -23.711  # MatrixArbiter::GetScaledNumber
    bus_a, bus_p = 101.7938 * bus * float(noc_bw), 0.8 * bus / 1000 * float(noc_bw)
    arb_a, arb_p = max(395.473 * arb, 395.473), max(0.34 * arb / 1000, 0.34)
    pe_a, pe_p = 0.0 + mac_a + l1_a, 0.0 + mac_p + l1_p
    area = 0.0 + _seq_sum(pe_a, num_pes) + l2_a + (0.0 + bus_a + arb_a)
    power = 0.0 + _seq_sum(pe_p, num_pes) + l2_p + (0.0 + bus_p + arb_p)
    return area, power, _seq_sum(mac_p, num_pes), _seq_sum(l1_p, num_pes), l2_p, 0.0 + bus_p + arb_p


def csv_lines(network: str, names: Sequence[str], rep: dict, multi_level: Sequence[bool], input_size, weight_size,
              arith, num_pes: int, noc_bw: int, vector_width: int = 1) -> list[str]:
    """MAESTRO's CSV rows for one network file (no header; see :data:`CSV_HEADER`).

    Args:
      rep: report fields (``SpatialReport`` names) as ``[L]`` arrays, layers in file order.
      multi_level: per layer, whether its dataflow has a Cluster (then MAESTRO's L1 energy term uses
        the previous layer's L1 counts: ``OutputResults`` reads them before updating, 0 for layer 1).
      input_size, weight_size: the layer's declared dimensions coupled to each tensor, multiplied
        (``APIV2::GetTensorSize``). arith: the arithmetic intensity of each layer.
    """
    g = lambda k, i: int(rep[k][i])
    prev_l1 = [0] * 6
    out = []
    for i, name in enumerate(names):
        l1_now = [g(f"{t}_l1_{a}", i) for t in _TENSORS for a in ("read", "write")]
        l1 = prev_l1 if multi_level[i] else l1_now
        prev_l1 = l1_now
        energy = 0.0
        for t, a in (("input", "read"), ("input", "write"), ("filter", "read"), ("filter", "write"),
                     ("output", "write")):
            energy += g(f"{t}_l2_{a}", i) * L2_MULT
        for c in l1:
            energy += c * L1_MULT
        energy *= MAC_ENERGY
        none = not math.isfinite(float(rep["ingress_delay_min"][i]))
        runtime, macs = g("runtime_cycles", i), g("num_macs_top", i)
        perf = _ldiv(_ldiv(macs, runtime), energy) * np.longdouble(1000000000)
        l2s = _int32(sum(g(f"{t}_l2_size_req", i) for t in _TENSORS))
        l1s = _int32(sum(g(f"{t}_l1_size_req", i) for t in _TENSORS))
        area, power, pe_p, l1_p, l2_p, noc_p = area_power(num_pes, vector_width, noc_bw, l1s, l2s)
        ops_j = _div(macs, energy) * 1000000000
        peak = g("peak_noc_bw_req", i)
        row = [network, name, str(num_pes), str(runtime), fmt(energy), fmt(_div(macs, runtime)), fmt(perf), fmt(area),
               fmt(power), str(peak), "-nan" if none else fmt(rep["avg_noc_bw_req"][i]), str(peak), str(vector_width),
               str(g("offchip_bw_req", i)), str(l2s), str(l1s),
               fmt(_div(g("filter_l1_write", i), g("filter_l2_read", i))),
               fmt(_div(g("input_l1_write", i), g("input_l2_read", i))), str(int(input_size[i])),
               str(int(weight_size[i])), fmt(ops_j), str(macs), fmt(pe_p), fmt(l1_p), fmt(l2_p), fmt(noc_p)]
        line = ",".join(row) + ","
        for t in _TENSORS:
            rd, wr = g(f"{t}_l1_read", i), g(f"{t}_l1_write", i)
            line += f"{rd}, {wr}, {g(f'{t}_l2_read', i)}, {g(f'{t}_l2_write', i)}, {fmt(_ldiv(rd, wr))}, "
        # No valid case: the minima stay LDBL_MAX (-> LONG_MIN), the maxima LDBL_MIN (-> 0) and the
        # averages divide by zero cases (NaN -> LONG_MIN; Avg BW Req -nan) (AnalyzeClusterLevel_V2).
        none = not math.isfinite(float(rep["ingress_delay_min"][i]))
        delays = [(0 if s == "max" else -2**63) if none else _long(rep[f"{k}_delay_{s}"][i])
                  for k in ("ingress", "egress", "compute") for s in ("min", "max", "avg")]
        line += ", ".join(str(d) for d in delays)
        line += f", {fmt(rep['avg_utilized_pes'][i])}, {fmt(arith[i])}"
        out.append(line)
    return out
