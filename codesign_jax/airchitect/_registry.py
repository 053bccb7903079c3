"""Case studies by name: :func:`make_case` rebuilds a :class:`~codesign_jax.airchitect._case.Case`
from the name and parameters a config (or a saved Predictor) holds."""

from __future__ import annotations

from codesign_jax.airchitect._case import Case
from codesign_jax.airchitect._case_array import array_case
from codesign_jax.airchitect._case_sched import sched_case
from codesign_jax.airchitect._case_sram import sram_case
from codesign_jax.airchitect._case_v2 import v2_case

__all__ = ["CASES", "make_case"]

#: Case factories by name: 'array' (case 1), 'sram' (case 2), 'sched' (case 3), 'v2' (case 4).
CASES = {"array": array_case, "sram": sram_case, "sched": sched_case, "v2": v2_case}


def make_case(name: str, **params) -> Case:
    """The case study ``name`` built with ``params`` (its factory's keyword arguments)."""
    if name not in CASES:
        raise ValueError(f"case must be one of {sorted(CASES)}, got {name!r}.")
    return CASES[name](**params)
