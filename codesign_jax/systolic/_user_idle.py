"""Which USER-mode buffers can never stall a (layer, design) point: sizes at which an operand's
buffer is idle give the same total cycles, so a sweep over SRAM sizes may evaluate one of them
(AIRCHITECT case 2 labels; see :func:`user_buffers_idle`)."""

from __future__ import annotations

import numpy as np

from codesign_jax.systolic._model import operand_shapes
from codesign_jax.systolic._user import _buffer

__all__ = ["user_buffers_idle"]


def user_buffers_idle(g, a) -> dict:
    """Per operand, where its USER-mode buffer can never stall the array (numpy, host side).

    ``g``: a :class:`~codesign_jax.workloads.Gemm`; ``a``: a
    :class:`~codesign_jax.hardware.SystolicArray` (broadcast together; bandwidths do not matter).
    Returns ``{'ifmap', 'filter', 'ofmap'}`` bool arrays of the broadcast shape:

    * ifmap / filter: ``_buffer(...)['fits']`` (the active window covers every set of the
      operand: read_buffer.prepare_hashed_buffer with ``num_active_buf_lines >= num_lines``):
      ``read_buffer_events`` starts that operand ``done``, so it never issues a prefetch, never
      adds a stall and never gives the loop an event;
    * ofmap: ``drain_buf_size >= n_of`` (write_buffer.service_writes never reaches
      ``free_space < active_buf_size``, and ``total_size_elems > drain_buf_size``): no drain is
      triggered and no write stalls before ``empty_all_buffers``.

    So ``total_cycles`` (and ``stall_cycles``) of a design do not change when an idle operand's
    SRAM size is replaced by any other size at which it is idle: for such sizes the recurrence
    runs the identical events. ``DRAM`` reads/start/stop and the OFMAP drain after the last line
    do depend on the size (not covered by this statement).
    """
    f = lambda x: np.asarray(x, dtype=np.float64)
    M, N, K = f(g.M), f(g.N), f(g.K)
    R, C, df = f(a.rows), f(a.cols), np.asarray(a.dataflow)
    Sr, Sc, T = operand_shapes(np, M, N, K, df)
    fr = np.ceil(Sr / R)
    # systolic_metrics: n_of (os writes each output once; ws/is once per row fold: sram_of)
    n_of = np.where(df == 0, Sr * Sc, fr * T * Sc)
    fits = lambda kb, V: _buffer(np, f(kb), 1.0, V)["fits"]
    words_of = np.floor(f(a.ofmap_sram_kb) * 1024.0)                 # write_buffer.set_params
    D = words_of - np.ceil(words_of * 0.5)                            # drain_buf_size
    out = {"ifmap": fits(a.ifmap_sram_kb, f(g.ifmap_valid)),
           "filter": fits(a.filter_sram_kb, K * N), "ofmap": D >= n_of}
    shape = np.broadcast_shapes(*(v.shape for v in out.values()))
    return {k: np.broadcast_to(v, shape) for k, v in out.items()}
