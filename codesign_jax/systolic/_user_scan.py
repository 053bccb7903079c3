"""Exact event recurrence of SCALE-Sim 3.0.0's USER-mode read buffers (see _user doc).

The loop runs over *miss lines*: demand lines at which the ifmap or filter read buffer calls
``read_buffer.new_prefetch``. Between two such lines nothing that SCALE-Sim reports changes
(hits cost nothing), so each iteration jumps, in closed form, to the next line at which either
operand's demanded set leaves its active window, or moves an operand's cursor to its next fold
when the rest of its current fold cannot miss. The carry holds, per operand, the fold cursor,
the demand-line cursor, the window start ``s`` (set index, mod ``n``) and the prefetch count
``k``; and the stall total ``S``.

The OFMAP write buffer (``memory/write_buffer.py``) rides in the same loop: its events are the
demand lines at which ``service_writes`` triggers a drain (``empty_drain_buf``) or stalls on a
full buffer; the next one follows in closed form from the write arrival count
(:class:`OfmapArrivals`, the xp twin of ``_exact._fold_cum`` / ``_stream_row``) and the
current stall total, so read misses, drains and write stalls are processed in line order with the
per-line stall ``max(ifmap, filter, ofmap)`` of ``service_memory_requests``.

The body is written once against ``xp`` (numpy or jax.numpy); :func:`_loop` runs it as a Python
loop (numpy reference) or ``jax.lax.while_loop`` (jit), so both give identical integers.

Resumable runs. A finished lane is a fixed point of the body (batches already run finished lanes
along with unfinished ones), so the loop may stop after ``max_iter`` iterations and continue later
from the returned state, on any lane, next to any other lanes: ``read_buffer_events(...,
max_iter=k, resume=(state, fresh))``. ``_user_pool`` uses this to stream many points through a
fixed pool of lanes, so a batch no longer runs as long as its slowest point.
"""

from __future__ import annotations

__all__ = ["read_buffer_events", "loop_state", "OfmapArrivals"]


def _loop(xp, cond, body, state, max_iter=None):
    """while any(cond(state)) [and fewer than max_iter rounds]: state = body(state) -- numpy loop
    or lax.while_loop."""
    if xp.__name__ == "numpy":
        it = 0
        while bool(xp.any(cond(state))) and (max_iter is None or it < max_iter):
            state, it = body(state), it + 1
        return state
    import jax
    if max_iter is None:
        return jax.lax.while_loop(lambda s: xp.any(cond(s)), body, state)
    out, _ = jax.lax.while_loop(lambda c: xp.any(cond(c[0])) & (c[1] < max_iter),
                                lambda c: (body(c[0]), c[1] + 1), (state, 0))
    return out


def loop_state(st: dict) -> dict:
    """The resumable loop state of a :func:`read_buffer_events` result (its array entries)."""
    return {k: v for k, v in st.items() if k not in ("probe", "active")}


def _tri(xp, y):
    y = xp.maximum(y, 0.0)
    return y * (y + 1.0) * 0.5


def _ramp(xp, e, a, b):
    """sum_{c=a}^{b-1} max(e - c, 0) (closed form)."""
    m = xp.clip(e, a, xp.maximum(b, a))
    return _tri(xp, e - a) - _tri(xp, e - m)


def _clipsum(xp, e, a, b, G):
    """sum_{c=a}^{b-1} clip(e - c, 0, G): valid elements of columns [a, b) on diagonals < e."""
    return _ramp(xp, e, a, b) - _ramp(xp, e - G, a, b)


