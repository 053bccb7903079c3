"""Host-side exact refinement of SCALE-Sim 3.0.0 CALC-mode DRAM numbers (NumPy).

:func:`codesign_jax.cost.systolic.systolic_metrics` is a closed form; two CALC-mode memory
behaviours are history dependent and only approximated there. :func:`refine_calc` recomputes them
exactly on the host for the CALC points of a batch:

1. OFMAP write buffer (``memory/write_buffer.py``). Drains of ``D = S - ceil(S/2)`` words are
   triggered during compute once the buffer is more than half full. In CALC mode the write-back
   bandwidth is the array width ``C`` and no demand row writes more than ``C`` words, so every
   drain has ended before the next crossing of the half-full mark (``ceil((D+2-o)/C) >=
   ceil(D/C)`` rows for leftover occupancy ``o <= 1``): the trigger elements are
   ``e_k = k (D+1)`` (``D mod C != 0``: each drain empties exactly the forced segment) or
   ``e_k = k D + 1`` (``D mod C == 0``: the forced one-word line of the first drain lags one line
   behind and is counted as a full line). Only the first and last trigger rows (inverse of the
   closed-form arrival count) and the final ``empty_all_buffers`` flush are then needed. The rare
   ``D == C`` case runs the line-level event simulation :func:`_ofmap_events`.
2. CALC read buffers (``memory/read_buffer_estimate_bw.py``). DRAM reads are the misses of an
   epoch de-duplication (epochs of ``E = 50 floor(S/100)`` distinct words, restarted empty), and
   the DRAM stop cycle is one cycle after the demand row of the last epoch-completing (``k E``-th)
   miss. For operands that miss on every word of every pass (GEMM ifmaps, ws/is filters) the
   ``k E``-th miss is the ``k E``-th real demand (closed-form inverse of the skewed fold ramps);
   the output-stationary filter (blocks re-read once per row fold) follows a block-level miss
   recurrence; a convolution ifmap (im2col overlap and off-edge -1 entries) is materialised one
   pass at a time and its epochs are walked exactly (:func:`_epoch_chain`): epochs without any
   word re-demanded within E positions are exactly E long and are jumped over, and whole periods
   are skipped once an epoch start repeats modulo the pass.

Exact on every CALC row of tests/data/scalesim_reference.csv and scalesim_calc_extra.csv. Cost:
closed forms for the ofmap and the GEMM/filter streams; a convolution ifmap larger than one epoch
materialises one pass (M*K words, int32 addresses, built in chunks of 4M entries) plus an argsort
(ResNet-18 on 32x32 or 8x8 arrays: under 1 s and under 100 MiB on one core). Results are cached
per distinct (layer, array, dataflow, ifmap SRAM). The stride of a lowered conv is not stored in
:class:`~codesign_jax.workloads.Gemm`; it is recovered from ``ifmap_unique``
(:func:`_canon_stride`).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["refine_calc", "REFINED_FIELDS"]

REFINED_FIELDS = ("dram_ofmap_start", "dram_ofmap_stop", "dram_ofmap_writes", "dram_ifmap_reads",
                  "dram_ifmap_stop", "dram_filter_reads", "dram_filter_stop",
                  "total_cycles_incl_prefetch", "avg_ifmap_dram_bw", "avg_filter_dram_bw",
                  "avg_ofmap_dram_bw")

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


# ----------------------------------------------------------------------------------------------
# (1) OFMAP write buffer
# ----------------------------------------------------------------------------------------------
def _ofmap_closed(lay, n, kb):
    """(start, stop, writes) of write_buffer in CALC mode (see module docstring)."""
    S = kb * 1024
    D = S - _cdiv(S, 2)                    # write_buffer.set_params: drain_buf_size
    bw = lay.C                             # single_layer_sim.run: CALC ofmap_backing_bw = arr_col
    q, r = _cdiv(D, bw), D % bw            # empty_drain_buf: lines_to_fill_dbuf = ceil(D/bw)
    tc = lay.total_cycles
    fits = n <= D
    # service_writes: trigger when occupancy > D; r != 0: every drain empties its segment exactly
    K = np.where(r != 0, n // (D + 1), (n - 1) // D)
    e1 = D + 1                             # first trigger: the (D+1)-th write in both cases
    eK = np.where(r != 0, K * (D + 1), K * D + 1)
    safe = lambda e: np.where(fits, 1, np.minimum(np.maximum(e, 1), n))
    row1 = _stream_row(lay, "ofmap", safe(e1))
    rowK = _stream_row(lay, "ofmap", safe(eK))
    # empty_drain_buf: a drain of q lines ends q-1 cycles after its trigger (port latency 0)
    drain_end = rowK + q - 1
    # empty_all_buffers: the rest in q-line chunks from the last demand cycle, back to back
    rem_lines = np.where(r != 0, _cdiv(n - eK, bw), 1 + _cdiv(n - eK, bw))
    final_stop = np.where(rem_lines > 0, tc + rem_lines - 1, drain_end)
    stop = np.where(fits, tc + _cdiv(n, bw) - 1, np.maximum(drain_end, final_stop))
    start = np.where(fits, tc, row1)
    # D mod bw == 0: the first drain's forced one-word line is drained as a non-last line later
    # (empty_drain_buf counts its bw-1 padding), unless nothing follows it
    over = (r == 0) & ~((K == 1) & (n == eK))
    writes = np.where(fits, n, n + np.where(over, bw - 1, 0))
    general = ~fits & (r == 0) & (q == 1)   # D == bw: lag dynamics differ, use the event loop
    return start, stop, writes, general


def _ofmap_events(lay1, n, kb):
    """Line-level event simulation of write_buffer for one entry (drain events, not cycles).

    ``lay1`` is a :class:`_Layout` of a single entry. Returns (start, stop, writes).
    """
    S = kb * 1024
    D = S - _cdiv(S, 2)
    bw = int(lay1.C[0])
    q = _cdiv(D, bw)
    tc = int(lay1.total_cycles[0])
    row = lambda e: int(_stream_row(lay1, "ofmap", np.array([e], _I))[0])

    def arrived_before(t):                 # real writes in rows < t (bisection on the row inverse)
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if row(mid) < t:
                lo = mid
            else:
                hi = mid - 1
        return lo

    freed, drain_end, last_flush = 0, 0, 0
    lines, ptr = 0, 0
    seg_end = {}                           # global line index just past a segment -> its padding
    starts, ends, writes = [], [], 0

    def drain(start_cycle):
        nonlocal ptr, writes, freed
        nl = min(q, lines - ptr)           # empty_drain_buf: min(ceil(D/bw), remaining) lines
        cnt = nl * bw - seg_end.get(ptr + nl, 0)   # padding of the drain's last line only
        ptr += nl
        writes += cnt
        freed += cnt                       # free_space += data_sz_to_drain
        starts.append(start_cycle)
        ends.append(start_cycle + nl - 1)
        return start_cycle + nl - 1

    def flush(e):                          # append_to_trace_mat(force=True)
        nonlocal lines, last_flush
        s = e - last_flush
        if s > 0:
            nl = _cdiv(s, bw)
            lines += nl
            seg_end[lines] = nl * bw - s
            last_flush = e

    while True:
        # store_to_trace_mat_cache / service_writes: first element with occupancy > D at a
        # cycle >= drain_end_cycle
        e = max(freed + D + 1, arrived_before(drain_end) + 1)
        if e > n:
            break
        t = row(e)
        flush(e)
        drain_end = drain(t)
    flush(n)                               # empty_all_buffers
    c = tc
    while ptr < lines:
        c = drain(c) + 1
    return min(starts), max(ends), writes


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


# ----------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------
def _geometry(g):
    """Conv window geometry (a plain GEMM: 1-channel M x K ifmap, 1 x K filter)."""
    if getattr(g, "ofmap_w", None) is not None:
        return [np.asarray(getattr(g, k)) for k in ("ofmap_w", "filt_h", "filt_w", "channels",
                                                    "last_h", "last_w")]
    one = np.ones_like(np.asarray(g.M))
    return [one, one, np.asarray(g.K), one, one, np.asarray(g.K)]


def refine_calc(g, a, m: dict) -> dict:
    """Exact CALC-mode DRAM fields for a Gemm/SystolicArray batch (NumPy, host side).

    Args:
      g: :class:`~codesign_jax.workloads.Gemm` (conv geometry fields optional; a plain GEMM is
        SCALE-Sim's 1-channel ``M x K`` ifmap under a ``1 x K`` filter).
      a: :class:`~codesign_jax.hardware.SystolicArray`.
      m: closed-form results of ``systolic_metrics`` (arrays of the broadcast shape).

    Returns:
      a copy of ``m`` (NumPy float64 arrays) with :data:`REFINED_FIELDS` recomputed for CALC
      points (``bw_mode == 0``); USER points are returned unchanged.
    """
    gf = [np.asarray(g.M), np.asarray(g.N), np.asarray(g.K), np.asarray(g.ifmap_unique),
          np.asarray(g.ifmap_valid)] + _geometry(g)
    af = [np.asarray(getattr(a, k)) for k in ("rows", "cols", "dataflow", "ifmap_sram_kb",
                                             "filter_sram_kb", "ofmap_sram_kb", "bw_mode")]
    shape = np.broadcast_shapes(*(np.shape(v) for v in gf + af),
                                *(np.shape(m[k]) for k in REFINED_FIELDS))
    out = {k: np.array(np.broadcast_to(np.asarray(v, np.float64), shape)) for k, v in m.items()}
    flat = lambda v: np.broadcast_to(v, shape).reshape(-1)
    calc = flat(af[6]) == 0
    idx = np.nonzero(calc)[0]
    if idx.size == 0:
        return out
    sel = lambda v: flat(v)[idx].astype(_I)
    M, N, K, U, V, ew, Fh, Fw, Ch, lh, lw = (sel(v) for v in gf)
    R, C, df, kb_if, kb_fl, kb_of, _ = (sel(v) for v in af)
    mf = {k: flat(out[k])[idx] for k in out}
    lay = _Layout(M, N, K, R, C, df)

    # --- (1) OFMAP: write_buffer.service_writes / empty_drain_buf / empty_all_buffers ----------
    n_of = np.where(df == 0, lay.Sr * lay.Sc, lay.frn * lay.T * lay.Sc)   # every write drains
    of_start, of_stop, of_writes, general = _ofmap_closed(lay, n_of, kb_of)
    for i in np.nonzero(general)[0]:
        lay1 = _Layout(*(v[i:i + 1] for v in (M, N, K, R, C, df)))
        of_start[i], of_stop[i], of_writes[i] = _ofmap_events(lay1, int(n_of[i]), int(kb_of[i]))

    # --- (2) ifmap / filter: read_buffer_estimate_bw epochs ---------------------------------
    cap_if = 50 * (kb_if * 1024 // 100)      # set_params: 50 active sets of floor(S/100) words
    cap_fl = 50 * (kb_fl * 1024 // 100)
    if_reads = mf["dram_ifmap_reads"].astype(_I)
    fl_reads = mf["dram_filter_reads"].astype(_I)
    if_stop = mf["dram_ifmap_stop"].copy()
    fl_stop = mf["dram_filter_stop"].copy()

    # ifmap, every demand real and distinct within a pass (GEMM): the k*E-th miss is the
    # k*E-th demand (each pass is >= E words apart from its repeat)
    plain = (U == M * K) & (V == M * K)
    trig = plain & (if_reads >= cap_if)
    tgt = np.where(trig, if_reads // cap_if * cap_if, 1)
    # manage_prefetches: last_prefetch_end_cycle = cycle; read_port latency 1
    if_stop = np.where(trig, _stream_row(lay, "ifmap", tgt) + 1, if_stop)

    # conv ifmap larger than one epoch: materialised pass + exact epoch walk
    cache = {}
    for i in np.nonzero(~plain & (U >= cap_if))[0]:
        d = int(df[i])
        geo = tuple(int(v[i]) for v in (ew, Fh, Fw, Ch, lh, lw))
        eh = int(M[i]) // geo[0]
        try:
            s = _canon_stride(geo[0], eh, geo[1], geo[2], geo[3], geo[4], geo[5], int(U[i]))
        except ValueError:                  # inconsistent geometry: keep the closed form
            warnings.warn(f"refine_calc: cannot recover the stride of entry {int(idx[i])}; "
                          "its ifmap DRAM numbers keep the closed form")
            continue
        geo = (geo[0], eh) + geo[1:] + (s,)
        passes = 1 if d == 2 else int(lay.fcn[i])
        key = (d, int(R[i]), int(C[i]), int(M[i]), int(K[i]), int(lay.L[i]), geo,
               int(cap_if[i]), passes)
        if key not in cache:
            cache[key] = _conv_ifmap_exact(d, int(R[i]), int(C[i]), int(M[i]), int(K[i]),
                                           int(lay.L[i]), geo, int(cap_if[i]), passes)
        misses, row = cache[key]
        if_reads[i] = misses
        if_stop[i] = row + 1 if row >= 0 else -1

    # filter: ws (stationary, once) and is (streamed per column fold) miss on every demand
    trig = (df != 0) & (fl_reads >= cap_fl)
    tgt = np.where(trig, fl_reads // cap_fl * cap_fl, 1)
    fl_stop = np.where(trig, _stream_row(lay, "filter", tgt) + 1, fl_stop)
    # os filter: column blocks re-read once per row fold
    for i in np.nonzero((df == 0) & (K * N >= cap_fl))[0]:
        misses, fold, w = _os_filter_target(int(lay.T[i]), int(C[i]), int(lay.cu_l[i]),
                                            int(lay.fcn[i]), int(lay.frn[i]), int(cap_fl[i]))
        fl_reads[i] = misses
        if fold >= 0:
            one = lambda v: v[i:i + 1]
            fc, fr = fold // int(lay.frn[i]), fold % int(lay.frn[i])
            lay1 = _Layout(*(one(v) for v in (M, N, K, R, C, df)))
            n, h, s0, skew = _ramp_spec(lay1, "filter", np.array([fr]), np.array([fc]))
            fl_stop[i] = fold * int(lay.L[i]) + int(_fold_row(np.array([w + 1]), n, h, s0,
                                                                 skew)[0]) + 1

    res = {
        "dram_ofmap_start": of_start, "dram_ofmap_stop": of_stop, "dram_ofmap_writes": of_writes,
        "dram_ifmap_reads": if_reads, "dram_ifmap_stop": if_stop,
        "dram_filter_reads": fl_reads, "dram_filter_stop": fl_stop,
    }
    res = {k: np.asarray(v, np.float64) for k, v in res.items()}
    if_start, fl_start = mf["dram_ifmap_start"], mf["dram_filter_start"]
    # single_layer_sim.calc_report_data: total incl. prefetch, reads / (stop - start + 1)
    res["total_cycles_incl_prefetch"] = res["dram_ofmap_stop"] - np.minimum(if_start, fl_start)
    res["avg_ifmap_dram_bw"] = res["dram_ifmap_reads"] / (res["dram_ifmap_stop"] - if_start + 1)
    res["avg_filter_dram_bw"] = res["dram_filter_reads"] / (res["dram_filter_stop"] - fl_start + 1)
    res["avg_ofmap_dram_bw"] = res["dram_ofmap_writes"] / (
        res["dram_ofmap_stop"] - res["dram_ofmap_start"] + 1)
    for k, v in res.items():
        o = out[k].reshape(-1)
        o[idx] = v
        out[k] = o.reshape(shape)
    return out


def sequential_fold_means(g, a, *, chunk: int = 1 << 22) -> dict:
    """``mapping_eff_pct`` and ``compute_util_pct`` summed fold by fold as SCALE-Sim does.

    systolic_compute_*.get_avg_mapping_efficiency / get_avg_compute_utilization add the
    per-fold values one at a time (``sum(list) / len(list)``, then ``* 100`` in
    single_layer_sim.calc_report_data); the closed form ``Sr*Sc*T / (R*C*cyc*F)`` is the same
    number up to the last bits of that float sum. Here the per-fold values (column fold outer,
    row fold inner) are accumulated left to right with ``np.cumsum`` (sequential, like Python's
    float ``sum`` before 3.12), which reproduces SCALE-Sim's bits. O(folds) per point.

    Returns:
      dict of float64 arrays of the broadcast shape of ``g`` and ``a``.
    """
    f = lambda v: np.asarray(v, dtype=np.float64)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (g.M, g.N, g.K, a.rows, a.cols,
                                                        a.dataflow)))
    b = lambda v: np.broadcast_to(f(v), shape).reshape(-1)
    M, N, K, R, C, df = (b(v) for v in (g.M, g.N, g.K, a.rows, a.cols, a.dataflow))
    Sr = np.where(df == 0, M, K)
    Sc = np.where(df == 2, M, N)
    T = np.where(df == 0, K, np.where(df == 1, M, N))
    cyc = np.where(df == 0, R + C + T - 2, 2 * R + 2 * C + T - 3)
    mean_me, mean_cu = np.empty(Sr.size), np.empty(Sr.size)
    for i in range(Sr.size):
        fr, fc = int(-(-Sr[i] // R[i])), int(-(-Sc[i] // C[i]))
        ru = np.full(fr, R[i])
        ru[-1] = Sr[i] - (fr - 1) * R[i]
        cu = np.full(fc, C[i])
        cu[-1] = Sc[i] - (fc - 1) * C[i]
        acc_me = acc_cu = 0.0
        for c0 in range(0, fc, max(1, chunk // fr)):
            used = (cu[c0:c0 + max(1, chunk // fr), None] * ru[None, :]).ravel()  # fc outer
            # create_*_demand_mat: mapping_eff = mac_used/(R*C); compute util = mac_used*T /
            # (R*C*cycles_this_fold), each a correctly rounded int/int division
            me = used / (R[i] * C[i])
            cu_v = (used * T[i]) / (R[i] * C[i] * cyc[i])
            acc_me = float(np.cumsum(np.concatenate(([acc_me], me)))[-1])
            acc_cu = float(np.cumsum(np.concatenate(([acc_cu], cu_v)))[-1])
        mean_me[i] = acc_me / (fr * fc) * 100
        mean_cu[i] = acc_cu / (fr * fc) * 100
    return {"mapping_eff_pct": mean_me.reshape(shape), "compute_util_pct": mean_cu.reshape(shape)}
