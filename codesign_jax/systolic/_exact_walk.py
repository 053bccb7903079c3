"""Exact CALC read-buffer epochs of a convolution ifmap, walked over a tiled demand stream.

read_buffer_estimate_bw.manage_prefetches / check_hit, as in :func:`_exact_reads._epoch_chain`:
an epoch starting at stream position x (empty hit window) ends at the E-th demand whose previous
demand of the same address lies before x; DRAM reads are the misses. The stream (``passes``
repeats of a pass, :class:`~codesign_jax.systolic._exact_tiles._Stream`) is never materialised:
the walk reads per-tile reuse distances (:mod:`~codesign_jax.systolic._exact_reuse`, computed
once per translation class) and

* jumps over stretches with no reuse distance below E (every epoch there is exactly E long),
  whole runs of equal tiles and whole passes at a time, and skips whole passes once an epoch
  start recurs at the same offset of a pass;
* counts the new demands of [x, q] as the *short* repeats (reuse distance < theta) straddling x
  plus the *long* demands in [x, q]: exact when q >= x + theta - 1, when every long demand
  found in its tile's context has its previous demand before x, and when every far demand is
  new (:meth:`_Walker.far_ok`: its previous demand precedes x or the tile's context, lies at
  least the far gap back, or lies in an earlier super-fold whose pixels in the epoch are too
  far apart to share an element);
* otherwise walks the epoch's reuse distances explicitly (raising theta past the longest hit),
  or, when far demands cannot be vouched for, counts distinct addresses from x.

Each step costs a few array look-ups per tile crossed; memory is bounded by the tile cache, E
and the tile size, never by the ifmap.
"""

from __future__ import annotations

import numpy as np

from codesign_jax.systolic._exact_ramps import _I
from codesign_jax.systolic._exact_reuse import (_FAR, _TileCache, _range_max, _reaches, _unseen,
                                                context_tiles)
from codesign_jax.systolic._exact_tiles import TILE_TARGET, _Stream