class _Stream:
    """Diagonal-unrolled streaming operand (systolic_compute_*.create_*_prefetch_mat with the
    anti-diagonal loop): ``B`` stacked ``T x w`` blocks, the last one ``wl`` columns valid;
    a fold demands block ``blk(f)`` skewed (column ``c`` reads block row ``tau - c`` on fold line
    ``p + tau``: systolic_compute_*.create_*_demand_mat + skew_matrix)."""

    def __init__(self, xp, T, w, B, wl, p, fr, by_row_fold):
        self.xp, self.T, self.w, self.B, self.wl, self.p = xp, T, w, B, wl, p
        self.fr, self.by_row = fr, by_row_fold

    def blk(self, f):
        xp = self.xp
        import numpy as np
        if isinstance(self.by_row, (bool, np.bool_)):
            return xp.mod(f, self.fr) if bool(self.by_row) else xp.floor(f / self.fr)
        return xp.where(self.by_row, xp.mod(f, self.fr), xp.floor(f / self.fr))

    def V(self, e):
        # valid words on anti-diagonals < e of the stacked, padded block matrix
        xp, BT = self.xp, self.B * self.T
        return (_clipsum(xp, e, 0.0, self.wl, BT)
                + _clipsum(xp, e, self.wl, self.w, BT - self.T))

    def nlines(self, f):
        b = self.blk(f)
        wb = self.xp.where(b == self.B - 1, self.wl, self.w)
        return self.T + wb - 1.0

    def line(self, f, t):
        """(first rank, one past last rank, fold line) of demand line t (0-based) of fold f."""
        xp = self.xp
        b = self.blk(f)
        wb = xp.where(b == self.B - 1, self.wl, self.w)
        d = b * self.T + t
        c_lo = xp.maximum(0.0, t - self.T + 1.0)
        c_hi = xp.minimum(wb - 1.0, t)
        # diagonal d in prefetch order: rows of later blocks, block b, earlier blocks (full width)
        H = self.V(d + 1.0) - xp.maximum(0.0, xp.minimum(self.w - 1.0, d) - t)
        lo = H - (c_hi - c_lo + 1.0)
        return lo, H, self.p + t

    def first_reaching(self, f, t0, t1, rank):
        """First line t in [t0, t1] whose last rank >= rank (t1 + 1 if none): lines are monotone."""
        xp = self.xp

        def cond(st):
            lo, hi = st
            return lo < hi

        def body(st):
            lo, hi = st
            mid = xp.floor((lo + hi) * 0.5)
            _, H, _ = self.line(f, mid)
            ok = H - 1.0 >= rank
            return xp.where(ok, lo, mid + 1.0), xp.where(ok, mid, hi)

        lo, _ = _loop(xp, cond, body, (t0, t1 + 1.0))
        return lo


class _Stationary:
    """Row-major stationary operand (ws filter / is ifmap, systolic_compute_*.create_*_prefetch_mat
    without unrolling): column-fold blocks of ``Sr`` rows x ``C`` (last ``cu_l``) words stacked; a
    fold (j = f // fr, i = f % fr) demands rows ``i R .. i R + ru - 1`` of block j last row first,
    one row per line, from fold line ``R - ru`` (np.flip of the padded R-row block)."""

    def __init__(self, xp, Sr, C, R, fr, fc, ru_l, cu_l):
        self.xp, self.Sr, self.C, self.R = xp, Sr, C, R
        self.fr, self.fc, self.ru_l, self.cu_l = fr, fc, ru_l, cu_l

    def _fold(self, f):
        xp = self.xp
        j, i = xp.floor(f / self.fr), xp.mod(f, self.fr)
        wj = xp.where(j == self.fc - 1, self.cu_l, self.C)
        ru = xp.where(i == self.fr - 1, self.ru_l, self.R)
        return j * self.Sr * self.C, wj, i, ru

    def nlines(self, f):
        return self._fold(f)[3]

    def line(self, f, t):
        base, wj, i, ru = self._fold(f)
        k = i * self.R + ru - 1.0 - t
        lo = base + k * wj
        return lo, lo + wj, self.R - ru + t

    def first_below(self, f, t0, t1, rank):
        """First line t in [t0, t1] whose first rank < rank (t1 + 1 if none)."""
        xp = self.xp
        base, wj, i, ru = self._fold(f)
        kst = xp.ceil((rank - base) / wj) - 1.0        # rows k <= kst start below `rank`
        t = i * self.R + ru - 1.0 - kst
        t = xp.maximum(t, t0)
        return xp.where(t <= t1, t, t1 + 1.0)


def _misses(xp, s, a, b, n, Wa, Wp):
    """read_buffer.service_reads / active_buffer_hit / new_prefetch on a line demanding the
    contiguous sets a..b in order: prefetches issued and the new window start."""
    u = xp.mod(a - s, n)
    m1 = xp.where(u >= Wa, xp.ceil((u - Wa + 1.0) / Wp), 0.0)
    s1 = xp.mod(s + m1 * Wp, n)
    u = xp.mod(b - s1, n)
    m2 = xp.where(u >= Wa, xp.ceil((u - Wa + 1.0) / Wp), 0.0)
    return m1 + m2, xp.mod(s1 + m2 * Wp, n)


