"""CALC-mode read buffers (``memory/read_buffer_estimate_bw.py``): epoch de-duplication of the
filter and convolution ifmap streams.

See item 2 of the :mod:`codesign_jax.systolic._exact` docstring.
"""

from __future__ import annotations

import numpy as np

from codesign_jax.systolic._exact_ramps import _I, _cdiv


# ----------------------------------------------------------------------------------------------
# (2) CALC read buffers
# ----------------------------------------------------------------------------------------------
def _os_filter_target(T, C, cu_l, fcn, frn, cap):
    """Misses and (fold, fold-word index) of the k*cap-th miss of the os filter stream.

    Blocks of T*cu words (one per column fold) are re-read once per row fold
    (systolic_compute_os.create_filter_demand_mat); read_buffer_estimate_bw.manage_prefetches
    closes an epoch every cap misses, so a small block's second pass misses the words that
    preceded its last epoch flush and later passes hit; a block >= cap misses on every pass.
    Returns (misses, fold, word) with fold = -1 when no epoch completed.
    """
    segs, tot = [], 0                       # (first miss index, count, fold, words per pass)
    for b in range(fcn):
        bs = T * (cu_l if b == fcn - 1 else C)
        if bs >= cap or frn == 1:           # every pass misses every word
            segs.append((tot, bs * frn, b * frn, bs))
            tot += bs * frn
            continue
        segs.append((tot, bs, b * frn, bs))
        Q = (tot + bs) // cap * cap         # last epoch flush inside the first pass
        y = Q - tot if Q > tot else 0
        tot += bs
        if y:                               # second pass re-misses the words before the flush
            segs.append((tot, y, b * frn + 1, bs))
            tot += y
    k = tot // cap
    if k == 0:
        return tot, -1, -1
    t = k * cap
    for first, cnt, fold, bs in segs:
        if first < t <= first + cnt:
            w = t - first - 1
            return tot, fold + w // bs, w % bs
    raise AssertionError("unreachable")


def _canon_stride(ew, eh, Fh, Fw, Ch, lh, lw, uniq):
    """Stride of a lowered conv, recovered from its distinct-word count (Gemm does not carry it).

    topologies/workloads: touched extent per axis = (E-1) min(s, F) + clip(last, 0, F); the address equality
    structure only depends on min(s, F), so the smallest matching s is equivalent.
    """
    for s in range(1, max(Fh, Fw) + 1):
        th = (eh - 1) * min(s, Fh) + min(max(lh, 0), Fh)
        tw = (ew - 1) * min(s, Fw) + min(max(lw, 0), Fw)
        if th * tw * Ch == uniq:
            return s
    raise ValueError("cannot recover the conv stride from ifmap_unique")


def _conv_tables(M, K, geo):
    """operand_matrix.calc_ifmap_elem_addr split into a pixel part and a window part.

    Canonical coordinates (only address equality matters): the address of (pixel p, window
    position k) is ``pbase[p] + koff[k]``; it is -1 (off the ifmap edge) iff p is in the last
    ofmap row and k's filter row >= last_h, or p is in the last ofmap column and k's filter
    column >= last_w.
    """
    ew, eh, Fh, Fw, Ch, lh, lw, s = geo
    wc = (ew - 1) * s + Fw
    p = np.arange(M, dtype=_I)
    orow, ocol = np.divmod(p, ew)
    pbase = (orow * s * wc + ocol * s) * Ch
    k = np.arange(K, dtype=_I)
    c_row, rem = np.divmod(k, Fw * Ch)
    c_col, ch = np.divmod(rem, Ch)
    koff = (c_row * wc + c_col) * Ch + ch
    dt = np.int32 if int(pbase[-1] + koff[-1]) < 2**31 - 1 else _I
    return (pbase.astype(dt), koff.astype(dt), orow == eh - 1, ocol == ew - 1,
            c_row >= lh, c_col >= lw)


