"""Exact event recurrence of SCALE-Sim 3.0.0's USER-mode read buffers (see _systolic_user doc).

The loop runs over *miss lines*: demand lines at which the ifmap or filter read buffer calls
``read_buffer.new_prefetch``. Between two such lines nothing that SCALE-Sim reports changes
(hits cost nothing), so each iteration jumps, in closed form, to the next line at which either
operand's demanded set leaves its active window, or moves an operand's cursor to its next fold
when the rest of its current fold cannot miss. The carry holds, per operand, the fold cursor,
the demand-line cursor, the window start ``s`` (set index, mod ``n``) and the prefetch count
``k``; and the stall total ``S``.

The body is written once against ``xp`` (numpy or jax.numpy); :func:`_loop` runs it as a Python
loop (numpy reference) or ``jax.lax.while_loop`` (jit), so both give identical integers.
"""

from __future__ import annotations

__all__ = ["read_buffer_events"]


def _loop(xp, cond, body, state):
    """while any(cond(state)): state = body(state) -- numpy loop or lax.while_loop."""
    if xp.__name__ == "numpy":
        while bool(xp.any(cond(state))):
            state = body(state)
        return state
    import jax
    return jax.lax.while_loop(lambda s: xp.any(cond(s)), body, state)


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


def read_buffer_events(xp, ops, F, L):
    """Runs the miss-line recurrence.

    Args:
      ops: two dicts (ifmap, filter) with ``geo`` (_Stream/_Stationary), ``eps, n, Wa, Wp, per``
        and ``fits`` (no new_prefetch ever).
      F, L: folds and lines per fold.

    Returns: (k_ifmap, k_filter, S, S_last_if, S_last_fl): prefetch counts, total stall and the
      stall accumulated before each operand's last miss line (for the SRAM stop cycles).
    """
    zero = xp.zeros_like(F)
    big = 4.0 * F * L + 4.0

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

    def cond(st):
        return ~(st["done0"] & st["done1"])

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
        any_adv = E >= safe
        new = dict(st)
        S = st["S"]
        c = E + S
        stall = zero
        outs = []
        for j, o in enumerate(ops):
            found, tm, m, s_new, g, active = nxt[j]
            hit_now = ~any_adv & (g == E) & (g < big)
            out = _chain_out(xp, c, st[f"k{j}"], m, o["per"])
            stall = xp.maximum(stall, xp.where(hit_now, out - c - 1.0, 0.0))
            outs.append(hit_now)
            new[f"s{j}"] = xp.where(hit_now, s_new, st[f"s{j}"])
            new[f"k{j}"] = xp.where(hit_now, st[f"k{j}"] + m, st[f"k{j}"])
            new[f"t{j}"] = xp.where(hit_now, tm + 1.0, xp.where(adv[j], 0.0, st[f"t{j}"]))
            nf = xp.where(adv[j], st[f"f{j}"] + 1.0, st[f"f{j}"])
            new[f"f{j}"] = nf
            new[f"done{j}"] = st[f"done{j}"] | (nf >= F)
        # double_buffered_scratchpad.service_memory_requests: stall += max over operands
        new["S"] = S + stall
        for j in range(2):
            new[f"Sl{j}"] = xp.where(outs[j], S, st[f"Sl{j}"])
        return new

    st = {"S": zero, "Sl0": zero, "Sl1": zero}
    for j, o in enumerate(ops):
        st.update({f"f{j}": zero, f"t{j}": zero, f"s{j}": zero, f"k{j}": zero,
                   f"done{j}": o["fits"] | (F <= 0)})
    st = _loop(xp, cond, body, st)
    return st["k0"], st["k1"], st["S"], st["Sl0"], st["Sl1"]