def _chain_out(xp, c, k, m, per):
    """Served cycle of a line that issued m prefetches after k earlier ones (read_buffer.
    service_reads: offset += last - (cycle+offset), twice if positive; new_prefetch: last =
    -1 + k*per). out_j = lpc_j + max(0, lpc_j - out_{j-1}); from the second on the excess
    alternates e2, per - e2."""
    lpc1 = -1.0 + (k + 1.0) * per
    e1 = xp.maximum(0.0, lpc1 - (c + 1.0))
    e2 = xp.maximum(0.0, per - e1)
    em = xp.where(m <= 1.0, e1, xp.where(xp.mod(m, 2.0) == 0.0, e2, per - e2))
    return -1.0 + (k + m) * per + em


class OfmapArrivals:
    """Real OFMAP writes per global demand line (systolic_compute_*.create_ofmap_demand_mat:
    os (T-1)-row prefix + flipped R x C, ws/is (2R-1)-row prefix + T x C, skewed; folds column
    fold outer, row fold inner). xp twin of _exact._ramp_spec("ofmap") / _fold_cum /
    _stream_row, in float64."""

    def __init__(self, xp, is_os, R, C, T, Sr, fr, fc, ru_l, cu_l, L, F):
        self.xp, self.is_os, self.R, self.C, self.T = xp, is_os, R, C, T
        self.Sr, self.fr, self.fc, self.ru_l, self.cu_l, self.L, self.F = Sr, fr, fc, ru_l, cu_l, L, F
        sel = lambda a, b: _sel_static(xp, is_os, a, b)
        self.colsum = sel(Sr, fr * T)                        # words of one column fold per column
        self.n = sel(Sr * (fc - 1.0) * C + Sr * cu_l, fr * T * ((fc - 1.0) * C + cu_l))

    def before(self, t):
        """Real writes in global demand lines < t (0 <= t <= F*L)."""
        xp = self.xp
        sel = lambda a, b: _sel_static(xp, self.is_os, a, b)
        t = xp.clip(t, 0.0, self.F * self.L)
        f = xp.minimum(xp.floor(t / self.L), self.F - 1.0)
        x = t - f * self.L
        jc, jr = xp.floor(f / self.fr), xp.mod(f, self.fr)
        cu = xp.where(jc == self.fc - 1.0, self.cu_l, self.C)
        ru = xp.where(jr == self.fr - 1.0, self.ru_l, self.R)
        h = sel(ru, self.T)                                  # _ramp_spec("ofmap"): run length
        h0 = sel(self.R, self.T)                             # earlier row folds are full
        s0 = sel(self.T - 1.0 + self.R - ru, 2.0 * self.R - 1.0)   # first real row of the fold
        y = x - s0
        # _fold_cum: sum of the skewed column ramps, clipped at h
        infold = _ramp(xp, y, 0.0, cu) - _ramp(xp, y - h, 0.0, cu)
        return jc * self.C * self.colsum + jr * cu * h0 + infold

    def row(self, e):
        """Global demand line of the e-th (1-based) real write: _exact._stream_row
        (fold by division) with _fold_row's ramp inverse in closed form (sqrt + one-step fixes)."""
        xp = self.xp
        sel = lambda a, b: _sel_static(xp, self.is_os, a, b)
        jc = xp.minimum(xp.floor((e - 1.0) / (self.C * self.colsum)), self.fc - 1.0)
        e1 = e - jc * self.C * self.colsum
        cu = xp.where(jc == self.fc - 1.0, self.cu_l, self.C)
        h0 = sel(self.R, self.T)
        jr = xp.minimum(xp.floor((e1 - 1.0) / (cu * h0)), self.fr - 1.0)
        k = e1 - jr * cu * h0
        ru = xp.where(jr == self.fr - 1.0, self.ru_l, self.R)
        n, h = cu, sel(ru, self.T)
        s0 = sel(self.T - 1.0 + self.R - ru, 2.0 * self.R - 1.0)
        a_, b_ = xp.minimum(n, h), xp.maximum(n, h)
        tri = lambda z: z * (z + 1.0) * 0.5
        # smallest y with cum(y) >= k; cum = sum_{c<n} clip(y - c, 0, h) (_fold_cum)
        y1 = xp.ceil((xp.sqrt(8.0 * k + 1.0) - 1.0) * 0.5)                  # y <= min(n, h)
        y2 = xp.where(n <= h, xp.ceil((k + tri(n - 1.0)) / n),
                      h + xp.ceil((k - tri(h)) / h))                        # between
        z3 = xp.floor((xp.sqrt(8.0 * xp.maximum(n * h - k, 0.0) + 1.0) - 1.0) * 0.5)
        y3 = n + h - 1.0 - z3                                               # y >= max(n, h)
        y = xp.where(k <= tri(a_), y1, xp.where(k <= self._cum(b_, n, h), y2, y3))
        y = xp.where(self._cum(y, n, h) < k, y + 1.0, y)
        y = xp.where(self._cum(y - 1.0, n, h) >= k, y - 1.0, y)
        return (jc * self.fr + jr) * self.L + s0 + y - 1.0

    def _cum(self, y, n, h):
        xp = self.xp
        return _ramp(xp, y, 0.0, n) - _ramp(xp, y - h, 0.0, n)