class _IfmapPass:
    """One pass of a conv ifmap's demand stream: real addresses in service order (row by row,
    column by column) and the demand row of any position.

    os: create_ifmap_demand_mat, T=K x R pixels skewed per row fold (the pass repeats per column
    fold); ws: R-row prefix + M pixels x R window positions skewed per row fold (repeats per
    column fold); is: stationary flipped R x C blocks over all folds (one pass, not skewed).
    """

    def __init__(self, df, R, C, M, K, L, geo, chunk=1 << 22):
        self.df, self.R, self.C, self.M, self.K, self.L = df, R, C, M, K, L
        self.tab = _conv_tables(M, K, geo)
        frn = _cdiv(K if df != 0 else M, R)
        if df == 0:      # block [r, k]: pixel fr*R + r, position k; row r + k (skew_matrix)
            X, Y, nf = R, K, frn
        elif df == 1:    # block [r, m]: position fr*R + r, pixel m; row R + r + m
            X, Y, nf = R, M, frn
        else:            # block [t, c]: position fr*R + R-1-t (np.flip), pixel fc*C + c; row t
            X, Y, nf = R, C, frn * _cdiv(M, C)
        self.frn, self.X, self.Y, self.nf = frn, X, Y, nf
        x, y = np.divmod(np.arange(X * Y, dtype=_I), Y)
        if df == 2:
            self.perm, self.trow = np.arange(X * Y), x
        else:            # service order of a skewed block: by demand row, then array column
            self.perm = np.lexsort((x, x + y))
            self.trow = (x + y)[self.perm] + (R if df == 1 else 0)
        addrs, counts = [], []
        per = max(1, chunk // (X * Y))
        for f0 in range(0, nf, per):
            a, ok = self._folds(np.arange(f0, min(nf, f0 + per), dtype=_I))
            addrs.append(a[ok])
            counts.append(ok.sum(axis=1))
        self.addr = np.concatenate(addrs)
        self.cum = np.concatenate([[0], np.cumsum(np.concatenate(counts))])
        self.pass_rows = nf * L

    def _folds(self, f):
        """Addresses and real-entry masks of folds f, each in service order."""
        pbase, koff, plr, plc, kbr, kbc = self.tab
        R, C, M, K = self.R, self.C, self.M, self.K
        u = np.arange(self.X, dtype=_I)
        v = np.arange(self.Y, dtype=_I)
        if self.df == 0:
            p, k = f[:, None, None] * R + u[None, :, None], v[None, None, :]
        elif self.df == 1:
            p, k = v[None, None, :], f[:, None, None] * R + u[None, :, None]
        else:
            fc, fr = np.divmod(f, self.frn)
            k = fr[:, None, None] * R + (R - 1 - u)[None, :, None]
            p = fc[:, None, None] * C + v[None, None, :]
        inr = (p < M) & (k < K)
        p, k = np.minimum(p, M - 1), np.minimum(k, K - 1)
        ok = inr & ~((plr[p] & kbr[k]) | (plc[p] & kbc[k]))
        a = pbase[p] + koff[k]
        n = f.size
        a = np.broadcast_to(a, (n, self.X, self.Y)).reshape(n, -1)[:, self.perm]
        ok = np.broadcast_to(ok, (n, self.X, self.Y)).reshape(n, -1)[:, self.perm]
        return a, ok

    def row(self, j):
        """Demand row (within the pass) of the j-th (0-based) real entry of the pass."""
        f = int(np.searchsorted(self.cum, j, side="right")) - 1
        _, ok = self._folds(np.array([f], _I))
        t = self.trow[np.flatnonzero(ok[0])[j - self.cum[f]]]
        return f * self.L + int(t)


def _periodic_dist(addr):
    """Distance to the previous demand of the same address in a stream that repeats this pass
    forever (a first occurrence looks back to its address's last occurrence one pass earlier)."""
    n = addr.size
    order = np.argsort(addr, kind="stable")
    sa = addr[order]
    starts = np.flatnonzero(np.concatenate(([True], sa[1:] != sa[:-1])))
    ends = np.append(starts[1:], n) - 1
    prev = np.empty(n, _I)
    prev[1:] = order[:-1]
    prev[starts] = order[ends] - n
    dist = np.empty(n, _I)
    dist[order] = order - prev
    return dist


def _epoch_chain(dist, P, E, skip=True):
    """read_buffer_estimate_bw.manage_prefetches/check_hit over ``P`` repeats of a pass.

    An epoch starting at stream position x (empty hit window) ends at the E-th word whose
    previous demand lies before x (``dist > i - x``); the next epoch starts right after it.
    Epochs free of words re-demanded within E positions are exactly E long and are jumped over;
    the walk is shift invariant by whole passes, so once an epoch start repeats modulo the pass
    the remaining periods are skipped (``skip``). Returns (misses, position of the last
    epoch-completing miss or -1).
    """
    Lp = dist.size
    N = P * Lp
    x, ep, W = 0, 0, 2 * E
    bad = np.flatnonzero(dist < E)      # positions that can hit inside an epoch
    track = skip and P > 1
    if track:
        seen_ep = np.full(Lp, -1, _I)
        seen_x = np.zeros(Lp, _I)
    while True:
        if x >= N:
            return ep * E, x - 1
        if track:                       # period detection on epoch starts modulo the pass
            o = x % Lp
            if seen_ep[o] >= 0:
                dE, dx = ep - seen_ep[o], x - seen_x[o]
                j = (N - x) // dx - 1
                if j > 0:
                    x, ep = x + j * dx, ep + j * dE
                track = False
            else:
                seen_ep[o], seen_x[o] = ep, x
        o = x % Lp
        if bad.size:
            i = int(np.searchsorted(bad, o))
            b = x - o + (int(bad[i]) if i < bad.size else Lp + int(bad[0]))
        else:
            b = N
        j = min(b - x, N - x) // E      # epochs with every word new: exactly E long
        if j > 0:
            x, ep = x + j * E, ep + j
            continue
        while True:                     # grow the window until the epoch completes
            end = min(x + W, N)
            o = x % Lp
            if o + (end - x) <= Lp:
                d = dist[o:o + end - x]
            else:
                d = np.take(dist, np.arange(x, end) % Lp)
            # check_hit: a word is new to the epoch iff its previous demand precedes x
            cs = np.cumsum(d > np.arange(end - x))
            if cs[-1] >= E or end == N:
                break
            W *= 2
        if cs[-1] < E:                  # complete_all_prefetches: the partial last epoch
            return ep * E + int(cs[-1]), (x - 1) if ep else -1
        q = x + int(np.searchsorted(cs, E))
        W = max(2 * E, int(1.25 * (q + 1 - x)) + 64)
        x, ep = q + 1, ep + 1


def _conv_ifmap_exact(df, R, C, M, K, L, geo, cap, passes):
    """(misses, demand row of the last epoch-completing miss or -1) of a conv ifmap, CALC."""
    ps = _IfmapPass(df, R, C, M, K, L, geo)
    dist = _periodic_dist(ps.addr)
    misses, pos = _epoch_chain(dist, passes, cap)
    if pos < 0:
        return misses, -1
    Lp = ps.addr.size
    return misses, (pos // Lp) * ps.pass_rows + ps.row(pos % Lp)
