"""SCALE-Sim 3.0.0-equivalent systolic-array cost model as closed-form array functions.

Every report number SCALE-Sim writes (COMPUTE_REPORT, BANDWIDTH_REPORT and
DETAILED_ACCESS_REPORT) is computed here from the layer's GEMM shape and the design, without
building SCALE-Sim's demand matrices or walking its cycle-by-cycle memory simulation. Formulas are
written once against an array namespace ``xp`` (``jax.numpy`` for the jitted model, ``numpy`` for
the reference port) and broadcast over any batch of layers and designs.

Notation (``scalesim/compute/systolic_compute_{os,ws,is}.py: set_params``): a layer is the GEMM
``M x K @ K x N`` (``M`` ofmap pixels, ``N`` filters, ``K`` window); the array is ``R x C``;
operand shapes are ``(Sr, Sc, T)`` = os ``(M, N, K)``, ws ``(K, N, M)``, is ``(K, M, N)``;
folds ``F = ceil(Sr/R) * ceil(Sc/C)`` (a partial fold costs a full one), iterated column fold
outer, row fold inner.

Exactness. Counts are float64 integers (exact below 2**53). SCALE-Sim's CALC-mode read buffers
(``memory/read_buffer_estimate_bw.py``) de-duplicate DRAM reads within "epochs" of
``E = 50 * floor(bytes / 100)`` distinct words; the closed forms below reproduce that exactly when
an operand fits in one epoch, when every pass over it misses (GEMM operands larger than E), and for
the output-stationary filter stream (blocks re-read ``ceil(Sr/R)`` times). For a convolution ifmap
larger than E, the im2col overlap makes the count history-dependent; the closed form counts each
distinct word once per pass. The ofmap write buffer (``memory/write_buffer.py``) drains half its
capacity whenever it is more than half full; when the layer's ofmap fits in half the buffer the
drain timing is exact, otherwise :func:`_ofmap_drain` gives the steady state. Both residuals are
resolved exactly on the host by ``systolic_cost(..., exact=True)`` (``_exact.py``), and
USER bandwidth mode runs the recurrence in ``_user*.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from codesign_jax.systolic import _static
from codesign_jax.systolic._stops import (_cdiv, _is_ifmap_stop, _ofmap_drain, _os_ifmap_stop, _trigger_stop,
                                          _ws_ifmap_stop)
from codesign_jax.systolic._user import user_mode_fields

__all__ = [
    "REPORT_FIELDS",
    "COMPUTE_REPORT_FIELDS",
    "BANDWIDTH_REPORT_FIELDS",
    "DETAILED_REPORT_FIELDS",
    "systolic_metrics",
    "compute_cycles",
    "operand_shapes",
]

COMPUTE_REPORT_FIELDS = ("total_cycles_incl_prefetch", "total_cycles", "stall_cycles",
                         "overall_util_pct", "mapping_eff_pct", "compute_util_pct")
BANDWIDTH_REPORT_FIELDS = ("avg_ifmap_sram_bw", "avg_filter_sram_bw", "avg_ofmap_sram_bw",
                           "avg_ifmap_dram_bw", "avg_filter_dram_bw", "avg_ofmap_dram_bw")
DETAILED_REPORT_FIELDS = tuple(
    f"{mem}_{op}_{what}"
    for mem in ("sram", "dram")
    for op in ("ifmap", "filter", "ofmap")
    for what in ("start", "stop", "writes" if op == "ofmap" else "reads"))
REPORT_FIELDS = COMPUTE_REPORT_FIELDS + BANDWIDTH_REPORT_FIELDS + DETAILED_REPORT_FIELDS

# scale_config / single_layer_sim constants of SCALE-Sim 3.0.0.
_CALC_READ_BW = 10.0   # single_layer_sim.run: "10 elems per cycle is arbitrary" (CALC mode)
_SETS = 100            # read_buffer_estimate_bw.set_params: 100 sets per buffer
_ACTIVE_SETS = 50      # active_buf_frac = 0.5 -> 50 active sets


# ``xp.where`` that resolves at trace time for a static condition: a static dataflow or bandwidth
# mode (a Python int in the design) specialises the model; the other formulas are never traced.
_where = _static.where


# Stand-in USER-mode problem for CALC points of a mixed batch: a 1x1 GEMM on a 1x1 array.
_USER_NEUTRAL = {"total_cycles": 0.0, "ifmap_sram_kb": 64.0, "filter_sram_kb": 64.0,
                 "ofmap_sram_kb": 64.0, "sram_ifmap_start": 1.0, "sram_ifmap_stop": 1.0,
                 "sram_filter_start": 1.0, "sram_filter_stop": 1.0, "sram_ofmap_start": 0.0,
                 "sram_ofmap_stop": 0.0}


def _static_or_array(xp, v):
    """Python ints / 0-d NumPy values stay static (see :func:`_where`); others become arrays."""
    if isinstance(v, (int, np.integer)) or (isinstance(v, np.ndarray) and v.ndim == 0):
        return np.int64(v)
    return xp.asarray(v)


def operand_shapes(xp, M, N, K, dataflow):
    """``(Sr, Sc, T)`` per dataflow code (systolic_compute_*.set_params).

    os: (M, N, K); ws: (K, N, M); is: (K, M, N).
    """
    os_, ws_ = dataflow == 0, dataflow == 1
    Sr = _where(xp, os_, M, K)
    Sc = _where(xp, os_ | ws_, N, M)
    T = _where(xp, os_, K, _where(xp, ws_, M, N))
    return Sr, Sc, T


def compute_cycles(xp, M, N, K, rows, cols, dataflow):
    """Cycles without memory stalls: ``F * L - 1`` (the last demand row's index).

    ``L = R + C + T - 2`` (os: systolic_compute_os.create_ifmap_demand_mat, T rows + C-1 gap,
    skewed by R-1) or ``2R + C + T - 2`` (ws/is: R-row prefix + T rows + C-1 gap, skewed).
    """
    f = lambda x: xp.asarray(x, dtype=xp.float64)
    M, N, K, R, C = f(M), f(N), f(K), f(rows), f(cols)
    Sr, Sc, T = operand_shapes(xp, M, N, K, dataflow)
    folds = _cdiv(xp, Sr, R) * _cdiv(xp, Sc, C)
    L = R + C + T - 2 + _where(xp, dataflow == 0, 0.0, R)
    return folds * L - 1


def _block_repeat_misses(xp, b, bl, n_full, reps, cap):
    """DRAM reads of a stream of ``n_full`` blocks of ``b`` distinct words plus one block of
    ``bl`` words, each block read ``reps`` times in a row, through SCALE-Sim's CALC-mode epoch
    de-duplication of capacity ``cap`` (read_buffer_estimate_bw.manage_prefetches).

    A block's first pass misses entirely; if the epoch fills during it (fill ``f + b >= cap``),
    the words before the flush miss once more on the second pass (``cap - f`` extra misses) and
    the epoch then holds the block (fill ``b``). Blocks ``>= cap`` miss on every pass.
    """
    repeat = reps > 1
    # Full blocks smaller than an epoch: flushes every (i0 - 1) blocks after the first at i0.
    i0 = xp.maximum(_cdiv(xp, cap, b), 2.0)
    n_fl = _where(xp, n_full >= i0, xp.floor((n_full - i0) / (i0 - 1)) + 1, 0.0)
    extra_small = n_fl * (cap - (i0 - 1) * b)
    last_flush = i0 + (n_fl - 1) * (i0 - 1)
    fill_small = _where(xp, n_fl > 0, b + (n_full - last_flush) * b, n_full * b)
    # Full blocks at least an epoch large: every read misses.
    big = b >= cap
    miss_full = _where(xp, big, n_full * b * reps, n_full * b + extra_small)
    total = n_full * b * reps
    fill = _where(xp, big, total - xp.floor(total / cap) * cap, fill_small)  # mod, exact < 2**52
    # The last block enters with epoch fill `fill`.
    last_big = bl >= cap
    miss_last = _where(xp, last_big, bl * reps,
                         bl + _where(xp, fill + bl >= cap, cap - fill, 0.0))
    repeated = miss_full + miss_last
    return _where(xp, repeat, repeated, n_full * b + bl)


def _epoch_cap(xp, kb):
    """Distinct words per CALC-mode epoch: 50 sets of floor(bytes/100) words."""
    return _ACTIVE_SETS * xp.floor(kb * 1024.0 / _SETS)


def _calc_read_dram(xp, unique, misses, first_req, cap):
    """CALC-mode DRAM (start cycle, triggered) of one read operand with epoch capacity ``cap``.

    Start: read_buffer_estimate_bw.complete_all_prefetches (never triggered: the whole operand is
    prefetched before cycle 0 at 10 words/cycle, rounded up to whole sets) or manage_prefetches
    (first trigger: the active half, 50 sets, ending one cycle before the first request).
    """
    per_set = cap / _ACTIVE_SETS
    triggered = misses >= cap
    n_sets = _cdiv(xp, unique, per_set)
    start_fit = -_cdiv(xp, n_sets * per_set, _CALC_READ_BW)
    start_trig = first_req - _cdiv(xp, cap, _CALC_READ_BW)
    return _where(xp, triggered, start_trig, start_fit), triggered


def systolic_metrics(xp, g: Any, a: Any, *, broadcast: bool = True,
                     user_max_iter: int | None = None, user_resume=None) -> dict:
    """All SCALE-Sim report numbers for layers ``g`` on designs ``a`` (broadcast together).

    Args:
      xp: ``jax.numpy`` or ``numpy``.
      g: object with ``M, N, K, ifmap_unique, ifmap_valid`` (a :class:`Gemm`).
      a: object with the :class:`SystolicArray` fields.
      broadcast: if False, each field keeps the shape of the inputs it depends on (e.g. compute
        cycles do not depend on SRAM sizes); every field is still broadcastable to the full shape.
      user_max_iter, user_resume: run the USER-mode recurrence for at most ``user_max_iter``
        rounds, resuming from ``user_resume = (state, fresh)``; the result then also holds
        ``user_state`` and ``user_active`` (flat, see ``_user.user_mode_fields``). For streaming
        many points through a fixed pool of lanes (``_user_pool``); requires a static USER mode.

    Returns:
      dict of float64 arrays keyed by :data:`REPORT_FIELDS` (plus ``macs`` and ``folds``),
      shaped like the broadcast of the inputs. Cycles in cycles, bandwidths in words/cycle.
    """
    f = lambda x: xp.asarray(x, dtype=xp.float64)
    M, N, K = f(g.M), f(g.N), f(g.K)
    u_if, v_if = f(g.ifmap_unique), f(g.ifmap_valid)
    R, C = f(a.rows), f(a.cols)
    df = _static_or_array(xp, a.dataflow)
    is_os, is_ws, is_is = df == 0, df == 1, df == 2
    user = _static_or_array(xp, a.bw_mode) == 1

    Sr, Sc, T = operand_shapes(xp, M, N, K, df)
    fr, fc = _cdiv(xp, Sr, R), _cdiv(xp, Sc, C)
    folds = fr * fc
    ru0, cu0 = xp.minimum(R, Sr), xp.minimum(C, Sc)       # first fold (fr = fc = 0)
    ru_l, cu_l = Sr - (fr - 1) * R, Sc - (fc - 1) * C     # last fold (fr, fc = last)
    L = R + C + T - 2 + _where(xp, is_os, 0.0, R)           # demand rows per fold
    last = (folds - 1) * L                                # first demand row of the last fold
    macs = M * N * K

    # --- COMPUTE_REPORT (systolic_compute_*.create_*_demand_mat, get_avg_*) -------------------
    # mapping efficiency: mean over folds of used PEs / (R*C); sum of used PEs = Sr*Sc.
    mapping_eff = Sr * Sc / (folds * R * C)
    # compute util: per fold mac_used*T / (R*C*cycles_this_fold); cycles_this_fold =
    # demand rows + cols - 1 = R+C+T-2 (os) or 2R+2C+T-3 (ws, is).
    cyc_fold = _where(xp, is_os, R + C + T - 2, 2 * R + 2 * C + T - 3)
    compute_util = Sr * Sc * T / (R * C * cyc_fold * folds)

    # --- SRAM requests (systolic_compute_*: ifmap_reads/filter_reads/ofmap_writes) ------------
    sram_if = _where(xp, is_is, Sr * Sc, fc * Sr * T)
    sram_fl = _where(xp, is_os, fr * Sc * T, _where(xp, is_ws, Sr * Sc, fc * Sr * T))
    # os also adds rows+cols of the padded fold per fold (create_ofmap_demand_mat quirk).
    sram_of = _where(xp, is_os, Sr * Sc + folds * (R + C), fr * T * Sc)

    # --- SRAM start/stop: first/last demand row holding a real address; reads are served
    # one cycle later (hit latency 1), writes the same cycle (double_buffered_scratchpad).
    # os ifmap/filter: T rows skewed over R (C) columns; ws/is stationary operand: a flipped
    # R x C block; ws ifmap / is filter: R-row prefix, T rows skewed over R columns;
    # ofmap: (T-1)-row (os) or (2R-1)-row prefix (ws/is), skewed.
    stat_start = R - ru0 + 1
    stat_stop = last + R
    strm_start = R + 1
    strm_stop = last + R + T + ru_l - 1
    sram_if_start = _where(xp, is_os, 1.0, _where(xp, is_ws, strm_start, stat_start))
    sram_if_stop = _where(xp, is_os, last + ru_l + T - 1, _where(xp, is_ws, strm_stop, stat_stop))
    if getattr(g, "ofmap_w", None) is not None:
        sram_if_stop = _where(xp, is_os, _os_ifmap_stop(xp, g, R, L, fr, fc),
                              _where(xp, is_ws, _ws_ifmap_stop(xp, g, R, last, fr),
                                     _is_ifmap_stop(xp, g, R, C, L, fr, fc)))
    sram_fl_start = _where(xp, is_os, 1.0, _where(xp, is_ws, stat_start, strm_start))
    sram_fl_stop = _where(xp, is_os, last + cu_l + T - 1, _where(xp, is_ws, stat_stop, strm_stop))
    sram_of_start = _where(xp, is_os, T - 1 + R - ru0, 2 * R - 1)
    sram_of_stop = _where(xp, is_os, last + T + R + cu_l - 3, last + 2 * R + T + cu_l - 3)

    # --- DRAM reads (CALC: read_buffer_estimate_bw epochs) --------------------------------------
    u_fl = K * N
    cap_if = _epoch_cap(xp, f(a.ifmap_sram_kb))
    cap_fl = _epoch_cap(xp, f(a.filter_sram_kb))
    # ifmap: os/ws re-stream the whole im2col ifmap once per column fold; is reads it once.
    if_passes = _where(xp, is_is, 1.0, fc)
    dram_if = _where(xp, u_if < cap_if, u_if, _where(xp, v_if > u_if, if_passes * u_if,
                                                     if_passes * v_if))
    # filter: os re-reads each column block ceil(Sr/R) times in a row; ws reads it once;
    # is re-streams the whole filter once per column fold.
    b_full = T * C
    dram_fl_os = _block_repeat_misses(xp, b_full, T * cu_l, fc - 1, fr, cap_fl)
    dram_fl = _where(xp, u_fl < cap_fl, u_fl,
                       _where(xp, is_os, dram_fl_os, _where(xp, is_ws, u_fl, fc * u_fl)))
    # first cycle each operand is demanded (first_request_rcvd_cycle)
    first_if = _where(xp, is_ws, R, _where(xp, is_is, R - ru0, 0.0))
    first_fl = _where(xp, is_ws, R - ru0, _where(xp, is_is, R, 0.0))
    dram_if_start, trig_if = _calc_read_dram(xp, u_if, dram_if, first_if, cap_if)
    dram_fl_start, trig_fl = _calc_read_dram(xp, u_fl, dram_fl, first_fl, cap_fl)

    # --- total cycles and OFMAP DRAM (write_buffer.service_writes / empty_all_buffers) --------
    total_cycles = folds * L - 1
    stall = xp.zeros_like(total_cycles)
    # every ofmap write reaches DRAM: os writes each output once, ws/is once per row fold.
    n_of = _where(xp, is_os, Sr * Sc, sram_of)
    of_bw = _where(xp, user, f(a.bandwidth), C)    # CALC: ofmap_backing_bw = arr_col
    of_start, of_stop, of_writes = _ofmap_drain(xp, n_of, total_cycles, of_bw,
                                                f(a.ofmap_sram_kb))

    dram_if_stop = _where(xp, trig_if, _trigger_stop(xp, dram_if, cap_if, sram_if_stop), -1.0)
    dram_fl_stop = _where(xp, trig_fl, _trigger_stop(xp, dram_fl, cap_fl, sram_fl_stop), -1.0)

    incl_prefetch = of_stop - xp.minimum(dram_if_start, dram_fl_start)
    out = {
        "total_cycles_incl_prefetch": incl_prefetch,
        "total_cycles": total_cycles,
        "stall_cycles": stall,
        "sram_ifmap_start": sram_if_start,
        "sram_ifmap_stop": sram_if_stop,
        "sram_ifmap_reads": sram_if,
        "sram_filter_start": sram_fl_start,
        "sram_filter_stop": sram_fl_stop,
        "sram_filter_reads": sram_fl,
        "sram_ofmap_start": sram_of_start,
        "sram_ofmap_stop": sram_of_stop,
        "sram_ofmap_writes": sram_of,
        "dram_ifmap_start": dram_if_start,
        "dram_ifmap_stop": dram_if_stop,
        "dram_ifmap_reads": dram_if,
        "dram_filter_start": dram_fl_start,
        "dram_filter_stop": dram_fl_stop,
        "dram_filter_reads": dram_fl,
        "dram_ofmap_start": of_start,
        "dram_ofmap_stop": of_stop,
        "dram_ofmap_writes": of_writes,
    }
    pool = {}   # resumable USER-loop state when user_max_iter is set
    if not (isinstance(user, (bool, np.bool_)) and not user):
        # USER bandwidth mode: read_buffer / write_buffer with the user's bandwidths stall.
        q = dict(Sr=Sr, Sc=Sc, T=T, R=R, C=C, fr=fr, fc=fc, folds=folds, L=L, ru0=ru0, cu0=cu0,
                 ru_l=ru_l, cu_l=cu_l, is_os=is_os, is_ws=is_ws, is_is=is_is,
                 total_cycles=total_cycles, u_if=u_if, v_if=v_if, u_fl=u_fl, n_of=n_of,
                 ifmap_sram_kb=f(a.ifmap_sram_kb), filter_sram_kb=f(a.filter_sram_kb),
                 ofmap_sram_kb=f(a.ofmap_sram_kb), bw_if=f(a.ifmap_dram_bw),
                 bw_fl=f(a.filter_dram_bw), bw_of=f(a.bandwidth), **{
                     k: out[k] for k in out if k.startswith("sram_")})
        q = {k: (v if isinstance(v, (bool, np.bool_)) else xp.asarray(v)) for k, v in q.items()}
        if not isinstance(user, (bool, np.bool_)):
            # traced bandwidth mode: CALC points get a one-fold, one-word stand-in problem so
            # the USER recurrence (a loop over folds) ends at once for them; their USER
            # results are discarded below.
            q = {k: (v if k.startswith("is_") else _where(xp, user, v, _USER_NEUTRAL.get(k, 1.0)))
                 for k, v in q.items()}
        if user_max_iter is not None and not isinstance(user, (bool, np.bool_)):
            raise ValueError("user_max_iter needs a static bw_mode (USER for every point).")
        uf = user_mode_fields(xp, q, max_iter=user_max_iter, resume=user_resume)
        pool = {k: uf.pop(k) for k in ("user_state", "user_active") if k in uf}
        for k, v in uf.items():
            out[k] = _where(xp, user, v, out[k])
    total_cycles = out["total_cycles"]
    out.update({
        # single_layer_sim.calc_report_data: num_compute*100 / (total_cycles * R*C)
        "overall_util_pct": macs * 100.0 / (total_cycles * R * C),
        "mapping_eff_pct": mapping_eff * 100.0,
        "compute_util_pct": compute_util * 100.0,
        "avg_ifmap_sram_bw": sram_if / total_cycles,
        "avg_filter_sram_bw": sram_fl / total_cycles,
        "avg_ofmap_sram_bw": sram_of / total_cycles,
        # calc_report_data: reads / (stop - start + 1)
        "avg_ifmap_dram_bw": out["dram_ifmap_reads"] / (
            out["dram_ifmap_stop"] - out["dram_ifmap_start"] + 1),
        "avg_filter_dram_bw": out["dram_filter_reads"] / (
            out["dram_filter_stop"] - out["dram_filter_start"] + 1),
        "avg_ofmap_dram_bw": out["dram_ofmap_writes"] / (
            out["dram_ofmap_stop"] - out["dram_ofmap_start"] + 1),
        "macs": macs,
        "folds": folds,
    })
    if broadcast:
        shape = np.broadcast_shapes(*(np.shape(v) for v in out.values()))
        out = {k: xp.broadcast_to(v, shape) for k, v in out.items()}
    return {**out, **pool}