def _sel_static(xp, c, a, b):
    import numpy as np
    if isinstance(c, (bool, np.bool_)) or (isinstance(c, np.ndarray) and c.ndim == 0):
        return a if bool(c) else b
    return xp.where(c, a, b)


_INF = float("inf")   # empty segment slot / no drain yet
_NSLOT = 4   # pending drain-line segments tracked (write_buffer trace_matrix partial lines)


def read_buffer_events(xp, ops, F, L, wb=None, probes=(), *, max_iter=None, resume=None):
    """Runs the miss-line (and write-buffer event) recurrence.

    Args:
      ops: two dicts (ifmap, filter) with ``geo`` (_Stream/_Stationary), ``eps, n, Wa, Wp, per``
        and ``fits`` (no new_prefetch ever).
      F, L: folds and lines per fold.
      wb: OFMAP write buffer: dict with ``arr`` (:class:`OfmapArrivals`), ``D`` (drain_buf_size),
        ``Stot`` (total_size_elems), ``bw`` (Bandwidth), ``q`` (ceil(D/bw)); or None.
      probes: (line, operand 0/1/2) pairs: demand lines whose served cycle is wanted (SRAM
        start/stop); returns the stall added before that line plus the operand's own stall on it.
      max_iter: stop after this many loop rounds (None: run to the end); ``active`` in the result
        marks lanes not finished yet.
      resume: ``(state, fresh)``: continue from ``state`` (a :func:`loop_state` of an earlier
        call with the same inputs on each lane) except where the bool mask ``fresh`` is set.

    Returns: dict with ``k0, k1`` (prefetch counts), ``S`` (total stall), ``probe`` (list), and
      the write-buffer state (``w_*``) after the last demand line; with ``max_iter``, ``active``.
    """
    zero = xp.zeros_like(F)
    big = 4.0 * F * L + 4.0
    if wb is not None:
        arr, D, Stot, bwo, qd = wb["arr"], wb["D"], wb["Stot"], wb["bw"], wb["q"]
        n_of = arr.n

    def op_next(o, f, t, s):
        """Next miss of one operand in fold f from line t: (found, line t*, m, new s)."""
        geo, eps, n, Wa, Wp = o["geo"], o["eps"], o["n"], o["Wa"], o["Wp"]
        nl = geo.nlines(f)
        # first line of the fold: any jump (backward = a lap) handled by the modular rule
        lo0, H0, _ = geo.line(f, zero)
        m0, _ = _misses(xp, s, xp.floor(lo0 / eps), xp.floor((H0 - 1.0) / eps), n, Wa, Wp)
        miss0 = (t == 0.0) & (m0 > 0)
        # afterwards the walk is monotone: window = unrolled [s_u, s_u + Wa) around the last set
        r = xp.maximum(t - 1.0, 0.0)
        lor, Hr, _ = geo.line(f, r)
        x = xp.floor((Hr - 1.0) / eps)
        s_u = x - xp.mod(x - s, n)
        t0 = xp.maximum(t, 1.0)
        t1 = nl - 1.0
        tn = geo.search(f, t0, t1, s_u, Wa, eps)
        tm = xp.where(miss0, 0.0, tn)
        found = miss0 | (tm <= t1)
        tm = xp.minimum(tm, t1)
        lo, H, fl = geo.line(f, tm)
        m, s_new = _misses(xp, s, xp.floor(lo / eps), xp.floor((H - 1.0) / eps), n, Wa, Wp)
        found = found & (m > 0)
        return found, tm, fl, m, s_new

    def w_next(st):
        """write_buffer.service_writes: next line with a drain trigger (occupancy > D at a cycle
        >= drain_end_cycle) or a stall (buffer full while a drain is in progress)."""
        S = st["S"]
        e_occ = st["wfreed"] + D + 1.0                      # free_space < active_buf_size
        t_c = xp.clip(xp.maximum(st["wt"], st["wdend"] - S), 0.0, F * L)
        e_trig = xp.maximum(e_occ, arr.before(t_c) + 1.0)   # first write at cycle >= drain_end
        e_s = st["wfreed"] + Stot                            # free_space reaches 0
        # (a stall already served on an earlier line waits for the next trigger)
        stall = (e_s < e_trig) & (e_s <= n_of) & ~st["wsp"]
        trig = ~stall & (e_trig <= n_of)
        e_ev = xp.where(stall, e_s, e_trig)
        W = xp.where(stall | trig, arr.row(xp.clip(e_ev, 1.0, n_of)), big)
        return W, stall, trig, e_s, e_trig

    def drain(st, new, on, e, cyc):
        """append_to_trace_mat(force) of writes up to e, then empty_drain_buf at cycle cyc."""
        s = e - st["wlastf"]
        nl_new = xp.ceil(s / bwo)                            # forced partial line closes segment
        lines = st["wlines"] + nl_new
        pad = nl_new * bwo - s
        placed = xp.zeros_like(on)
        slots = []
        for k in range(_NSLOT):
            empty = st[f"se{k}"] == _INF
            put = on & empty & ~placed
            placed = placed | put
            slots.append((xp.where(put, lines, st[f"se{k}"]), xp.where(put, pad, st[f"pd{k}"])))
        new["wovf"] = st["wovf"] | (on & ~placed)
        nl = xp.minimum(qd, lines - st["wptr"])              # empty_drain_buf: lines_to_fill_dbuf
        end = st["wptr"] + nl
        pad_end = zero
        for se, pd in slots:                                 # -1 padding of the drain's last line
            pad_end = pad_end + xp.where(se == end, pd, 0.0)
        cnt = nl * bwo - pad_end                             # data_sz_to_drain
        for k, (se, pd) in enumerate(slots):
            gone = on & (se <= end)
            new[f"se{k}"] = xp.where(gone, _INF, se)
            new[f"pd{k}"] = xp.where(gone, 0.0, pd)
        new["wlines"] = xp.where(on, lines, st["wlines"])
        new["wlastf"] = xp.where(on, e, st["wlastf"])
        new["wptr"] = xp.where(on, end, st["wptr"])
        # free_space += data_sz_to_drain; num_access += the same (so freed == DRAM writes)
        new["wfreed"] = xp.where(on, st["wfreed"] + cnt, st["wfreed"])
        dend = cyc + nl - 1.0                                # write_port latency 0
        new["wdend"] = xp.where(on, dend, st["wdend"])
        new["wstart"] = xp.where(on, xp.minimum(st["wstart"], cyc), st["wstart"])

    def cond(st):
        c = ~(st["done0"] & st["done1"])
        if wb is not None:
            c = c | ~st["wdone"]
        return c

    def body(st):
        nxt = []
        for j, o in enumerate(ops):
            found, tm, fl, m, s_new = op_next(o, st[f"f{j}"], st[f"t{j}"], st[f"s{j}"])
            active = ~st[f"done{j}"]
            g = xp.where(active & found, st[f"f{j}"] * L + fl, big)
            nxt.append((found, tm, m, s_new, g, active))
        # operands whose current fold has no further miss move to their next fold first
        adv = [a & ~fd for (fd, _, _, _, _, a) in nxt]
        E = xp.minimum(nxt[0][4], nxt[1][4])
        # an advancing operand cannot miss before its next fold: events before it are safe
        safe = big
        for j in range(2):
            safe = xp.minimum(safe, xp.where(adv[j], (st[f"f{j}"] + 1.0) * L, big))
        any_adv = (E >= safe) & (safe < big)
        if wb is not None:
            W, wstall, wtrig, e_s, e_trig = w_next(st)
            E = xp.where(any_adv, E, xp.minimum(E, W))
        new = dict(st)
        S = st["S"]
        c = E + S
        stall = zero
        outs = []
        own = []
        for j, o in enumerate(ops):
            found, tm, m, s_new, g, active = nxt[j]
            hit_now = ~any_adv & (g == E) & (g < big)
            out = _chain_out(xp, c, st[f"k{j}"], m, o["per"])
            oj = xp.where(hit_now, out - c - 1.0, 0.0)
            own.append(oj)
            stall = xp.maximum(stall, oj)
            outs.append(hit_now)
            new[f"s{j}"] = xp.where(hit_now, s_new, st[f"s{j}"])
            new[f"k{j}"] = xp.where(hit_now, st[f"k{j}"] + m, st[f"k{j}"])
            new[f"t{j}"] = xp.where(hit_now, tm + 1.0, xp.where(adv[j], 0.0, st[f"t{j}"]))
            nf = xp.where(adv[j], st[f"f{j}"] + 1.0, st[f"f{j}"])
            new[f"f{j}"] = nf
            new[f"done{j}"] = st[f"done{j}"] | (nf >= F)
        ev = ~any_adv & (E < big)
        if wb is not None:
            w_now = ~any_adv & (W == E) & (W < big)
            # service_writes: a full buffer waits for drain_end_cycle (offset += drain_end - cycle)
            w = xp.where(w_now & wstall, st["wdend"] - c, 0.0)
            own.append(w)
            stall = xp.maximum(stall, w)
            # after the stall the next write of the same line triggers a drain at drain_end_cycle
            e2 = e_s + 1.0
            same = wstall & (e2 <= n_of) & (arr.before(W + 1.0) >= e2)
            on = w_now & (wtrig | same)
            drain(st, new, on, xp.where(wstall, e2, e_trig), xp.where(wstall, st["wdend"], c))
            new["wsp"] = xp.where(on, False, st["wsp"] | (w_now & wstall))
            # every write of lines <= E has been served at its own cycle (E + S before the stall)
            new["wt"] = xp.where(ev, E + 1.0, st["wt"])
            rd_done = new["done0"] & new["done1"]
            new["wdone"] = st["wdone"] | (rd_done & ~w_now & (W >= big) & ~ev)
        else:
            own.append(zero)
        # double_buffered_scratchpad.service_memory_requests: stall += max over operands
        S_new = S + stall
        new["S"] = S_new
        for p, (P, j) in enumerate(probes):
            # stall before line P (events come in line order), plus the operand's own on it
            new[f"p{p}"] = xp.where(ev & (E < P), S_new,
                                    xp.where(ev & (E == P), S + own[j], st[f"p{p}"]))
        return new

    st = {"S": zero}
    for j, o in enumerate(ops):
        st.update({f"f{j}": zero, f"t{j}": zero, f"s{j}": zero, f"k{j}": zero,
                   f"done{j}": o["fits"] | (F <= 0)})
    for p in range(len(probes)):
        st[f"p{p}"] = zero
    if wb is not None:
        st.update({"wt": zero, "wfreed": zero, "wdend": zero, "wlines": zero, "wptr": zero,
                   "wlastf": zero, "wstart": zero + _INF, "wsp": zero > 1.0,
                   "wdone": zero > 1.0, "wovf": zero > 1.0})
        st.update({f"se{k}": zero + _INF for k in range(_NSLOT)})
        st.update({f"pd{k}": zero for k in range(_NSLOT)})
    if resume is not None:
        state, fresh = resume
        st = {k: xp.where(fresh, v, state[k]) for k, v in st.items()}
    st = _loop(xp, cond, body, st, max_iter)
    if max_iter is not None:
        st["active"] = cond(st)
    st["probe"] = [st[f"p{p}"] for p in range(len(probes))]
    return st


