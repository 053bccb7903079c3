"""Area and power of a MAESTRO accelerator (its DSE cost database)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

__all__ = ["spatial_area_power"]


def spatial_area_power(num_pes, noc_bw, l1_elems, l2_elems, vector_width=1) -> tuple[Any, Any]:
    """Area (um^2) and power (mW) of a MAESTRO accelerator (DSE_hardware_modules.hpp Accelerator).

    MAESTRO's CSV uses the layer's L1/L2 *requirements* for ``l1_elems``/``l2_elems`` (per-PE L1).
    Constants: DSE_cost-database.hpp (MAC 283 um^2 / 1.2223 mW; SRAM 0.104 um^2 / 0.00345 mW per
    element; bus 101.7938 / 0.8; arbiter 395.473 / 0.34) and DSE_scaling-coefficients.hpp.
    """
    n, bw = jnp.asarray(num_pes, jnp.float64), jnp.asarray(noc_bw, jnp.float64)
    l1, l2 = jnp.ceil(jnp.asarray(l1_elems, jnp.float64)), jnp.ceil(jnp.asarray(l2_elems, jnp.float64))
    bus = 14.662 * n + 28.895  # Bus::GetScaledNumber (bus_c1, bus_c0)
    arb = 1.2886 * n**2 + 5.5814 * n - 23.711  # MatrixArbiter::GetScaledNumber (c2, c1, c0)
    area = (n * (283.0 * vector_width + 0.104 * l1) + 0.104 * l2 + 101.7938 * bus * bw
            + jnp.maximum(395.473 * arb, 395.473))
    power = (n * (1.2223 * vector_width + 0.00345 * l1) + 0.00345 * l2 + 0.8 * bus / 1000 * bw
             + jnp.maximum(0.34 * arb / 1000, 0.34))
    return area, power
