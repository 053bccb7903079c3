"""SCALE-Sim 3.0.0 USER-bandwidth-mode memory behaviour as closed-form array functions.

In USER mode (``InterfaceBandwidth: USER``) SCALE-Sim runs the ifmap/filter SRAMs through
``memory/read_buffer.py`` (not the CALC-mode estimator) and the ofmap through
``memory/write_buffer.py`` with the user bandwidths. What that simulator does, and what we model:

* ``read_buffer.prepare_hashed_buffer``: the operand's prefetch matrix (every operand word once,
  in ``systolic_compute_*.create_*_prefetch_mat`` order; the streaming operands are unrolled
  along anti-diagonals, the stationary operand is row-major) is cut into ``n = floor(V/eps) + 1``
  "sets" of ``eps = ceil(words/100)`` valid words (the last set may be empty).
* The active buffer is a window of ``Wa = ceil(A/eps)`` sets (``A = ceil(words/2)``), starting at
  set 0 (``prefetch_active_buffer``, issued before cycle 0: DRAM start ``-ceil(A/bw)``).
* ``read_buffer.service_reads``: a demanded word outside the window calls ``new_prefetch``,
  which moves the window forward by ``Wp = ceil(P/eps)`` sets (``P = words - A``), modulo ``n``,
  until the word is inside. The window never moves backward: a demand behind the window start
  costs a full lap around the ring (``n / Wp`` prefetches).
* ``read_buffer.new_prefetch``: every prefetch reads ``ceil(P/bw) * bw`` words (``num_access``)
  and finishes ``ceil(P/bw) + 1`` cycles after the previous one (``last_prefetch_cycle`` is a
  chain that does not look at the current cycle).
* ``double_buffered_scratchpad_mem.service_memory_requests``: demand line ``i`` is issued at
  ``i + stalls so far``; the array waits for the slowest operand. So a stall-bound layer ends when
  the longer prefetch chain ends (plus the demand lines after its last prefetch).

The window walk is simulated exactly (``_user_scan.read_buffer_events``): a recurrence
over *miss lines* carrying each operand's fold/line cursor, window start ``s`` (mod ``n``) and
prefetch count ``k``, plus the stall total. Within a fold the demanded ranks are monotone
(streaming operand: forward along its block's anti-diagonals; stationary operand: backward one row
per line), so the next line whose set leaves the window ``[s, s+Wa)`` is found in closed form
(stationary) or by bisection over the fold's lines (streaming, closed-form rank of a line); the
prefetches it issues follow the modular rule ``ceil(((x - s) mod n - Wa + 1) / Wp)``, which also
covers the laps of backward jumps. A line with misses is served at
``out_j = lpc_j + max(0, lpc_j - out_{j-1})`` (``lpc_j = -1 + k_j (ceil(P/bw) + 1)``), and the
array stalls by the slowest operand. Prefetch counts, hence DRAM reads, start and stop, are exact
for every GEMM row of the reference data.

The OFMAP write buffer (``memory/write_buffer.py``) runs in the same recurrence (see
``_user_scan`` doc): drains of ``ceil(D/bw)`` trace lines (``D = size - ceil(size/2)``,
``bw`` = cfg ``Bandwidth``) are triggered at the first write with occupancy ``> D`` at a cycle
``>= drain_end_cycle``; a write that fills the buffer while a drain is in progress stalls the
array until ``drain_end_cycle`` (the line's stall is the max of the ifmap, filter and ofmap
stalls); forced partial lines and the -1 padding counted only on a drain's last line are
tracked per segment; ``empty_all_buffers`` flushes the rest from the last line's served cycle.
Total/stall cycles, OFMAP DRAM start/stop/writes and SRAM start/stop cycles (the stall before
the operand's first/last request line plus its own stall there) are exact wherever the read
side is.

Residual: a convolution ifmap's im2col duplicates can hit in another set of the window
(``active_buffer_hit`` tests addresses, not positions) and its -1 entries are not skipped in the
rank functions: prefetch counts and stalls of such ifmaps can be off (13 of 563 USER rows in
tests/data; every cycle mismatch left is such a convolution).
"""

from __future__ import annotations

from codesign_jax.systolic import _static
from codesign_jax.systolic._user_scan import (OfmapArrivals, _Stationary, _Stream,
                                                   final_flush, loop_state, read_buffer_events)

__all__ = ["user_mode_fields", "USER_Q_KEYS"]

