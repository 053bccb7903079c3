"""CALC-mode OFMAP write buffer (``memory/write_buffer.py``): closed form and line-level events.

See item 1 of the :mod:`codesign_jax.systolic._exact` docstring.
"""

from __future__ import annotations

import numpy as np

from codesign_jax.systolic._exact_ramps import _I, _cdiv, _stream_row


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