class _Walker:
    def __init__(self, st, E, passes, ctx, gap=None):
        self.st, self.E, self.P = st, E, passes
        self.ctx = ctx                                   # context tiles per super-fold
        # far entries: no earlier demand in the super-fold (span), or one >= gap positions back
        self.span = [st.trivial(s) or c >= st.ctx_for_span(s) for s, c in enumerate(ctx)]
        self.gap = gap or [0] * st.n_sf
        self.tiles = _TileCache(st, E, ctx)
        self.theta = None
        self.stats = {}
        self._bok = {}
        self._build_runs()

    def _count(self, what):
        self.stats[what] = self.stats.get(what, 0) + 1

    # --- layout ----------------------------------------------------------------------------
    def _build_runs(self):
        """Per super-fold, runs of consecutive tiles with one key: first tile j0 [r], tiles nt
        [r], real demands per tile ne [r], start offset [r + 1] in the super-fold, keys [r]."""
        st = self.st
        self.runs = []
        sf_len = []
        for sf in range(st.n_sf):
            kind, a, n, cnt = st.table(sf, self.ctx[sf])
            j = np.arange(kind.size, dtype=_I)
            c = np.minimum(self.ctx[sf], j)
            new = np.ones(kind.size, bool)
            new[1:] = ((kind[1:] != kind[:-1]) | (a[1:] != a[:-1]) | (n[1:] != n[:-1])
                       | (c[1:] != c[:-1]))
            j0 = np.flatnonzero(new).astype(_I)
            nt = np.diff(np.append(j0, kind.size))
            ne = cnt[j0]
            start = np.concatenate([[0], np.cumsum(nt * ne)])
            keys = [st.key(sf, int(i), int(c[i])) for i in j0]
            self.runs.append((j0, nt, ne, start, keys))
            sf_len.append(int(start[-1]))
        self.sf_start = np.concatenate([[0], np.cumsum(sf_len)]).astype(_I)
        self.Lpass = int(self.sf_start[-1])
        self.N = self.Lpass * self.P

    def locate(self, x):
        """(pass, sf, run, tile j, global start of tile j, offset of x in it)."""
        p, o = divmod(x, self.Lpass)
        sf = int(np.searchsorted(self.sf_start, o, side="right")) - 1
        j0, nt, ne, start, _ = self.runs[sf]
        o -= int(self.sf_start[sf])
        r = int(np.searchsorted(start, o, side="right")) - 1
        dj, off = divmod(o - int(start[r]), int(ne[r]))
        return p, sf, r, int(j0[r]) + dj, x - off, off

    def tile_start(self, p, sf, j):
        j0, nt, ne, start, _ = self.runs[sf]
        r = int(np.searchsorted(j0, j, side="right")) - 1
        return (p * self.Lpass + int(self.sf_start[sf]) + int(start[r])
                + (j - int(j0[r])) * int(ne[r]))

    def guard(self, p, sf, j):
        """Far entries of tile j have their previous demand before this position; when it is the
        super-fold's start, they have none in the super-fold at all."""
        c = self.ctx[sf]
        if self.span[sf] or j < c:
            return p * self.Lpass + int(self.sf_start[sf])
        return self.tile_start(p, sf, j - c)

    def segments(self, x):
        """Runs from x on: (pass, sf, run, first tile j, its global start, offset of x in it)."""
        p, sf, r, j, ts, off = self.locate(x)
        while p < self.P:
            j0, nt, ne, start, _ = self.runs[sf]
            while r < len(j0):
                if ne[r]:                       # runs of empty tiles hold no position
                    yield p, sf, r, j, ts, off
                ts += (int(j0[r]) + int(nt[r]) - j) * int(ne[r])
                r, off = r + 1, 0
                if r < len(j0):
                    j = int(j0[r])
            sf, r = sf + 1, 0
            if sf == self.st.n_sf:
                p, sf = p + 1, 0
            if p < self.P:
                j = int(self.runs[sf][0][0])

    # --- per-tile arrays ---------------------------------------------------------------------
    def coverage(self, x):
        """Short repeats straddling x: short entries i >= x whose previous demand precedes x
        (previous demands of short entries are found in the same super-fold)."""
        c, first = 0, True
        for p, sf, r, j, ts, off in self.segments(x):
            j0, nt, ne, start, keys = self.runs[sf]
            if not first and (p, sf) != (p0, sf0):
                break
            t = self.tiles.get(sf, j, keys[r])
            if first:
                p0, sf0, first = p, sf, False
                if t.dist is not None:
                    c += int(self.tiles.longs(t, self.theta).cov[off])
                ts += int(ne[r])
                j += 1
            while j < int(j0[r] + nt[r]) and ts - x < self.theta:
                if t.dist is not None and self.tiles.summary(t, self.theta).back.size:
                    c += int(np.searchsorted(t.back, x - ts, side="left"))
                ts += int(ne[r])
                j += 1
            if ts - x >= self.theta:
                break
        return c

    def dist_slice(self, x, n):
        """Reuse distances of positions [x, x + n) (n small: a few tiles)."""
        out, got = [], 0
        for p, sf, r, j, ts, off in self.segments(x):
            ne, jend = int(self.runs[sf][2][r]), int(self.runs[sf][0][r] + self.runs[sf][1][r])
            while j < jend and got < n:
                t = self.tiles.get(sf, j)
                m = min(t.n - off, n - got)
                out.append(np.full(m, _FAR) if t.dist is None else t.dist[off:off + m])
                got += m
                j, off = j + 1, 0
            if got >= n:
                break
            del ne
        return np.concatenate(out) if out else np.empty(0, _I)

    # --- guarantees --------------------------------------------------------------------------
    def far_ok(self, x, q):
        """Every far entry in [x, q] is new for an epoch starting at x."""
        parts = []          # (pass, sf, min pixel, max pixel) of each super-fold in [x, q]
        for p, sf, r, j, ts, off in self.segments(x):
            if ts > q:
                break
            j0, nt, ne, start, _ = self.runs[sf]
            jl = min(int(j0[r] + nt[r]) - 1, j + (q - ts) // int(ne[r]))   # last tile <= q
            g = self.guard(p, sf, jl)
            sf0 = p * self.Lpass + int(self.sf_start[sf])
            # far entries are new if their previous demand is before x, in an earlier
            # super-fold (checked below), or at least gap positions back
            if g > x and g != sf0 and q - x >= self.gap[sf]:
                return False
            lo, hi = self.st.pixels(sf, j)[0], self.st.pixels(sf, jl)[1] - 1
            if parts and tuple(parts[-1][:2]) == (p, sf):
                parts[-1][2], parts[-1][3] = min(parts[-1][2], lo), max(parts[-1][3], hi)
            else:
                parts.append([p, sf, lo, hi])
        for a in range(len(parts)):
            for b in range(a + 1, len(parts)):
                if not self.st.disjoint(parts[a][1], parts[a][2], parts[b][1], parts[b][3]):
                    return False
        return True

    # --- the walk ----------------------------------------------------------------------------
    def boundary_ok(self, p, sf):
        """No element is read both within E positions before the start of super-fold (p, sf) and
        within E positions after it (the previous super-fold's tail, this one's head)."""
        key = ("b", sf if p == 0 or sf else -1)
        if key in self._bok:
            return self._bok[key]
        E, s0 = self.E, p * self.Lpass + int(self.sf_start[sf])
        lens = np.diff(self.sf_start)
        ok = s0 > 0 and bool(lens.min() >= 2 * E)
        if ok:
            pa, sa, _, ja, _, _ = self.locate(s0 - E)
            _, _, _, jb, _, _ = self.locate(s0 + E - 1)
            ok = self.st.disjoint(sa, self.st.pixels(sa, ja)[0], sf, self.st.pixels(sf, jb)[1] - 1)
        self._bok[key] = ok
        return ok

    def clear(self, x):
        """Positions from x before the first entry that may be re-demanded within E positions
        (every epoch in between is exactly E long)."""
        E = self.E
        for p, sf, r, j, ts, off in self.segments(x):
            j0, nt, ne, start, keys = self.runs[sf]
            if r == 0 and j == int(j0[0]) and ts > x and not self.boundary_ok(p, sf):
                return ts - x
            t = self.tiles.get(sf, j, keys[r])
            g = self.guard(p, sf, j)
            if g != p * self.Lpass + int(self.sf_start[sf]) and ts - g < E and self.gap[sf] < E:
                return max(ts - x, 0)   # far entries here might lie within E: no jump
            if t.bad.size:
                i = int(np.searchsorted(t.bad, off))
                if i < t.bad.size:
                    return ts + int(t.bad[i]) - x
                if int(nt[r]) + int(j0[r]) - j > 1:     # the run's next tile: its first bad
                    return ts + t.n + int(t.bad[0]) - x
        return self.N - x

    def find_long(self, y, need, x):
        """Position of the need-th long entry at or after y, checking that every found long
        entry up to it has its previous demand before x: (q, 0, ok), or (None, count, ok) when
        the stream ends first."""
        got = 0
        for p, sf, r, j, ts, off in self.segments(y):
            j0, nt, ne, start, keys = self.runs[sf]
            t = self.tiles.summary(self.tiles.get(sf, j, keys[r]), self.theta)
            n_e, jend = int(ne[r]), int(j0[r] + nt[r])
            triv = t.dist is None
            nl = n_e if triv else t.nlong
            while j < jend:
                if off:                             # the first tile, from an offset
                    if triv:
                        here = n_e - off
                    else:
                        self.tiles.longs(t, self.theta)
                        here = int(t.lc[-1] - t.lc[off])
                else:
                    here = nl
                if got + here >= need:              # the last tile
                    k = need - got
                    if triv:
                        return ts + off + k - 1, 0, True
                    self.tiles.longs(t, self.theta)
                    w = int(np.searchsorted(t.lc, t.lc[off] + k)) - 1
                    if _reaches(ts, _range_max(t, off, w), x):
                        return None, 0, False
                    return ts + w, 0, True
                if not triv and _reaches(ts, int(t.smax[off]) if off else t.maxp, x):
                    return None, 0, False
                got += here
                j, ts, off = j + 1, ts + n_e, 0
                k = min(jend - j - 1, (need - got - 1) // nl if nl else jend)
                if k > 0:                           # whole tiles of the run at once
                    if not triv and _reaches(ts + (k - 1) * n_e, t.maxp, x):
                        return None, 0, False
                    got += k * nl
                    j, ts = j + k, ts + k * n_e
        return None, got, True

    def epoch_end(self, x):
        """(q, None): the epoch from x ends at q; (None, n): the stream ends after n new entries.

        New entries of [x, q] = short repeats straddling x (:meth:`coverage`) + long entries in
        [x, q], exact when every found long entry there has its previous demand before x, far
        entries are new (:meth:`far_ok`), and q reaches past every short entry straddling x
        (q >= x + theta - 1). Otherwise, or when the epoch is shorter than theta: explicit.
        """
        E = self.E
        if self.theta is not None:
            cov = self.coverage(x)
            if cov < E:
                q, cnt, ok = self.find_long(x, E - cov, x)
                if ok and q is not None and q >= x + self.theta - 1 and self.far_ok(x, q):
                    self._count("coverage")
                    return q, None
                if ok and q is None and self.far_ok(x, self.N - 1):
                    self._count("coverage")
                    return None, cov + cnt
            n = min(self.theta, self.N - x)
            cs = np.cumsum(self.dist_slice(x, n) > np.arange(n))
            if n and cs[-1] >= E:
                q = x + int(np.searchsorted(cs, E))
                if self.far_ok(x, q):
                    self._count("explicit_part")
                    return q, None
        self._count("explicit")
        return self.explicit(x)

    def explicit(self, x, max_chunk=1 << 21):
        """Epoch from x over growing chunks of reuse distances, else by distinct addresses; theta
        becomes one past the longest reuse distance that hit inside the epoch."""
        E, have, y, maxhit = self.E, 0, x, 0
        chunk = max(4 * E, 1 << 16)
        q = None
        while y < self.N:
            n = min(chunk, self.N - y)
            d = self.dist_slice(y, n)
            hit = (d <= np.arange(y - x, y - x + n)) & (d < _FAR)
            cs = np.cumsum(~hit) + have
            if cs[-1] >= E:
                w = int(np.searchsorted(cs, E))
                q, hit = y + w, hit[:w + 1]
            if hit.any():
                maxhit = max(maxhit, int(d[:hit.size][hit].max()))
            if q is not None:
                break
            have, y, chunk = int(cs[-1]), y + n, min(2 * chunk, max_chunk)
        if not self.far_ok(x, q if q is not None else self.N - 1):
            self._count("direct")
            return self.direct(x)
        self.theta = max(self.theta or 1, maxhit + 1)
        return (q, None) if q is not None else (None, have)

    def direct(self, x):
        """Epoch from x by counting distinct addresses tile by tile (memory O(E + tile))."""
        seen = np.empty(0, _I)
        for p, sf, r, j, ts, off in self.segments(x):
            jend = int(self.runs[sf][0][r] + self.runs[sf][1][r])
            while j < jend:
                a = self.st.materialize(sf, j, j + 1)[0][off:]
                u, first = np.unique(a, return_index=True)
                new = _unseen(seen, u)
                fpos = np.sort(first[new])
                if seen.size + fpos.size >= self.E:
                    return ts + off + int(fpos[self.E - seen.size - 1]), None
                seen = np.union1d(seen, u[new])
                ts += a.size + off
                j, off = j + 1, 0
        return None, int(seen.size)

    def run(self, progress=None):
        """(misses, global position of the last epoch-completing miss or -1)."""
        x, ep, E, N = 0, 0, self.E, self.N
        seen = {} if self.P > 1 else None
        while True:
            if progress is not None:
                progress(x, N)
            if x >= N:
                return ep * E, (x - 1) if ep else -1
            if seen is not None:        # whole passes repeat once an epoch start recurs
                o = x % self.Lpass
                if o in seen:
                    ep0, x0 = seen[o]
                    k = (N - x) // (x - x0) - 1
                    if k > 0:
                        self._count("pass_period")
                        x, ep = x + k * (x - x0), ep + k * (ep - ep0)
                    seen = None
                    continue
                seen[o] = (ep, x)
            j = self.clear(x) // E
            if j > 0:
                self._count("jump")
                x, ep = x + j * E, ep + j
                continue
            q, cnt = self.epoch_end(x)
            if q is None:
                return ep * E + cnt, (x - 1) if ep else -1
            x, ep = q + 1, ep + 1

    def row(self, pos):
        """Demand row of global position pos (pass rows included)."""
        p, sf, r, j, ts, off = self.locate(pos)
        rows = self.st.materialize(sf, j, j + 1, addresses=False)[1]
        return p * self.st.pass_rows + self.st.row_base(sf, j) + int(rows[off])


def conv_ifmap_epochs(df, R, C, M, K, L, geo, E, passes, *, progress=None, target=None,
                      ctx=None):
    """(misses, demand row of the last epoch-completing miss or -1) of a conv ifmap, CALC mode.

    Args: dataflow, array R x C, GEMM M, K, rows per fold L, conv geometry (``(ew, eh, Fh, Fw,
    Ch, last_h, last_w, stride)``), epoch size E (words), passes of the ifmap stream;
    ``progress(x, N)`` is called as the walk advances. ``target``/``ctx`` override the tile
    size and context tiles (tests).
    """
    st = _Stream(df, R, C, M, K, L, geo, target or TILE_TARGET)
    ctx, gap = context_tiles(st, E) if ctx is None else (ctx, None)
    w = _Walker(st, E, passes, ctx, gap)
    misses, pos = w.run(progress)
    return misses, (w.row(pos) if pos >= 0 else -1)