def final_flush(xp, st, arr, bw, q, cyc):
    """write_buffer.empty_all_buffers(cycle): force the last partial line, then drain the pending
    lines in ceil(D/bw)-line chunks back to back from ``cyc``. Returns (start, stop, writes)."""
    s = arr.n - st["wlastf"]
    nl_new = xp.where(s > 0, xp.ceil(s / bw), 0.0)          # append_to_trace_mat(force=True)
    lines = st["wlines"] + nl_new
    pend = lines - st["wptr"]
    pad_last = xp.where(s > 0, nl_new * bw - s, 0.0)
    # each chunk's last line drops its -1 padding (empty_drain_buf): chunk ends ptr + k*q, lines
    pad = xp.where(pend > 0, pad_last, 0.0)
    for k in range(_NSLOT):
        se, pd = st[f"se{k}"], st[f"pd{k}"]
        sef = xp.where(se < _INF, se, st["wptr"])
        hit = (se < _INF) & (se > st["wptr"]) & ((xp.mod(sef - st["wptr"], q) == 0.0) | (se == lines))
        pad = pad + xp.where(hit & ~((s > 0) & (se == lines)), pd, 0.0)
    writes = st["wfreed"] + pend * bw - pad
    start = xp.where(pend > 0, xp.minimum(st["wstart"], cyc), st["wstart"])
    # in-compute drains start at or after the previous drain_end_cycle: the last ends last
    stop = xp.where(pend > 0, xp.maximum(st["wdend"], cyc + pend - 1.0), st["wdend"])
    return start, stop, writes
