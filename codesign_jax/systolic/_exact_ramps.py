"""Fold geometry and skewed demand ramps of SCALE-Sim's systolic fold schedule (NumPy, host side).

Used by the exact CALC-mode refinement; see :mod:`codesign_jax.systolic._exact`.
"""

from __future__ import annotations

import numpy as np


_I = np.int64


def _cdiv(a, b):
    return -(-a // b)


# ----------------------------------------------------------------------------------------------
# Fold geometry and skewed demand ramps
# ----------------------------------------------------------------------------------------------
class _Layout:
    """Per-entry fold geometry (1-D int64 arrays), systolic_compute_*.set_params."""

    def __init__(self, M, N, K, R, C, df):
        self.R, self.C, self.df = R, C, df
        os_, ws_ = df == 0, df == 1
        self.Sr = np.where(os_, M, K)
        self.Sc = np.where(os_ | ws_, N, M)
        self.T = np.where(os_, K, np.where(ws_, M, N))
        self.frn = _cdiv(self.Sr, R)
        self.fcn = _cdiv(self.Sc, C)
        self.ru_l = self.Sr - (self.frn - 1) * R
        self.cu_l = self.Sc - (self.fcn - 1) * C
        self.L = R + C + self.T - 2 + np.where(os_, 0, R)
        self.total_cycles = self.frn * self.fcn * self.L - 1

    def ru(self, fr):
        return np.where(fr == self.frn - 1, self.ru_l, self.R)

    def cu(self, fc):
        return np.where(fc == self.fcn - 1, self.cu_l, self.C)


def _ramp_spec(lay, kind, fr, fc):
    """(columns n, run length h, first row s0, skewed) of one fold's real demands.

    Column c < n of the fold's demand block holds its h real entries in rows s0 + c*skew ...
    (systolic_compute_*.create_*_demand_mat: prefixes, flip of the padded stationary block, and
    skew_matrix for the streamed operands and the ofmap).
    """
    R, T = lay.R, lay.T
    ru, cu = lay.ru(fr), lay.cu(fc)
    one = np.ones_like(R)
    if kind == "ifmap":      # os: T x R skewed; ws: R-row prefix + T x R skewed; is: flipped RxC
        n = np.where(lay.df == 2, cu, ru)
        h = np.where(lay.df == 2, ru, T)
        s0 = np.where(lay.df == 0, 0, np.where(lay.df == 1, R, R - ru))
        skew = lay.df != 2
    elif kind == "filter":   # os: T x C skewed; ws: flipped R x C; is: R-row prefix + T x R skewed
        n = np.where(lay.df == 0, cu, np.where(lay.df == 1, cu, ru))
        h = np.where(lay.df == 1, ru, T)
        s0 = np.where(lay.df == 0, 0, np.where(lay.df == 1, R - ru, R))
        skew = lay.df != 1
    else:                    # ofmap: os (T-1)-row prefix + flipped R x C; ws/is (2R-1) prefix + T x C
        n = cu
        h = np.where(lay.df == 0, ru, T)
        s0 = np.where(lay.df == 0, T - 1 + R - ru, 2 * R - 1)
        skew = one > 0
    return n, h, s0, skew


def _ramp_sum(y, n):
    """sum_{c<n} max(y - c, 0) (exact int64)."""
    m = np.clip(y, 0, n)
    return m * y - m * (m - 1) // 2


def _fold_cum(x, n, h, skew):
    """Real demands in the first x rows after the fold's first real row (sum of clipped ramps)."""
    sk = _ramp_sum(x, n) - _ramp_sum(x - h, n)
    return np.where(skew, sk, n * np.clip(x, 0, h))


def _fold_row(e, n, h, s0, skew):
    """Fold row of the e-th (1-based) real demand of a fold: inverse of :func:`_fold_cum`."""
    lo = np.ones_like(e)                                   # answer x in [1, n + h - 1]
    hi = np.where(skew, n + h - 1, h)
    while True:
        act = lo < hi
        if not act.any():
            break
        mid = (lo + hi) // 2
        ok = _fold_cum(mid, n, h, skew) >= e
        hi = np.where(act & ok, mid, hi)
        lo = np.where(act & ~ok, mid + 1, lo)
    return s0 + lo - 1


def _stream_row(lay, kind, e):
    """Demand row (cycle) of the e-th (1-based) real demand of an operand whose every demand is
    real, over the whole fold sequence (column fold outer, row fold inner)."""
    zero = np.zeros_like(e)
    def cnt(fr, fc):                                      # real demands of one fold
        n, h, _, _ = _ramp_spec(lay, kind, fr, fc)
        return n * h
    per_col = lambda fc: (lay.frn - 1) * cnt(zero, fc) + cnt(lay.frn - 1, fc)
    full_col = per_col(zero)
    fc = np.minimum((e - 1) // np.maximum(full_col, 1), lay.fcn - 1)
    e1 = e - fc * full_col
    full_fold = cnt(zero, fc)
    fr = np.minimum((e1 - 1) // np.maximum(full_fold, 1), lay.frn - 1)
    e2 = e1 - fr * full_fold
    n, h, s0, skew = _ramp_spec(lay, kind, fr, fc)
    return (fc * lay.frn + fr) * lay.L + _fold_row(e2, n, h, s0, skew)
