"""A convolution's CALC ifmap demand stream cut into tiles that repeat up to an address shift.

One pass of the ifmap demand (systolic_compute_{os,ws,is}.create_ifmap_demand_mat, addresses from
operand_matrix.calc_ifmap_elem_addr, -1 entries dropped; read_buffer_estimate_bw.service_reads
takes them row by row, column by column) is a sequence of *super-folds*: os and is, the whole pass
(pixels in order); ws, one row fold (R window positions over every pixel, skewed). A super-fold is
a sequence of *tiles*: os, G row folds (G*R pixels x all K window positions, each fold skewed);
is, G groups of C pixels (every row fold of the group, each flipped); ws, B time steps of the
skewed fold (B a multiple of the ofmap width). Memory per tile is bounded by the array and the
filter, never by the ifmap.

Two tiles (with the same number of context tiles before them) whose pixel windows have the same
:func:`_pixkey` hold the same addresses up to one constant shift, with the same -1 mask: a pixel
window inside one ofmap row away from the last column and row, or starting at the same column,
is a translate (calc_ifmap_elem_addr is affine in the ofmap row and column). Anything derived
from a tile's addresses (reuse distances, miss positions) is computed once per key.
"""

from __future__ import annotations

import numpy as np

from codesign_jax.systolic._exact_ramps import _I, _cdiv

#: Tile size aimed at (real entries before the -1 mask); a tile is never split below one fold
#: (os: R x K, is: C x K) or one ofmap row of time steps (ws).
TILE_TARGET = 1 << 15


