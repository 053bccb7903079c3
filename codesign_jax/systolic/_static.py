"""Trace-time specialisation helpers shared by the systolic model and its USER-mode recurrence.

A value that is a Python / NumPy scalar (a static dataflow code, a bandwidth mode fixed for a whole
sweep) resolves branches while tracing, so the other branch's formulas are never traced.
"""

from __future__ import annotations

import numpy as np


def is_static(v) -> bool:
    """True for Python / NumPy bools and 0-d NumPy arrays (known while tracing)."""
    return isinstance(v, (bool, np.bool_)) or (isinstance(v, np.ndarray) and v.ndim == 0)


def where(xp, cond, a, b):
    """``xp.where`` that resolves at trace time when ``cond`` is static (:func:`is_static`)."""
    if is_static(cond):
        return a if bool(cond) else b
    return xp.where(cond, a, b)
