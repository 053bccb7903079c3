"""CALC-mode read buffers (``memory/read_buffer_estimate_bw.py``): epoch de-duplication of the
filter and convolution ifmap streams.

See item 2 of the :mod:`codesign_jax.systolic._exact` docstring.
"""

from __future__ import annotations

import numpy as np

from codesign_jax.systolic._exact_ramps import _I
from codesign_jax.systolic._exact_tiles import _Stream
from codesign_jax.systolic._exact_walk import conv_ifmap_epochs


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


#: A pass with at most this many demands is materialised whole (its reuse distances wrap
#: around the pass, so any number of passes is walked exactly); longer passes are walked tile by
#: tile (:mod:`codesign_jax.systolic._exact_walk`).
WHOLE_PASS = 1 << 22


def _whole_pass(st):
    """Addresses and demand rows (within the pass) of a whole pass of a :class:`_Stream`."""
    addrs, rows = [], []
    for sf in range(st.n_sf):
        a, r, _ = st.materialize(sf, 0, st.n_tiles(sf))
        addrs.append(a)
        rows.append(r + st.row_base(sf, 0))
    return np.concatenate(addrs), np.concatenate(rows)


def _conv_ifmap_exact(df, R, C, M, K, L, geo, cap, passes, progress=None):
    """(misses, demand row of the last epoch-completing miss or -1) of a conv ifmap, CALC."""
    if M * K > WHOLE_PASS:
        return conv_ifmap_epochs(df, R, C, M, K, L, geo, cap, passes, progress=progress)
    st = _Stream(df, R, C, M, K, L, geo)
    addr, rows = _whole_pass(st)
    misses, pos = _epoch_chain(_periodic_dist(addr), passes, cap)
    if pos < 0:
        return misses, -1
    return misses, (pos // addr.size) * st.pass_rows + int(rows[pos % addr.size])
