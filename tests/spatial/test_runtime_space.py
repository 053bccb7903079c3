"""spatial_runtime_space (runtime-only labelling path, one graph per static constant value): the same
runtime and validity as the generic model, and MAESTRO's runtime on ConfuciuX's reference runs."""

import csv
import pathlib

import numpy as np
import pytest

import codesign_jax  # noqa: F401  (x64)
from codesign_jax import spatial as sp

DATA = pathlib.Path(__file__).parents[1] / "data" / "maestro_confuciux"
ROWS = list(csv.DictReader(open(DATA / "confuciux_reference.csv")))
MAPPINGS = pathlib.Path(__file__).parents[2] / "codesign_jax" / "data" / "confuciux"
DF = {n: sp.parse_dataflow((MAPPINGS / f"{n}.m").read_text(), n).bind(ClusterSz="num_pes") for n in ("dla", "eye", "shi")}
HW = dict(l1_size=819200000.0, l2_size=819200000.0, noc_bw=81920000.0, offchip_bw=70000.0, noc_hops=1.0)
# K, C, R(=S), Y, X: edge cases of AIRCHITECT-v2's ranges (1x1 inputs, 9x9 filters, K smaller than a tile)
LAYERS = np.array([[2, 2, 1, 1, 1], [512, 512, 9, 256, 9], [6, 14, 3, 8, 8], [100, 30, 5, 64, 200],
                   [374, 36, 7, 184, 8], [26, 4, 9, 9, 256]], np.float64)


def _layer(a):
    return sp.conv_layer(a[:, 0], a[:, 1], a[:, 2], a[:, 2], a[:, 3], a[:, 4])


def _generic(layer_row, name, pes, tiles):
    """Every (num_pes, KTileSz) design of one layer through the numpy port, ConfigID order."""
    p, t = np.meshgrid(np.asarray(pes, float), np.asarray(tiles, float), indexing="ij")
    acc = sp.SpatialAccelerator(p.ravel(), **HW, constants={"KTileSz": t.ravel()})
    rep = sp.spatial_cost(_layer(np.repeat(layer_row[None], p.size, 0)), acc, DF[name], backend="numpy")
    return np.asarray(rep.runtime_cycles), np.asarray(rep.degenerate) == 0


@pytest.mark.parametrize("name,tiles", [("dla", (1, 5)), ("eye", (3,))])
def test_equals_generic_model(name, tiles):
    pes = (1, 3, 16, 57)
    rt, ok = sp.spatial_runtime_space(_layer(LAYERS), DF[name], pes, {"KTileSz": tiles}, chunk=4, **HW)
    assert rt.shape == ok.shape == (len(LAYERS), len(pes) * len(tiles))
    for i, row in enumerate(LAYERS):
        ref_rt, ref_ok = _generic(row, name, pes, tiles)
        np.testing.assert_array_equal(rt[i], ref_rt)
        np.testing.assert_array_equal(ok[i], ref_ok)
    if name == "eye":
        assert (~ok).any() and ok.any()  # this set has MAESTRO-degenerate designs: flagged, not dropped


def _reference_check(rows, name):
    tiles = sorted({int(r["ktile"]) for r in rows})
    a = np.array([[float(r[k]) for k in ("K", "C", "R", "Y", "X")] for r in rows])
    assert all(r["R"] == r["S"] for r in rows)
    rt, ok = sp.spatial_runtime_space(_layer(a), DF[name], range(1, 65), {"KTileSz": tiles}, **HW)
    j = np.array([(int(r["num_pes"]) - 1) * len(tiles) + tiles.index(int(r["ktile"])) for r in rows])
    got, valid = rt[np.arange(len(rows)), j], ok[np.arange(len(rows)), j]
    ref = np.array([float(r["runtime_cycles"]) for r in rows])
    np.testing.assert_array_equal(got[ref > 0], ref[ref > 0])  # MAESTRO's runtime, exactly
    np.testing.assert_array_equal(valid, ref > 0)  # its runtime-0 runs are the invalid points
    return (ref <= 0).sum()


def test_confuciux_reference_rows_one_tile():
    """Real MAESTRO runs of the eye and shi files at the tile sizes with degenerate runs."""
    n_bad = 0
    for name in ("eye", "shi"):
        rows = [r for r in ROWS if r["df"] == name and r["ok"] == "1"]
        bad_tiles = [int(r["ktile"]) for r in rows if float(r["runtime_cycles"]) <= 0]
        t = bad_tiles[0]
        n_bad += _reference_check([r for r in rows if int(r["ktile"]) == t], name)
    assert n_bad > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DF))
def test_confuciux_reference_rows_all(name):
    """All 600 runs (36 compiled graphs: minutes)."""
    _reference_check([r for r in ROWS if r["df"] == name and r["ok"] == "1"], name)


def test_bad_inputs_raise_naming_the_field():
    lay = _layer(LAYERS[:2])
    with pytest.raises(ValueError, match="stride"):
        sp.spatial_runtime_space(sp.conv_layer(4.0, 4.0, 1.0, 1.0, 8.0, 8.0, 2.0), DF["dla"], [1], {"KTileSz": [1]}, **HW)
    with pytest.raises(ValueError, match="layer field K"):
        sp.spatial_runtime_space(sp.conv_layer(0.0, 4.0, 1.0, 1.0, 8.0, 8.0), DF["dla"], [1], {"KTileSz": [1]}, **HW)
    with pytest.raises(ValueError, match="layer field Y"):
        sp.spatial_runtime_space(sp.conv_layer(4.0, 4.0, 1.0, 1.0, np.nan, 8.0), DF["dla"], [1], {"KTileSz": [1]}, **HW)
    with pytest.raises(ValueError, match="num_pes"):
        sp.spatial_runtime_space(lay, DF["dla"], [0, 2], {"KTileSz": [1]}, **HW)
    with pytest.raises(ValueError, match="KTile"):
        sp.spatial_runtime_space(lay, DF["dla"], [1], {"KTile": [1]}, **HW)
    with pytest.raises(ValueError, match="KTileSz"):
        sp.spatial_runtime_space(lay, DF["dla"], [1], {"KTileSz": [0]}, **HW)
    with pytest.raises(ValueError, match="noc_bw"):
        sp.spatial_runtime_space(lay, DF["dla"], [1], {"KTileSz": [1]}, **{**HW, "noc_bw": -1.0})
