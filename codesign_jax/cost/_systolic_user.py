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

With ``Wa == Wp == W`` (every integer KB size), the windows tile the unrolled ring, so the
number of prefetches of a demand stream is ``floor(P_end / W)`` where ``P_end`` is the stream's
final set position counted with one extra ``n`` per lap. Laps come from (a) re-streaming the
operand (column folds), (b) the backward jumps of the demand order against the prefetch order:
fold boundaries of a diagonal-unrolled operand jump back ``w(w-1) - 1`` words, a re-read output-
stationary filter block jumps back its whole length, and the stationary operand's blocks are
demanded last row first. Whether a backward jump of ``J`` words crosses the window start depends on
the window phase, which SCALE-Sim iterates deterministically; we take its expectation under a
uniform phase, ``min(1, J / (W eps))`` laps per jump (documented residual: the only
non-exact term).
"""

from __future__ import annotations

__all__ = ["user_mode_fields", "USER_Q_KEYS"]

# keys of `q` this module reads (all float64 arrays / bool masks, broadcast together)
USER_Q_KEYS = ("Sr", "Sc", "T", "R", "C", "fr", "fc", "folds", "L", "ru_l", "cu_l",
               "is_os", "is_ws", "is_is", "total_cycles", "v_if", "u_fl",
               "sram_ifmap_start", "sram_ifmap_stop", "sram_filter_start", "sram_filter_stop",
               "sram_ofmap_start", "sram_ofmap_stop", "n_of",
               "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "bw_if", "bw_fl", "bw_of")


def _cdiv(xp, a, b):
    return xp.ceil(a / b)


def _read_buffer(xp, kb, bw, V, Vpad, npass, laps, tail_words, width):
    """Prefetch count, DRAM reads, DRAM start/stop and chain end of one USER-mode read buffer.

    Args:
      kb: SRAM KB; bw: DRAM words/cycle; V: valid words of the prefetch matrix; Vpad: its size
      with -1 padding; npass: natural passes over the ring; laps: expected forced laps;
      tail_words/width: unused here (kept for the caller's tail estimate).
    """
    words = xp.floor(kb * 1024.0)                       # read_buffer.set_params: total_size_elems
    A = xp.ceil(words * 0.5)                            # active_buf_size (active_buf_frac = 0.5)
    P = words - A                                       # prefetch_buf_size
    eps = _cdiv(xp, words, 100.0)                       # prepare_hashed_buffer: elems_per_set
    n = xp.floor(V / eps) + 1.0                         # prepare_hashed_buffer: num_lines (last may be empty)
    Wa = xp.minimum(_cdiv(xp, A, eps), n)               # num_active_buf_lines
    Wp = xp.minimum(_cdiv(xp, P, eps), n - Wa)          # num_prefetch_buf_lines
    fits = Wp <= 0                                      # whole operand in the active window: no new_prefetch
    Wp_s = xp.maximum(Wp, 1.0)
    last_set = xp.floor((V - 1.0) / eps)                # set of the last word of the ring
    # window k covers unrolled sets [k Wp, k Wp + Wa): prefetches = window index of the end point
    p_end = (npass - 1.0 + laps) * n + last_set
    adv = xp.where(fits, 0.0, xp.floor(xp.maximum(p_end - (Wa - Wp_s), 0.0) / Wp_s))
    nl_a = xp.minimum(_cdiv(xp, A, bw), _cdiv(xp, Vpad, bw))   # prefetch_active_buffer: num_lines
    nl_p = _cdiv(xp, P, bw)                                     # new_prefetch: num_lines
    reads = nl_a * bw + adv * nl_p * bw                         # num_access
    start = -nl_a                                               # prefetch_active_buffer cycles_arr[0] + latency
    stop = -1.0 + adv * (nl_p + 1.0)                            # new_prefetch: last_prefetch_cycle chain
    # words demanded after the final prefetch was triggered (its window's first set onward)
    after = (p_end - xp.floor(p_end / Wp_s) * Wp_s) * eps
    return adv, reads, start, stop, after, W_eps(Wp_s, eps)


def W_eps(Wp, eps):
    return Wp * eps


def user_mode_fields(xp, q: dict) -> dict:
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
    ``sram_{ifmap,filter,ofmap}_stop`` (starts are unchanged by stalls).
    """
    from codesign_jax.cost.systolic import _ofmap_drain

    Sr, Sc, T, R, C = q["Sr"], q["Sc"], q["T"], q["R"], q["C"]
    fr, fc, F, L = q["fr"], q["fc"], q["folds"], q["L"]
    ru_l, cu_l = q["ru_l"], q["cu_l"]
    is_os, is_ws, is_is = q["is_os"], q["is_ws"], q["is_is"]
    v_if, u_fl = q["v_if"], q["u_fl"]
    t0 = q["total_cycles"]
    kb_if, kb_fl, kb_of = q["ifmap_sram_kb"], q["filter_sram_kb"], q["ofmap_sram_kb"]
    bw_if, bw_fl, bw_of = q["bw_if"], q["bw_fl"], q["bw_of"]

    def _win(kb, V):
        words = xp.floor(kb * 1024.0)
        A = xp.ceil(words * 0.5)
        eps = _cdiv(xp, words, 100.0)                  # prepare_hashed_buffer: elems_per_set
        n = xp.floor(V / eps) + 1.0                    # prepare_hashed_buffer: num_lines
        Wa = xp.minimum(_cdiv(xp, A, eps), n)          # num_active_buf_lines
        Wp = xp.maximum(xp.minimum(_cdiv(xp, words - A, eps), n - Wa), 1.0)  # num_prefetch_buf_lines
        return eps, Wa, Wp

    def p_lap(J, kb, V):
        # read_buffer.active_buffer_hit / new_prefetch: a backward jump of J words leaves the
        # window iff it passes the window start; the current word sits uniformly in the last Wp
        # sets of the Wa-set window: expected laps of one jump.
        eps, Wa, Wp = _win(kb, V)
        return xp.clip((J / eps - (Wa - Wp)) / Wp, 0.0, 1.0)

    def n_cross(X, kb, V):
        # expected window-start crossings of a walk back over X words (stationary operand)
        eps, Wa, Wp = _win(kb, V)
        return xp.maximum(X / eps - (Wa - Wp), 0.0) / Wp

    # --- streaming (diagonal-unrolled) operand: os/ws ifmap (width R), is filter (width R),
    # os filter (width C). systolic_compute_*.create_*_prefetch_mat stacks the folds' T x w
    # blocks and unrolls anti-diagonals; the per-fold demand (skewed) jumps back w(w-1)-1 words
    # at each fold boundary.
    J_R = R * (R - 1.0) - 1.0
    J_C = C * (C - 1.0) - 1.0
    # os filter: block of a column fold re-read fr times in a row: jumps back TC + C(C-1) - 1.
    J_rep = T * C + J_C
    # stationary operand (ws filter / is ifmap, create_*_prefetch_mat row-major, demand flipped
    # rows): expected window-start crossings while walking back (ru-1)*cu words per fold,
    # summed over folds = Sc * (Sr - fr).
    back_stat = Sc * (Sr - fr)

    # ifmap
    V_if = v_if
    Vpad_if = xp.where(is_is, fc * C * Sr, fr * R * T)
    npass_if = xp.where(is_is, 1.0, fc)
    laps_if = xp.where(is_is, n_cross(back_stat, kb_if, v_if),
                       fc * (fr - 1.0) * p_lap(J_R, kb_if, v_if))
    # filter
    V_fl = u_fl
    Vpad_fl = xp.where(is_os, fc * C * T, xp.where(is_ws, fc * C * Sr, fr * R * T))
    npass_fl = xp.where(is_is, fc, 1.0)
    laps_fl = xp.where(is_os, (fc - 1.0) * p_lap(J_C, kb_fl, u_fl) + fc * (fr - 1.0) * p_lap(J_rep, kb_fl, u_fl),
                       xp.where(is_ws, n_cross(back_stat, kb_fl, u_fl),
                                fc * (fr - 1.0) * p_lap(J_R, kb_fl, u_fl)))

    # stationary operand: laps taken while walking back through the LAST fold's block do not
    # carry the ring's end along (the walk ends at the block start): the furthest unrolled set is
    # then the block start + n, not the ring end + n (read_buffer.active_buffer_hit wraps).
    def stat_shift(kb, V):
        eps, Wa, Wp = _win(kb, V)
        last_lap = n_cross((ru_l - 1.0) * cu_l, kb, V)
        n = xp.floor(V / eps) + 1.0
        return -xp.minimum(last_lap, 1.0) * xp.minimum(ru_l * cu_l / eps, n)
    laps_if = laps_if + xp.where(is_is, stat_shift(kb_if, v_if) / (xp.floor(v_if / _win(kb_if, v_if)[0]) + 1.0), 0.0)
    laps_fl = laps_fl + xp.where(is_ws, stat_shift(kb_fl, u_fl) / (xp.floor(u_fl / _win(kb_fl, u_fl)[0]) + 1.0), 0.0)

    adv_if, rd_if, st_if, sp_if, aft_if, _ = _read_buffer(
        xp, kb_if, bw_if, V_if, Vpad_if, npass_if, laps_if, None, None)
    adv_fl, rd_fl, st_fl, sp_fl, aft_fl, _ = _read_buffer(
        xp, kb_fl, bw_fl, V_fl, Vpad_fl, npass_fl, laps_fl, None, None)

    # demand lines still to run after an operand's final prefetch: words left / words per line
    # (streaming width), counted back from the operand's last demand, plus the drain to the end.
    w_if = xp.where(is_is, C, R)
    w_fl = xp.where(is_is, R, C)
    tail_if = (t0 - (q["sram_ifmap_stop"] - 1.0)) + aft_if / w_if
    tail_fl = (t0 - (q["sram_filter_stop"] - 1.0)) + aft_fl / w_fl
    # read_buffer.service_reads: a late prefetch moves the request to last + (last - cycle)
    # (the stall is added twice); the overshoot d alternates d1, G - d1 (G = prefetch period minus
    # lines between misses). adv == 1: exact first deficit; else its mean G/2.
    def overshoot(adv, kb, bw, V, w, first_line):
        eps, Wa, Wp = _win(kb, V)
        P = xp.floor(kb * 1024.0) - xp.ceil(xp.floor(kb * 1024.0) * 0.5)
        per = _cdiv(xp, P, bw) + 1.0
        x1 = first_line + Wa * eps / w
        d1 = xp.maximum(per - 1.0 - x1, 0.0)
        G = xp.maximum(per - t0 / xp.maximum(adv, 1.0), 0.0)
        return xp.where(adv == 1, d1, 0.5 * G)
    first_if = q["sram_ifmap_start"] - 1.0
    first_fl = q["sram_filter_start"] - 1.0
    end_if = xp.where(adv_if > 0, sp_if + tail_if + overshoot(adv_if, kb_if, bw_if, V_if, w_if, first_if), 0.0)
    end_fl = xp.where(adv_fl > 0, sp_fl + tail_fl + overshoot(adv_fl, kb_fl, bw_fl, V_fl, w_fl, first_fl), 0.0)
    # write_buffer.service_writes: once the ofmap SRAM is full, writes wait for the drain at
    # Bandwidth words/cycle (empty_drain_buf).
    words_of = xp.floor(kb_of * 1024.0)
    end_of = (q["n_of"] - words_of) / bw_of + (t0 - q["sram_ofmap_stop"])
    end_fl = xp.maximum(end_fl, end_of)
    # service_memory_requests: the array waits for the slowest operand each line.
    total = xp.maximum(t0, xp.maximum(end_if, end_fl))
    total = xp.floor(total)
    stall = total - t0

    of_start, of_stop, of_writes = _ofmap_drain(xp, q["n_of"], total, bw_of, kb_of)
    incl = of_stop - xp.minimum(st_if, st_fl)
    return {
        "total_cycles": total,
        "stall_cycles": stall,
        "total_cycles_incl_prefetch": incl,
        "dram_ifmap_reads": rd_if, "dram_ifmap_start": st_if, "dram_ifmap_stop": sp_if,
        "dram_filter_reads": rd_fl, "dram_filter_start": st_fl, "dram_filter_stop": sp_fl,
        "dram_ofmap_writes": of_writes, "dram_ofmap_start": of_start, "dram_ofmap_stop": of_stop,
        # stalls accumulate before the last demand: stops shift by the whole stall
        "sram_ifmap_stop": q["sram_ifmap_stop"] + stall,
        "sram_filter_stop": q["sram_filter_stop"] + stall,
        "sram_ofmap_stop": q["sram_ofmap_stop"] + stall,
    }
