"""Host-side input validation shared by the package: errors name the field and the value."""

from __future__ import annotations

import numpy as np

__all__ = ["parse_positive_int", "validate_positive_int"]


def validate_positive_int(name: str, value, *, minimum: int = 1) -> np.ndarray:
    """Returns ``value`` as an int64 array, or raises ``ValueError`` naming ``name``.

    Rejects NaN/inf, non-integers, and values below ``minimum``.
    """
    arr = np.asarray(value)
    if arr.size == 0:
        raise ValueError(f"{name} is empty.")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype} ({value!r}).")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            bad = arr[~np.isfinite(arr)].ravel()[0]
            raise ValueError(f"{name} must be finite, got {bad}.")
        if not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)].ravel()[0]
            raise ValueError(f"{name} must be an integer, got {bad}.")
    if np.any(arr < minimum):
        bad = arr[arr < minimum].ravel()[0]
        raise ValueError(f"{name} must be >= {minimum}, got {bad}.")
    return arr.astype(np.int64)


def parse_positive_int(text: str, where: str) -> int:
    """Parses a text field as an integer >= 1; errors start with ``where`` (file:line, field)."""
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{where} is not a number: {text!r}.") from None
    if not np.isfinite(v) or v != int(v):
        raise ValueError(f"{where} must be an integer, got {text!r}.")
    if v < 1:
        raise ValueError(f"{where} must be >= 1, got {text!r}.")
    return int(v)
