"""SRAM / DRAM start-stop cycles of the systolic model that need the conv window geometry or the
ofmap write buffer's drain (closed forms used by :func:`codesign_jax.systolic.systolic_metrics`)."""

from __future__ import annotations

import functools

import numpy as np

from codesign_jax.systolic import _static

_where = _static.where


def _cdiv(xp, a, b):
    """ceil(a / b) for non-negative float64 integers (exact: both < 2**53)."""
    return xp.ceil(a / b)

def _conv_edge(xp, g):
    """Per-layer window geometry of a lowered conv (operand_matrix.calc_ifmap_elem_addr).

    Returns ``(M, K, cands, lastvalid, first_valid_from)``: ``cands`` are the pixels that can hold
    the last real ifmap address (the last two of the last two ofmap rows: only the last ofmap
    row/column's windows leave the ifmap), ``lastvalid(p)`` the last window position of pixel
    ``p`` holding a real address (-inf if none) and ``first_valid_from(p, k0)`` the first real
    position ``>= k0`` (+inf if none).
    """
    f = lambda x: xp.asarray(x, dtype=xp.float64)
    M, K, Ew = f(g.M), f(g.K), f(g.ofmap_w)
    Fh, Fw, Ch = f(g.filt_h), f(g.filt_w), f(g.channels)
    Eh = M / Ew
    lh, lw = xp.minimum(Fh, f(g.last_h)), xp.minimum(Fw, f(g.last_w))

    def extent(p):
        orow = xp.floor(p / Ew)
        hv = _where(xp, orow == Eh - 1, lh, Fh)
        wv = _where(xp, p - orow * Ew == Ew - 1, lw, Fw)
        return hv, wv, (hv >= 1) & (wv >= 1) & (p >= 0)

    def lastvalid(p):
        hv, wv, ok = extent(p)
        return _where(xp, ok, ((hv - 1) * Fw + wv - 1) * Ch + Ch - 1, -np.inf)

    def first_valid_from(p, k0):
        hv, wv, ok = extent(p)
        cr0 = xp.floor(k0 / (Fw * Ch))
        cc0 = xp.floor((k0 - cr0 * Fw * Ch) / Ch)
        nxt = _where(xp, cr0 + 1 < hv, (cr0 + 1) * Fw * Ch, np.inf)
        return _where(xp, ok, _where(xp, (cr0 < hv) & (cc0 < wv), k0, nxt), np.inf)

    cands = (M - 1, M - 2, M - 1 - Ew, M - 2 - Ew)
    return M, K, cands, lastvalid, first_valid_from


def _last_real_pixel(xp, cands, lastvalid):
    """The last pixel with at least one real ifmap address (among the edge candidates)."""
    return functools.reduce(xp.maximum, [_where(xp, lastvalid(p) >= 0, p, -1.0) for p in cands])


def _os_ifmap_stop(xp, g, R, L, fr, fc):
    """os ifmap SRAM stop: pixel p's window element k is demanded at fold row (p - fold's first
    pixel) + k (systolic_compute_os.create_ifmap_demand_mat skew); -1 entries are not requests."""
    M, K, cands, lastvalid, _ = _conv_edge(xp, g)
    fr_star = xp.floor(_last_real_pixel(xp, cands, lastvalid) / R)   # its row fold
    p0 = fr_star * R
    val = functools.reduce(xp.maximum, [_where(xp, p >= p0, p - p0 + lastvalid(p), -np.inf)
                                        for p in cands])
    return ((fc - 1) * fr + fr_star) * L + val + 1


def _ws_ifmap_stop(xp, g, R, last, fr):
    """ws ifmap SRAM stop: in the last fold (window positions k0..K-1) pixel p's position k is
    demanded at row R + p + (k - k0) (systolic_compute_ws.create_ifmap_demand_mat)."""
    M, K, cands, lastvalid, _ = _conv_edge(xp, g)
    k0 = (fr - 1) * R
    val = functools.reduce(xp.maximum, [
        _where(xp, lastvalid(p) >= k0, p + lastvalid(p) - k0, -np.inf) for p in cands])
    return last + R + val + 1


def _is_ifmap_stop(xp, g, R, C, L, fr, fc):
    """is ifmap SRAM stop: a stationary block (positions k0.., one column fold of pixels) is
    demanded flipped, position k0 + t at row R - 1 - t (systolic_compute_is); folds whose block
    holds no real address issue no request."""
    M, K, cands, lastvalid, first_valid_from = _conv_edge(xp, g)
    fc_star = xp.floor(_last_real_pixel(xp, cands, lastvalid) / C)   # its column fold
    p0, p1 = fc_star * C, (fc_star + 1) * C
    inb = lambda p: (p >= p0) & (p < p1)
    # an interior pixel (never off the edge) in the block makes every position real
    interior = inb(cands[3]) & (lastvalid(cands[3]) >= K - 1)
    kmax = functools.reduce(xp.maximum, [_where(xp, inb(p), lastvalid(p), -np.inf)
                                         for p in cands])
    fr_star = _where(xp, interior, fr - 1, xp.floor(xp.maximum(kmax, 0.0) / R))
    k0 = fr_star * R
    t = functools.reduce(xp.minimum, [_where(xp, inb(p), first_valid_from(p, k0), np.inf)
                                      for p in cands]) - k0
    t = _where(xp, interior, 0.0, t)
    return (fc_star * fr + fr_star) * L + R - t


def _trigger_stop(xp, misses, cap, sram_stop):
    """Last DRAM read cycle once the epoch logic triggered: one cycle after the demand cycle of
    the last epoch-completing miss (manage_prefetches sets last_prefetch_end_cycle = cycle).

    Approximation: the last full epoch completes a fraction floor(misses/cap)*cap/misses of the
    way through the operand's demand window [0, sram_stop].
    """
    k = xp.floor(misses / cap)
    return xp.floor(sram_stop * k * cap / misses)


def _ofmap_drain(xp, n, total_cycles, bw, kb):
    """OFMAP DRAM (start, stop, writes) of write_buffer (drain half the buffer when > half full).

    If the ofmap (n words) fits in the active half, nothing drains during compute and
    empty_all_buffers streams ceil(n / bw) lines from cycle ``total_cycles`` on (write port
    latency 0): exact. Otherwise drains start during compute; we take the steady state where
    the write-back keeps up, so the final flush holds the words beyond the last full drain.
    """
    size = kb * 1024.0
    half = size - xp.ceil(size * 0.5)            # drain_buf_size
    fits = n <= half
    lines = _cdiv(xp, n, bw)
    stop_fit = total_cycles + lines - 1
    # steady state: drains of `half` words; remainder flushed at the end.
    rem = n - xp.floor((n - 1) / half) * half
    stop_drain = total_cycles + _cdiv(xp, rem, bw)
    start_drain = xp.floor(total_cycles * (half + 1) / n)
    start = _where(xp, fits, total_cycles, start_drain)
    stop = _where(xp, fits, stop_fit, stop_drain)
    # each in-compute drain forces out a partial line; SCALE-Sim counts the padded slots of
    # the first such line (empty_drain_buf counts -1s only in a drain's last line): bw - 1 more.
    writes = _where(xp, fits, n, n + bw - 1)
    return start, stop, writes