# keys of `q` this module reads (all float64 arrays / bool masks, broadcast together)
USER_Q_KEYS = ("Sr", "Sc", "T", "R", "C", "fr", "fc", "folds", "L", "ru_l", "cu_l",
               "is_os", "is_ws", "is_is", "total_cycles", "v_if", "u_fl",
               "sram_ifmap_start", "sram_ifmap_stop", "sram_filter_start", "sram_filter_stop",
               "sram_ofmap_start", "sram_ofmap_stop", "n_of",
               "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "bw_if", "bw_fl", "bw_of")


def _buffer(xp, kb, bw, V):
    """read_buffer.set_params / prepare_hashed_buffer constants of one USER-mode read buffer."""
    words = xp.floor(kb * 1024.0)                       # set_params: total_size_elems
    A = xp.ceil(words * 0.5)                            # active_buf_size (active_buf_frac 0.5)
    P = words - A                                       # prefetch_buf_size
    eps = xp.ceil(words / 100.0)                        # prepare_hashed_buffer: elems_per_set
    n = xp.floor(V / eps) + 1.0                         # prepare_hashed_buffer: num_lines
    Wa = xp.minimum(xp.ceil(A / eps), n)                # num_active_buf_lines
    Wp = xp.minimum(xp.ceil(P / eps), n - Wa)           # num_prefetch_buf_lines
    nl_p = xp.ceil(P / bw)                              # new_prefetch: num_lines
    return dict(eps=eps, n=n, Wa=Wa, Wp=xp.maximum(Wp, 1.0), fits=Wp <= 0,
                per=nl_p + 1.0, nl_p=nl_p, A=A)


def user_mode_fields(xp, q: dict, *, max_iter: int | None = None, resume=None) -> dict:
    """USER-mode total/stall cycles, DRAM reads/start/stop and SRAM stops (see module doc).

    ``q`` must hold (float64 arrays; ``is_*`` boolean masks), as computed in
    ``systolic.systolic_metrics``: ``Sr, Sc, T`` operand shape, ``R, C`` array, ``fr, fc`` row /
    column folds, ``folds``, ``L`` demand rows per fold, ``ru_l, cu_l`` rows/cols used by the last
    fold, ``is_os, is_ws, is_is``, ``total_cycles`` (no-stall ``F*L - 1``), ``v_if`` (valid ifmap
    entries), ``u_fl`` (``K*N``), the no-stall ``sram_{ifmap,filter,ofmap}_{start,stop}``,
    ``n_of`` (ofmap words written to DRAM), ``{ifmap,filter,ofmap}_sram_kb``, ``bw_if``,
    ``bw_fl`` (IfmapSRAMBankBandwidth / FilterSRAMBankBandwidth) and ``bw_of`` (Bandwidth).

    Returns a dict with ``total_cycles, stall_cycles, total_cycles_incl_prefetch``,
    ``dram_{ifmap,filter}_{reads,start,stop}``, ``dram_ofmap_{writes,start,stop}`` and
    ``sram_{ifmap,filter,ofmap}_{start,stop}``.

    ``max_iter`` / ``resume``: run at most ``max_iter`` rounds of the recurrence, continuing from
    ``resume = (state, fresh)`` (see ``_user_scan.read_buffer_events``); the result then also
    holds ``user_state`` (the loop state, flat ``[P]`` arrays) and ``user_active`` (bool ``[P]``:
    lanes whose fields are not final yet).
    """
    shape = xp.broadcast_shapes(*(xp.shape(q[k]) for k in USER_Q_KEYS))
    g = {k: q[k] if _static.is_static(q[k]) else xp.reshape(xp.broadcast_to(xp.asarray(q[k]), shape), (-1,))
         for k in USER_Q_KEYS}
    f64 = lambda v: xp.asarray(v, dtype=xp.float64)
    Sr, Sc, T, R, C = (f64(g[k]) for k in ("Sr", "Sc", "T", "R", "C"))
    fr, fc, F, L = (f64(g[k]) for k in ("fr", "fc", "folds", "L"))
    ru_l, cu_l = f64(g["ru_l"]), f64(g["cu_l"])
    is_os, is_ws, is_is = g["is_os"], g["is_ws"], g["is_is"]
    t0 = f64(g["total_cycles"])
    bw_if, bw_fl, bw_of = f64(g["bw_if"]), f64(g["bw_fl"]), f64(g["bw_of"])

    b_if = _buffer(xp, f64(g["ifmap_sram_kb"]), bw_if, f64(g["v_if"]))
    b_fl = _buffer(xp, f64(g["filter_sram_kb"]), bw_fl, f64(g["u_fl"]))
    zero = xp.zeros_like(T)
    # streaming operands: os/ws ifmap and is filter stack the row folds (T x R blocks, prefix 0
    # for os, R for ws/is: create_*_demand_mat inter_fold_gap_prefix); os filter stacks the
    # column folds (T x C blocks, each re-read for the fr row folds in a row)
    w = lambda c, a, b: _static.where(xp, c, a, b)
    stream_if = _Stream(xp, T, R, fr, ru_l, w(is_os, zero, R), fr, True)
    stream_fl = _Stream(xp, T, w(is_os, C, R), w(is_os, fc, fr),
                        w(is_os, cu_l, ru_l), w(is_os, zero, R), fr, ~is_os)
    stat = _Stationary(xp, Sr, C, R, fr, fc, ru_l, cu_l)
    ops = [dict(b_if, geo=_Mixed(xp, is_is, stat, stream_if)),
           dict(b_fl, geo=_Mixed(xp, is_ws, stat, stream_fl))]
    # OFMAP write buffer (write_buffer.set_params: drain_buf_size = size - ceil(size/2))
    words_of = xp.floor(f64(g["ofmap_sram_kb"]) * 1024.0)     # total_size_elems
    D = words_of - xp.ceil(words_of * 0.5)                     # drain_buf_size
    arr = OfmapArrivals(xp, is_os, R, C, T, Sr, fr, fc, ru_l, cu_l, L, F)
    wb = dict(arr=arr, D=D, Stot=words_of, bw=bw_of, q=xp.ceil(D / bw_of))   # lines_to_fill_dbuf
    # served cycles wanted: first/last request line of each operand (reads answer one cycle
    # later: read hit latency 1; writes the same cycle)
    names = [("ifmap", 0, 1.0), ("filter", 1, 1.0), ("ofmap", 2, 0.0)]
    probes = []
    for nm, j, lat in names:
        for w_ in ("start", "stop"):
            probes.append((f64(g[f"sram_{nm}_{w_}"]) - lat, j))
    st = read_buffer_events(xp, ops, F, L, wb=wb, probes=probes, max_iter=max_iter, resume=resume)
    k_if, k_fl, S = st["k0"], st["k1"], st["S"]
    if xp.__name__ == "numpy" and bool(xp.any(st["wovf"])):
        import warnings
        warnings.warn("user_mode_fields: more pending OFMAP drain segments than tracked "
                      "(_user_scan._NSLOT); OFMAP write counts may be off")

    def dram(b, k, bw, Vpad):
        nl_a = xp.minimum(xp.ceil(b["A"] / bw), xp.ceil(Vpad / bw))   # prefetch_active_buffer
        reads = nl_a * bw + k * b["nl_p"] * bw                       # num_access
        return reads, -nl_a, -1.0 + k * b["per"]                     # new_prefetch chain
    Vpad_if = w(is_is, fc * C * Sr, fr * R * T)
    Vpad_fl = w(is_os, fc * C * T, w(is_ws, fc * C * Sr, fr * R * T))
    rd_if, st_if, sp_if = dram(b_if, k_if, bw_if, Vpad_if)
    rd_fl, st_fl, sp_fl = dram(b_fl, k_fl, bw_fl, Vpad_fl)

    # service_memory_requests: total_cycles = max(ofmap served cycles) = last line + all stalls
    # (the last demand line holds only ofmap writes, so its stall is the ofmap's own)
    total = t0 + S
    # write_buffer.empty_all_buffers(ofmap_serviced_cycles[-1])
    of_start, of_stop, of_writes = final_flush(xp, st, arr, bw_of, wb["q"], total)
    incl = of_stop - xp.minimum(st_if, st_fl)                     # calc_report_data
    out = {
        "total_cycles": total,
        "stall_cycles": S,
        "total_cycles_incl_prefetch": incl,
        "dram_ifmap_reads": rd_if, "dram_ifmap_start": st_if, "dram_ifmap_stop": sp_if,
        "dram_filter_reads": rd_fl, "dram_filter_start": st_fl, "dram_filter_stop": sp_fl,
        "dram_ofmap_writes": of_writes, "dram_ofmap_start": of_start, "dram_ofmap_stop": of_stop,
    }
    # SRAM start/stop: the no-stall cycle plus the stall before that line and its own stall
    for (nm, j, lat), i in zip(names, range(0, 6, 2)):
        out[f"sram_{nm}_start"] = f64(g[f"sram_{nm}_start"]) + st["probe"][i]
        out[f"sram_{nm}_stop"] = f64(g[f"sram_{nm}_stop"]) + st["probe"][i + 1]
    out = {k: xp.reshape(v, shape) for k, v in out.items()}
    if max_iter is not None:
        out["user_state"], out["user_active"] = loop_state(st), st["active"]
    return out


class _Mixed:
    """Per-row choice between the stationary and streaming geometry of an operand."""

    def __init__(self, xp, use_stat, stat, stream):
        self.xp, self.m, self.a, self.b = xp, use_stat, stat, stream

    def nlines(self, f):
        if _static.is_static(self.m):
            return (self.a if bool(self.m) else self.b).nlines(f)
        return self.xp.where(self.m, self.a.nlines(f), self.b.nlines(f))

    def line(self, f, t):
        if _static.is_static(self.m):
            return (self.a if bool(self.m) else self.b).line(f, t)
        xp = self.xp
        return tuple(xp.where(self.m, u, v) for u, v in zip(self.a.line(f, t), self.b.line(f, t)))

    def search(self, f, t0, t1, s_u, Wa, eps):
        if _static.is_static(self.m):
            if bool(self.m):
                return self.a.first_below(f, t0, t1, s_u * eps)
            return self.b.first_reaching(f, t0, t1, (s_u + Wa) * eps)
        xp = self.xp
        return xp.where(self.m, self.a.first_below(f, t0, t1, s_u * eps),
                        self.b.first_reaching(f, t0, t1, (s_u + Wa) * eps))
