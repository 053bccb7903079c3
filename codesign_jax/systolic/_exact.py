"""Host-side exact refinement of SCALE-Sim 3.0.0 CALC-mode DRAM numbers (NumPy).

:func:`codesign_jax.systolic._model.systolic_metrics` is a closed form; two CALC-mode memory
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
   recurrence; the epochs of a convolution ifmap (im2col overlap and off-edge -1 entries) are
   walked exactly over its reuse distances (:func:`_epoch_chain` on a materialised pass of at
   most 4M demands, else :mod:`codesign_jax.systolic._exact_walk` tile by tile): epochs without
   any word re-demanded within E positions are exactly E long and are jumped over, and whole
   periods are skipped once an epoch start repeats modulo the pass.

Exact on every CALC row of tests/data/scalesim_reference.csv and scalesim_calc_extra.csv. Cost:
closed forms for the ofmap and the GEMM/filter streams; a convolution ifmap larger than one epoch
is walked in memory set by the array, the filter and E, never by the ifmap (seconds for a layer
of a 4k-input ResNet-50 or UNet), with a progress bar on a terminal for streams of over
:data:`PROGRESS_DEMANDS` demands. Results are cached
per distinct (layer, array, dataflow, ifmap SRAM). The stride of a lowered conv is not stored in
:class:`~codesign_jax.workloads.Gemm`; it is recovered from ``ifmap_unique``
(:func:`_canon_stride`).
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from codesign_jax.systolic._exact_ofmap import _ofmap_closed, _ofmap_events
from codesign_jax.systolic._exact_ramps import _I, _Layout, _fold_row, _ramp_spec, _stream_row
from codesign_jax.systolic._exact_reads import _canon_stride, _conv_ifmap_exact, _os_filter_target

__all__ = ["refine_calc", "REFINED_FIELDS"]

REFINED_FIELDS = ("dram_ofmap_start", "dram_ofmap_stop", "dram_ofmap_writes", "dram_ifmap_reads",
                  "dram_ifmap_stop", "dram_filter_reads", "dram_filter_stop",
                  "total_cycles_incl_prefetch", "avg_ifmap_dram_bw", "avg_filter_dram_bw",
                  "avg_ofmap_dram_bw")


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


#: Conv ifmap streams with more demands than this get a progress bar (on a terminal).
PROGRESS_DEMANDS = 1 << 28


@contextlib.contextmanager
def _progress(label, demands):
    """A tqdm bar over the demands of one long ifmap walk (with tqdm's time estimate), shown on
    stderr when it is a terminal; yields the walk's ``progress(x, N)`` callback (or None)."""
    if demands < PROGRESS_DEMANDS:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=demands, desc=label, unit="demand", unit_scale=True, leave=False,
              disable=None, mininterval=0.5) as bar:
        def update(x, n):
            if bar.total != n:          # the real demands (the -1 entries dropped)
                bar.total = n
            bar.update(min(x, n) - bar.n)

        yield update


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
            demands = passes * int(M[i]) * int(K[i])
            with _progress(f"entry {int(idx[i])}: ifmap read epochs", demands) as update:
                cache[key] = _conv_ifmap_exact(d, int(R[i]), int(C[i]), int(M[i]), int(K[i]),
                                               int(lay.L[i]), geo, int(cap_if[i]), passes,
                                               progress=update)
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