class _Geometry:
    """Lowered conv geometry (``_exact._geometry`` order plus the stride) and its address maps."""

    def __init__(self, M, K, geo):
        self.ew, self.eh, self.Fh, self.Fw, self.Ch, self.lh, self.lw, self.s = geo
        self.M, self.K = M, K
        self.wc = (self.ew - 1) * self.s + self.Fw
        # pixels whose windows share an element: |drow| <= (Fh-1)//s and |dcol| <= (Fw-1)//s
        self.span_pix = ((self.Fh - 1) // self.s) * self.ew + (self.Fw - 1) // self.s
        self.overlap = self.Fh > self.s or self.Fw > self.s

    def pix(self, p):
        """operand_matrix.calc_ifmap_elem_addr, pixel part: (base address, last row, last col)."""
        orow, ocol = np.divmod(p, self.ew)
        return ((orow * self.s * self.wc + ocol * self.s) * self.Ch, orow == self.eh - 1,
                ocol == self.ew - 1)

    def kpos(self, k):
        """Window-position part: (offset, filter row >= last_h, filter col >= last_w)."""
        c_row, rem = np.divmod(k, self.Fw * self.Ch)
        c_col, ch = np.divmod(rem, self.Ch)
        return (c_row * self.wc + c_col) * self.Ch + ch, c_row >= self.lh, c_col >= self.lw

    def entries(self, p, k, inr):
        """Addresses and real mask of (pixel, window position) pairs; ``inr``: inside M x K."""
        p, k = np.minimum(p, self.M - 1), np.minimum(k, self.K - 1)
        pb, plr, plc = self.pix(p)
        ko, kbr, kbc = self.kpos(k)
        # calc_ifmap_elem_addr: -1 off the ifmap edge (last ofmap row/col, filter past last_h/w)
        ok = inr & ~((plr & kbr) | (plc & kbc))
        return pb + ko, ok


_KINDS = ("s", "e", "c", "f")


def _pixkeys(geo: _Geometry, P0, P1):
    """Translation classes of pixel windows [P0, P1) (arrays; P0 < 0 or P1 > M: a ramp past the
    ends) as (kind, a, n) int arrays: kind 0 starts at or before pixel 0 (a = P0), 1 reaches the
    last ofmap row or past M (a = M - P0, its -1 mask), 2 wraps a row or holds the last column
    (a = first column), 3 lies inside one row (a = 0); n = P1 - P0."""
    P0, P1 = np.asarray(P0, _I), np.asarray(P1, _I)
    n = P1 - P0
    c0 = P0 % geo.ew
    kind = np.where(P0 <= 0, 0, np.where(P1 > geo.M - geo.ew, 1, np.where(c0 + n >= geo.ew, 2, 3)))
    a = np.select([kind == 0, kind == 1, kind == 2], [P0, geo.M - P0, c0], 0)
    return kind, a, n


def _pixkey(geo: _Geometry, P0: int, P1: int) -> tuple:
    """:func:`_pixkeys` of one window, as a tuple."""
    kind, a, n = _pixkeys(geo, P0, P1)
    return _KINDS[int(kind)], int(a), int(n)


class _Stream:
    """Tiles of one pass of a conv ifmap's CALC demand stream (see module docstring).

    Args: dataflow (0 os, 1 ws, 2 is), array rows/cols R, C, GEMM M, K, rows per fold L, conv
    geometry ``(ew, eh, Fh, Fw, Ch, last_h, last_w, stride)``.
    """

    def __init__(self, df, R, C, M, K, L, geo, target=TILE_TARGET):
        self.df, self.R, self.C, self.M, self.K, self.L = df, R, C, M, K, L
        self.g = _Geometry(M, K, geo)
        self.target = target
        self.frn = _cdiv(K if df != 0 else M, R)          # row folds
        if df == 0:      # one super-fold of frn folds, G folds (R pixels x K) per tile
            self.unit, self.nunits = R, self.frn
            self.G = max(1, target // (R * K))
            self.n_sf = 1
        elif df == 2:    # one super-fold of ceil(M/C) pixel groups, G groups (C x frn*R) per tile
            self.unit, self.nunits = C, _cdiv(M, C)
            self.G = max(1, target // (C * self.frn * R))
            self.n_sf = 1
        else:            # frn super-folds (R_f window positions x all pixels), B steps per tile
            self.n_sf = self.frn
        self.pass_rows = (self.frn * _cdiv(M, C) if df == 2 else self.frn) * L
        self._perm = None

    # --- structure -----------------------------------------------------------------------------
    def rf(self, sf):
        """Window positions of a ws super-fold (row fold sf)."""
        return min(self.R, self.K - sf * self.R)

    def steps(self, sf):
        """ws: time steps per tile of super-fold sf (a multiple of the ofmap width)."""
        ew = self.g.ew
        return ew * max(1, self.target // (ew * self.rf(sf)))

    def n_tiles(self, sf):
        if self.df == 1:
            return _cdiv(self.M + self.rf(sf) - 1, self.steps(sf))
        return _cdiv(self.nunits, self.G)

    def pixels(self, sf, j):
        """Pixel window [P0, P1) of tile(s) j (ws: unclipped, ramps past 0 and M included)."""
        if self.df == 1:
            B = self.steps(sf)
            return j * B - self.rf(sf) + 1, np.minimum((j + 1) * B, self.M + self.rf(sf) - 1)
        u = self.unit * self.G
        return j * u, np.minimum((j + 1) * u, self.M)

    def key(self, sf, j, c):
        """Cache key of tile j with up to c context tiles (translation class, see docstring)."""
        P0 = self.pixels(sf, j - c)[0]
        P1 = self.pixels(sf, j)[1]
        return (sf if self.df == 1 else 0, c) + _pixkey(self.g, P0, P1)

    def row_base(self, sf, j):
        """Demand row (within the pass) of row 0 of tile j."""
        if self.df == 0:
            return j * self.G * self.L
        if self.df == 2:
            return j * self.G * self.frn * self.L
        return sf * self.L + self.R + j * self.steps(sf)   # ws: R-row prefix, row R + r + m

    def trivial(self, sf):
        """No address repeats inside super-fold sf (so all its reuse is across super-folds)."""
        if not self.g.overlap:      # windows do not overlap: each element has one reader
            return True
        # ws: R_f window positions with distinct channels never name the same element twice
        return self.df == 1 and self.rf(sf) <= self.g.Ch

    def channels(self, sf):
        """ws: the channels (sorted) of super-fold sf's window positions; None: all channels."""
        if self.df != 1 or self.rf(sf) >= self.g.Ch:
            return None
        return np.unique(np.arange(sf * self.R, sf * self.R + self.rf(sf)) % self.g.Ch)

    def far_gap(self):
        """os/is: a reuse distance lower bound for repeats across ofmap rows, given a context of
        :meth:`ctx_short` tiles (0 when there is none).

        Two pixels share an element only if their rows and columns differ by at most
        (Fh-1)//s and w = (Fw-1)//s, so their raster distance is <= w (same row: found in the
        context) or >= ew - w; the latter are floor((ew - w) / U) units (folds / groups) apart,
        and every unit strictly between holds >= U * K_min real demands (K_min: the corner
        pixel's in-range window positions).
        """
        g = self.g
        if self.df == 1 or not g.overlap:
            return 0
        w = (g.Fw - 1) // g.s
        units = (g.ew - w) // self.unit - 1 if g.ew - w > w else 0
        kmin = min(g.lh, g.Fh) * min(g.lw, g.Fw) * g.Ch
        return max(0, units) * self.unit * kmin

    def ctx_short(self):
        """os/is: context tiles holding every pixel within w = (Fw-1)//s before a tile."""
        w = (self.g.Fw - 1) // self.g.s
        return _cdiv(_cdiv(w, self.unit), self.G)

    def ctx_for_span(self, sf):
        """Context tiles that cover every earlier read, in this super-fold, of a tile's elements."""
        sp = self.g.span_pix
        if self.df == 1:
            return _cdiv(self.rf(sf) - 1 + sp, self.steps(sf))
        return _cdiv(_cdiv(sp, self.unit), self.G)

    def count(self, sf, j):
        """Real demands of tile j (closed form of the -1 mask of :meth:`materialize`)."""
        return int(self.counts(sf, np.array([j], _I))[0])

    def counts(self, sf, j):
        """Real demands of tiles j [n] (the -1 mask of :meth:`materialize` counted in closed
        form: last-row pixels lose the positions with filter row >= last_h, last-column pixels
        those with filter column >= last_w)."""
        g, M, ew = self.g, self.M, self.g.ew
        xr = g.Fh - min(max(g.lh, 0), g.Fh)                # filter rows >= last_h
        xc = g.Fw - min(max(g.lw, 0), g.Fw)                # filter cols >= last_w
        nbr, nbc, nbb = xr * g.Fw * g.Ch, g.Fh * xc * g.Ch, xr * xc * g.Ch

        def real(a, b, nk, kr, kc, kb):     # pixels [a, b) x nk positions, minus the -1 ones
            a, b = np.maximum(a, 0), np.minimum(b, M)
            lr = np.maximum(0, b - np.maximum(a, M - ew))            # last ofmap row
            lc = np.maximum(0, b // ew - a // ew)                    # pixels with col ew - 1
            cr = ((a <= M - 1) & (M - 1 < b)).astype(_I)             # the corner pixel
            return np.maximum(0, b - a) * nk - (lr * kr + lc * kc - cr * kb)

        j = np.asarray(j, _I)
        if self.df != 1:
            P0, P1 = self.pixels(sf, j)
            return real(P0, P1, self.K, nbr, nbc, nbb)
        B, rf = self.steps(sf), self.rf(sf)
        t0, t1 = (j * B)[:, None], np.minimum((j + 1) * B, M + rf - 1)[:, None]
        r = np.arange(rf, dtype=_I)
        _, kbr, kbc = g.kpos(sf * self.R + r)
        kbr, kbc = kbr.astype(_I), kbc.astype(_I)
        return real(t0 - r, t1 - r, 1, kbr, kbc, kbr & kbc).sum(axis=1)

    def table(self, sf, c):
        """Every tile of super-fold sf with up to c context tiles: (kind, a, n) key arrays of
        :meth:`key` and real demands, each [n_tiles]."""
        j = np.arange(self.n_tiles(sf), dtype=_I)
        P0 = self.pixels(sf, j - np.minimum(c, j))[0]
        P1 = self.pixels(sf, j)[1]
        return (*_pixkeys(self.g, P0, P1), self.counts(sf, j))

    # --- materialisation -----------------------------------------------------------------------
    def _fold_order(self):
        if self._perm is None:      # os fold: skew_matrix rows, by demand row then array row
            x, k = np.divmod(np.arange(self.R * self.K, dtype=_I), self.K)
            perm = np.lexsort((x, x + k))
            self._perm = (x[perm], k[perm])
        return self._perm

    def materialize(self, sf, j0, j1, addresses=True):
        """Real entries of tiles [j0, j1) of super-fold sf in service order.

        Returns (addr int64 or None, rel_row int64 relative to ``row_base(sf, j0)``, counts:
        real entries per tile [j1 - j0]).
        """
        parts = [self._tile(sf, j, addresses) for j in range(j0, j1)]
        counts = np.array([p[1].size for p in parts], _I)
        rb0 = self.row_base(sf, j0)
        rows = np.concatenate([p[1] + (self.row_base(sf, j) - rb0)
                               for j, p in zip(range(j0, j1), parts)])
        addr = np.concatenate([p[0] for p in parts]) if addresses else None
        return addr, rows, counts

    def _tile(self, sf, j, addresses):
        """One tile: pixel and window-position fields are evaluated on their own small axes
        (pixels of the tile, positions of the fold) and gathered into the demand order."""
        R, C, g = self.R, self.C, self.g
        if self.df == 0:        # folds f: pixel f*R + x, position k, demand row x + k
            xs, ks = self._fold_order()
            f = np.arange(j * self.G, min((j + 1) * self.G, self.nunits), dtype=_I)[:, None]
            p = f * R + np.arange(R, dtype=_I)                        # [folds, R]
            k = np.arange(self.K, dtype=_I)
            pi, ki = (lambda v: v[:, xs]), (lambda v: v[ks][None, :])  # -> [folds, R*K]
            rows = (f - j * self.G) * self.L + (xs + ks)[None, :]
        elif self.df == 2:      # group fc, fold fr, row t: position fr*R + R-1-t, pixel fc*C + c
            fc = np.arange(j * self.G, min((j + 1) * self.G, self.nunits), dtype=_I)
            fr, t = np.divmod(np.arange(self.frn * R, dtype=_I), R)
            p = fc[:, None] * C + np.arange(C, dtype=_I)                # [groups, C]
            k = fr * R + (R - 1 - t)                                     # [frn * R]
            pi, ki = (lambda v: v[:, None, :]), (lambda v: v[None, :, None])  # -> [g, frn*R, C]
            rows = ((fc - j * self.G)[:, None, None] * self.frn + fr[None, :, None]) * self.L \
                + t[None, :, None]
        else:                   # ws fold sf: time t = m + r (row R + t), array column r
            B, rf = self.steps(sf), self.rf(sf)
            t0, t1 = j * B, min((j + 1) * B, self.M + rf - 1)
            p = np.arange(t0 - rf + 1, t1, dtype=_I)                    # pixels touched
            r = np.arange(rf, dtype=_I)
            tt = np.arange(t1 - t0, dtype=_I)[:, None]
            idx = tt + (rf - 1) - r                                      # [steps, rf] -> p
            k = sf * R + r
            pi, ki = (lambda v: v[idx]), (lambda v: v[None, :])
            rows = tt
        inr_p, inr_k = (p >= 0) & (p < self.M), k < self.K
        pb, plr, plc = g.pix(np.clip(p, 0, self.M - 1))
        ko, kbr, kbc = g.kpos(np.minimum(k, self.K - 1))
        # calc_ifmap_elem_addr: -1 off the ifmap edge (last ofmap row/col, filter past last_h/w)
        ok = (pi(inr_p) & ki(inr_k)) & ~((pi(plr) & ki(kbr)) | (pi(plc) & ki(kbc)))
        rows = np.broadcast_to(rows, ok.shape)[ok]
        return (pi(pb) + ki(ko))[ok] if addresses else None, rows

    # --- reuse across super-folds --------------------------------------------------------------
    def disjoint(self, a_sf, a_pix_lo, b_sf, b_pix_hi):
        """True when no element read by super-fold a at pixels >= a_pix_lo is read by super-fold b
        at pixels <= b_pix_hi (b later in the stream)."""
        ca, cb = self.channels(a_sf), self.channels(b_sf)
        if ca is not None and cb is not None and np.intersect1d(ca, cb).size == 0:
            return True
        return a_pix_lo - b_pix_hi > self.g.span_pix
