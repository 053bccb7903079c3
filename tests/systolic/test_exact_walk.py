"""The tiled conv-ifmap stream (_exact_tiles), its per-tile reuse data (_exact_reuse) and the
bounded-memory epoch walk (_exact_walk)
against the whole-pass reference (materialised pass, wrap-around reuse distances, _epoch_chain;
itself checked against a brute-force port of read_buffer_estimate_bw and real SCALE-Sim runs in
test_exact.py) and against brute force directly."""

import tracemalloc

import numpy as np
import pytest

from codesign_jax.systolic import _exact_ramps as XR
from codesign_jax.systolic import _exact_reads as XD
from codesign_jax.systolic import _exact_reuse as XU
from codesign_jax.systolic import _exact_tiles as XT
from codesign_jax.systolic import _exact_walk as XW
from codesign_jax.workloads import Conv


def _layer(H, W, Fh, Fw, Ch, N, s, R, C, df):
    g = Conv.create(H, W, Fh, Fw, Ch, N, s).to_gemm()
    M, K = int(g.M), int(g.K)
    lay = XR._Layout(*(np.array([v], np.int64) for v in (M, N, K, R, C, df)))
    ew = int(g.ofmap_w)
    geo = (ew, M // ew, Fh, Fw, Ch, int(g.last_h), int(g.last_w), s)
    return df, R, C, M, K, int(lay.L[0]), geo, (1 if df == 2 else int(lay.fcn[0]))


def _random_layer(rng, big=False):
    H, W = (int(rng.integers(3, 30)), int(rng.integers(3, 50))) if not big else \
        (int(rng.integers(16, 48)), int(rng.integers(40, 120)))
    Fh, Fw = int(rng.integers(1, min(H, 5) + 1)), int(rng.integers(1, min(W, 5) + 1))
    return _layer(H, W, Fh, Fw, int(rng.integers(1, 9)), int(rng.integers(1, 40)),
                  int(rng.integers(1, 4)), int(rng.integers(1, 17)), int(rng.integers(1, 17)),
                  int(rng.integers(0, 3)))


def _reference(layer, E):
    """Whole-pass method: reuse distances of the materialised pass, wrapping around passes."""
    df, R, C, M, K, L, geo, P = layer
    st = XT._Stream(df, R, C, M, K, L, geo)
    addr, rows = XD._whole_pass(st)
    misses, pos = XD._epoch_chain(XD._periodic_dist(addr), P, E)
    row = -1 if pos < 0 else (pos // addr.size) * st.pass_rows + int(rows[pos % addr.size])
    return (misses, row), addr


def _variants(layer, E):
    """(tile target, context tiles, far gap) settings: automatic, none, past the span, and the
    os/is short context with the cross-row gap."""
    df, R, C, M, K, L, geo, P = layer
    for target in (1, 64, XT.TILE_TARGET):
        st = XT._Stream(df, R, C, M, K, L, geo, target)
        yield target, *XU.context_tiles(st, E)
        yield target, [0] * st.n_sf, None
        yield target, [st.ctx_for_span(s) + 1 for s in range(st.n_sf)], None
        if st.far_gap():
            yield target, [st.ctx_short()], [st.far_gap()]


def _walk(layer, E, target, ctx, gap):
    df, R, C, M, K, L, geo, P = layer
    w = XW._Walker(XT._Stream(df, R, C, M, K, L, geo, target), E, P, ctx, gap)
    misses, pos = w.run()
    return (misses, w.row(pos) if pos >= 0 else -1), w.stats


def _check_walk(seed, n_layers, big=False):
    rng = np.random.default_rng(seed)
    used = {}
    for _ in range(n_layers):
        layer = _random_layer(rng, big)
        want, addr = _reference(layer, 1)
        nu = np.unique(addr).size
        for E in (int(rng.integers(1, max(2, nu // 8))), int(rng.integers(1, 2 * nu + 2))):
            want, _ = _reference(layer, E)
            for target, ctx, gap in _variants(layer, E):
                got, stats = _walk(layer, E, target, ctx, gap)
                assert got == want, (layer, E, target, ctx, gap)
                for k, v in stats.items():
                    used[k] = used.get(k, 0) + v
    return used


def test_walk_matches_whole_pass():
    used = {}
    for seed in range(3):
        for k, v in _check_walk(seed, 4).items():
            used[k] = used.get(k, 0) + v
    # the cases exercise the walk's shortcuts and its fallbacks, not one path only
    assert {"jump", "coverage", "explicit", "direct", "pass_period"} <= set(used), used


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_walk_matches_whole_pass_medium(seed):
    _check_walk(100 + seed, 6, big=True)


def test_walk_matches_brute_force_stream():
    # independent of _epoch_chain: a set-based port over the concatenated passes
    def brute(stream, E):
        seen, misses, last = set(), 0, -1
        for i, a in enumerate(stream):
            if a not in seen:
                seen.add(a)
                misses += 1
                if len(seen) == E:
                    seen, last = set(), i
        return misses, last

    for layer, E in ((_layer(21, 37, 3, 3, 2, 20, 1, 8, 8, 0), 97),      # os, 3 passes
                     (_layer(19, 30, 3, 2, 3, 30, 2, 4, 7, 1), 60),      # ws, 5 passes
                     (_layer(17, 26, 4, 4, 2, 9, 1, 6, 5, 2), 150)):     # is, one pass
        df, R, C, M, K, L, geo, P = layer
        st = XT._Stream(df, R, C, M, K, L, geo, 64)
        addr, rows = XD._whole_pass(st)
        misses, last = brute(np.tile(addr, P).tolist(), E)
        want = (misses, -1 if last < 0 else (last // addr.size) * st.pass_rows
                + int(rows[last % addr.size]))
        for target, ctx, gap in _variants(layer, E):
            assert _walk(layer, E, target, ctx, gap)[0] == want


def test_counts_closed_form_and_keys_are_translations():
    """Tile real counts equal the materialised mask; tiles with one key hold the same addresses
    (context included) up to one shift: what the per-key cache relies on."""
    rng = np.random.default_rng(7)
    for _ in range(16):
        df, R, C, M, K, L, geo, P = _random_layer(rng)
        for target in (1, 50, XT.TILE_TARGET):
            st = XT._Stream(df, R, C, M, K, L, geo, target)
            for sf in range(st.n_sf):
                c = int(rng.integers(0, 3))
                seen = {}
                for j in range(st.n_tiles(sf)):
                    a, rows, cnt = st.materialize(sf, j - min(c, j), j + 1)
                    assert int(cnt[-1]) == st.count(sf, j)
                    k = st.key(sf, j, min(c, j))
                    rel = (a - a[0] if a.size else a, rows, tuple(cnt))
                    if k in seen:
                        for u, v in zip(seen[k], rel):
                            np.testing.assert_array_equal(u, v)
                    seen[k] = rel


def test_far_gap_bounds_unfound_reuse():
    """os/is with the short context: every repeat not found in a tile's context lies at least
    far_gap demands back (checked on the materialised pass)."""
    for layer in (_layer(12, 90, 3, 3, 2, 4, 1, 8, 4, 0), _layer(10, 70, 3, 2, 3, 4, 1, 4, 6, 2),
                  _layer(14, 81, 5, 3, 1, 4, 2, 5, 3, 0)):
        df, R, C, M, K, L, geo, P = layer
        st = XT._Stream(df, R, C, M, K, L, geo, 1)
        gap, c = st.far_gap(), st.ctx_short()
        assert gap > 0
        addr, _ = XD._whole_pass(st)
        prev = XU._prev(addr)
        start = np.concatenate([[0], np.cumsum([st.count(0, j) for j in range(st.n_tiles(0))])])
        tile = np.searchsorted(start, np.arange(addr.size), side="right") - 1
        ctx_start = start[np.maximum(tile - c, 0)]
        unfound = (prev >= 0) & (prev < ctx_start)
        assert unfound.any()
        assert (np.arange(addr.size)[unfound] - prev[unfound]).min() >= gap


def _peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_refinement_memory_does_not_grow_with_the_ifmap():
    # UNet's first layer at two sizes on eyeriss.cfg's array (12x14 ws, 36 KB ifmap SRAM): the
    # walk's peak traced memory stays the same when the ifmap grows 16x (the whole-pass method
    # it replaces grew linearly: about 2.6 GB at 2048 x 2048)
    E = 50 * (36 * 1024 // 100)

    def run(n):
        lay = _layer(n, n, 3, 3, 1, 64, 1, 12, 14, 1)
        return lambda: XW.conv_ifmap_epochs(*lay[:7], E, lay[7])

    (m1, _), small = _peak(run(256))
    (m2, _), large = _peak(run(1024))
    assert m2 > 10 * m1 > 0
    assert large < 1.5 * small + (8 << 20), (small, large)


def test_tiles_are_bounded_by_array_and_filter():
    # tile sizes never scale with the ifmap: os/is a fold group, ws one ofmap row of time steps
    for n in (64, 4096):
        for df in range(3):
            df, R, C, M, K, L, geo, P = _layer(n, n, 3, 3, 64, 64, 1, 32, 32, df)
            st = XT._Stream(df, R, C, M, K, L, geo)
            for sf in range(st.n_sf):
                assert XU._tile_len(st, sf) <= max(XT.TILE_TARGET, R * K, C * (K + R),
                                                   2 * geo[0] * R)


def test_long_walk_shows_a_progress_bar(monkeypatch):
    # a stream over PROGRESS_DEMANDS gets a tqdm bar (with its estimate) on a terminal
    import io
    import sys

    from codesign_jax.hardware import SystolicArray
    from codesign_jax.systolic import _exact as X
    from codesign_jax.systolic import systolic_metrics

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    g = Conv.create(700, 700, 3, 3, 1, 28, 1).to_gemm()     # 4.4M demands per pass: tiled
    a = SystolicArray.create(12, 14, "ws", 36, 36, 36, "CALC")
    m = systolic_metrics(np, g, a)
    monkeypatch.setattr(X, "PROGRESS_DEMANDS", 1)
    monkeypatch.setattr(sys, "stderr", Terminal())
    out = X.refine_calc(g, a, m)
    text = sys.stderr.getvalue()
    assert "ifmap read epochs" in text and "demand" in text
    monkeypatch.setattr(X, "PROGRESS_DEMANDS", 1 << 62)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert X.refine_calc(g, a, m)["dram_ifmap_reads"] == out["dram_ifmap_reads"]
    assert sys.stderr.getvalue() == ""


def test_walk_memory_is_set_by_its_cache_not_the_ifmap(monkeypatch):
    # scale.cfg's array (32x32 os, 64 KB ifmap SRAM) under UNet's first layer: os tiles wrap ofmap
    # rows, so most tile keys are distinct and the cache fills up; with the cache and the
    # materialised window scaled down (1 MiB, 32k entries) the walk's peak traced memory stays
    # flat when the ifmap grows 4x (tiles are evicted and recomputed), and the result still
    # equals the whole-pass method (O(pass) memory)
    monkeypatch.setattr(XU, "CACHE_BYTES", 1 << 20)
    monkeypatch.setattr(XU, "BATCH_ENTRIES", 1 << 15)
    E = 50 * (64 * 1024 // 100)
    peaks, whole = [], []
    for n in (160, 320):
        lay = _layer(n, n, 3, 3, 1, 64, 1, 32, 32, 0)
        assert lay[3] * lay[4] > 6 * XU.BATCH_ENTRIES          # many windows per pass
        got, peak = _peak(lambda: XW.conv_ifmap_epochs(*lay[:7], E, lay[7]))
        (want, _), ref_peak = _peak(lambda: _reference(lay, E))
        assert got == want
        peaks.append(peak)
        whole.append(ref_peak)
    assert peaks[1] < 1.2 * peaks[0] + (1 << 20), peaks
    assert whole[1] > 2 * whole[0] and whole[1] > 5 * peaks[1], (whole, peaks)
