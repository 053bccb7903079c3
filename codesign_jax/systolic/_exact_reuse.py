"""Reuse distances of a tiled conv ifmap stream, per translation class of tile.

A tile's *reuse distance* array holds, for each real demand, the distance back to the previous
demand of the same address when that lies in the tile or its ``ctx`` context tiles, else *far*
(:data:`_FAR`). Tiles with equal :meth:`~codesign_jax.systolic._exact_tiles._Stream.key` have
equal arrays, so they are computed once (consecutive missing tiles share one materialised
window) and cached under a byte budget. Per reuse-distance threshold ``theta`` a tile also
carries a summary (long-entry count, the latest previous demand of a found long entry, the
short entries reaching before it) and, only where an epoch starts or ends, per-offset arrays.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from codesign_jax.systolic._exact_ramps import _I

_J = np.int32                        # per-tile arrays: offsets and distances inside a window
_FAR = np.iinfo(_J).max              # reuse distance of a demand not found in its context
_NEG = np.iinfo(_J).min
_NONE = np.empty(0, _J)
#: Bytes of cached per-tile arrays kept at once (least recently used are dropped).
CACHE_BYTES = 256 << 20
#: Entries of one materialised window of consecutive tiles (context included).
BATCH_ENTRIES = 1 << 21


def _reaches(ts, rel, x):
    """A previous demand at offset rel of a tile starting at ts is at or after x (rel = _NEG:
    there is none)."""
    return rel != _NEG and ts + rel >= x


def _prev(addr):
    """Index of the previous equal address (-1: none), by one sort of (address, index) keys."""
    n = addr.size
    if n == 0:
        return np.empty(0, _I)
    lo = int(addr.min())
    bits = max(1, (n - 1).bit_length())
    if (int(addr.max()) - lo + 1).bit_length() + bits <= 62:
        key = ((addr - lo) << bits) | np.arange(n, dtype=_I)
        key.sort()
        idx, a = key & ((1 << bits) - 1), key >> bits
    else:
        idx = np.argsort(addr, kind="stable")
        a = addr[idx]
    same = a[1:] == a[:-1]
    prev = np.full(n, -1, _I)
    prev[idx[1:][same]] = idx[:-1][same]
    return prev


class _Tile:
    """Reuse data of one translation class of tile: real demands n; dist [n] int32 (None: no
    repeat inside the super-fold); bad: offsets with dist < E; per theta (:meth:`_TileCache.
    summary`, :meth:`_TileCache.longs`): nlong, maxp, back and, once needed, lc, cov, pmax,
    smax; nbytes: what the arrays hold."""

    __slots__ = ("n", "dist", "bad", "theta", "nlong", "maxp", "back", "full", "lc", "cov",
                 "pmax", "smax", "nbytes")


class _TileCache:
    """Per-tile reuse data of a :class:`_Stream`, computed once per translation class (key) and
    kept under :data:`CACHE_BYTES` (least recently used first out)."""

    def __init__(self, st, E, ctx):
        self.st, self.E, self.ctx = st, E, ctx
        self.cache = OrderedDict()
        self.cache_bytes = 0

    def get(self, sf, j, key=None):
        key = key if key is not None else self.st.key(sf, j, min(self.ctx[sf], j))
        t = self.cache.get(key)
        if t is not None:
            self.cache.move_to_end(key)
            return t
        st, c = self.st, self.ctx[sf]
        if st.trivial(sf):          # no repeats inside: nothing to materialise
            t = _Tile()
            t.n, t.dist, t.bad, t.theta, t.full = st.count(sf, j), None, _NONE, None, None
            t.nbytes = 64
            self._put(key, t)
            return t
        # this tile and the next ones not cached yet share one materialised window
        js, keys = [j], [key]
        budget = BATCH_ENTRIES // max(1, _tile_len(st, sf))
        while len(js) + c < budget and js[-1] + 1 < st.n_tiles(sf):
            k = st.key(sf, js[-1] + 1, min(c, js[-1] + 1))
            if k in self.cache or k in keys:
                break
            js.append(js[-1] + 1)
            keys.append(k)
        tiles = self._compute(sf, js)
        for k, tt in zip(keys, tiles):
            self._put(k, tt)
        return tiles[0]

    def _compute(self, sf, js):
        """Per-tile arrays of consecutive tiles js of super-fold sf (one window for all)."""
        st, c, E = self.st, self.ctx[sf], self.E
        lo = js[0] - min(c, js[0])
        addr, _, cnt = st.materialize(sf, lo, js[-1] + 1)
        first = np.concatenate([[0], np.cumsum(cnt)])        # window index of each tile start
        prev = _prev(addr)
        del addr
        out = []
        for j in js:
            t = _Tile()
            a, b = int(first[j - lo]), int(first[j - lo + 1])
            cut = int(first[j - min(c, j) - lo])   # only previous demands in the tile's context
            pv = prev[a:b]
            t.dist = np.where(pv >= cut, np.arange(a, b, dtype=_I) - pv, _FAR).astype(_J)
            t.n = b - a
            t.bad = np.flatnonzero(t.dist < E).astype(_J)
            t.theta, t.full = None, None
            t.nbytes = t.dist.nbytes + t.bad.nbytes
            out.append(t)
        return out

    def _put(self, key, t):
        self.cache[key] = t
        self.cache_bytes += t.nbytes
        while self.cache_bytes > CACHE_BYTES and len(self.cache) > 1:
            _, old = self.cache.popitem(last=False)
            self.cache_bytes -= old.nbytes

    def summary(self, t, theta):
        """Per-theta summary of a tile: entries are *long* when their reuse distance is >= theta
        or far, *short* otherwise. nlong: long entries; maxp: the largest previous-demand offset
        of a found long entry (_NEG: none); back: sorted offsets (< 0) of the previous demands
        of short entries reaching before the tile."""
        if t.theta == theta or t.dist is None:
            return t
        lng = t.dist >= theta
        t.nlong = int(np.count_nonzero(lng))
        f = lng & (t.dist < _FAR)
        t.maxp = int((np.flatnonzero(f).astype(_J) - t.dist[f]).max()) if f.any() else int(_NEG)
        sh = np.flatnonzero(~lng).astype(_J)
        rel = sh - t.dist[sh]
        t.back = np.sort(rel[rel < 0])
        t.theta, t.full = theta, None
        self._resize(t)
        return t

    def longs(self, t, theta):
        """:meth:`summary` plus per-offset arrays: lc [n + 1] prefix counts of long entries; cov
        [n] short entries i >= off whose previous demand precedes off (short repeats straddling
        each offset); pmax / smax [n] prefix / suffix maxima of found long entries' previous-
        demand offsets."""
        self.summary(t, theta)
        if t.dist is None or t.full == theta:
            return t
        n = t.n
        off = np.arange(n, dtype=_J)
        lng = t.dist >= theta
        t.lc = np.concatenate([[0], np.cumsum(lng, dtype=_J)])
        sh = ~lng
        rel = off[sh] - t.dist[sh]
        d = np.bincount(np.maximum(rel + 1, 0), minlength=n + 1)[:n + 1] \
            - np.bincount(off[sh] + 1, minlength=n + 1)
        t.cov = np.cumsum(d[:n], dtype=_J)
        v = np.where(lng & (t.dist < _FAR), off - t.dist, _NEG).astype(_J)
        t.pmax = np.maximum.accumulate(v)
        t.smax = np.maximum.accumulate(v[::-1])[::-1]
        t.full = theta
        self._resize(t)
        return t

    def _resize(self, t):
        old = t.nbytes
        t.nbytes = t.dist.nbytes + t.bad.nbytes + t.back.nbytes + (
            0 if t.full is None else t.lc.nbytes + t.cov.nbytes + t.pmax.nbytes + t.smax.nbytes)
        self.cache_bytes += t.nbytes - old

def _range_max(t, a, b):
    """Max previous-demand offset of found long entries at offsets [a, b] of a tile."""
    if a == 0:
        return int(t.pmax[b])
    if b == t.n - 1:
        return int(t.smax[a])
    d = t.dist[a:b + 1]
    f = (d >= t.theta) & (d < _FAR)
    return int((np.arange(a, b + 1)[f] - d[f]).max()) if f.any() else int(_NEG)


def _unseen(seen, u):
    """Mask of the sorted unique values u that are not in the sorted array seen."""
    if seen.size == 0:
        return np.ones(u.size, bool)
    pos = np.searchsorted(seen, u)
    return (pos == seen.size) | (seen[np.minimum(pos, seen.size - 1)] != u)


def _tile_len(st, sf):
    """Nominal entries per tile of super-fold sf (before the -1 mask)."""
    if st.df == 0:
        return st.G * st.R * st.K
    if st.df == 2:
        return st.G * st.C * st.frn * st.R
    return st.steps(sf) * st.rf(sf)


def _first_epoch_len(st, sf, E, limit):
    """Entries of super-fold sf up to its first epoch end (distinct counting), or None when that
    is beyond ``limit`` entries or the super-fold."""
    seen, n = np.empty(0, _I), 0
    for j in range(st.n_tiles(sf)):
        a = st.materialize(sf, j, j + 1)[0]
        u, first = np.unique(a, return_index=True)
        new = _unseen(seen, u)
        if seen.size + int(new.sum()) >= E:
            return n + int(np.sort(first[new])[E - seen.size - 1]) + 1
        seen = np.union1d(seen, u[new])
        n += a.size
        if n > limit:
            return None
    return None


def context_tiles(st, E):
    """(context tiles per super-fold, far gap per super-fold).

    Trivial super-folds need none. os/is: the few tiles holding a tile's same-row neighbours
    when the cross-row reuse distance (:meth:`_Stream.far_gap`) exceeds twice a first epoch;
    otherwise, like ws, enough to find every earlier read in the super-fold (span), or, when
    that is much longer, twice a first epoch (and at least 2E) of context.
    """
    ctx, gap = [], []
    for sf in range(st.n_sf):
        cs = st.ctx_for_span(sf)
        tl = _tile_len(st, sf)
        if st.trivial(sf) or cs * tl <= 4 * E:
            ctx.append(0 if st.trivial(sf) else cs)
            gap.append(0)
            continue
        limit = max(cs * tl, st.far_gap())
        ell = max(_first_epoch_len(st, sf, E, limit) or limit, E)
        if st.far_gap() > 2 * ell:
            ctx.append(st.ctx_short())
            gap.append(st.far_gap())
        else:
            ctx.append(min(cs, -(-2 * ell // tl)))
            gap.append(0)
    return ctx, gap
