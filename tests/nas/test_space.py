"""NAS spaces as layer tables: MACs against the published figures, skeleton structure, input validation."""

import numpy as np
import pytest

from codesign_jax.nas import (alphanet_table, check_macs, load_space, nb201_arch_str, nb201_layers, nb201_table)
from codesign_jax.nas._rows import make_divisible


def test_nb201_macs_range_and_index_order():
    s = load_space("nb201")
    assert len(s) == 15625 and s.arch_index.tolist() == list(range(15625))
    r = check_macs(s)
    assert (round(r["min_mmacs"], 2), round(r["max_mmacs"], 2)) == (7.78, 220.12)
    # the best CIFAR-10 cell of the space (its published index and accuracy)
    assert int(np.argmax(s.accuracy)) == 6111 and s.accuracy[6111] == pytest.approx(94.373333)
    assert nb201_arch_str(nb201_table()["ops"][6111]) == (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")


def test_nb201_rows_of_one_cell():
    # all-3x3 cells: stem + 15 cells x 6 convs + 2 residual blocks x 3 convs + classifier
    t = nb201_layers(np.full((1, 6), 3))
    assert len(t) == 1 + 90 + 6 + 1
    assert t.kind.tolist() == [0] * 97 + [1]
    assert (t.out_h[:31] == 32).all() and t.out_h[31] == 16 and t.stride[31] == 2   # stage 1 cells, then reduction
    assert t.macs.sum() == 220_119_680
    # cells of only none / skip / pool have no layers at all
    assert len(nb201_layers(np.array([[0, 1, 4, 1, 0, 4]]))) == 1 + 6 + 1
    t16 = nb201_layers(np.full((1, 6), 2), "imagenet16_120")
    assert t16.out_h[0] == 16 and t16.filters[-1] == 120


def test_alphanet_macs_equal_mflops_for_every_subnet():
    s = load_space("alphanet")
    assert len(s) == 9999
    assert check_macs(s, rtol=1e-6)["max_rel_err"] < 1e-6
    sel = load_space("alphanet", subset="selected_1046")
    assert len(sel) == 1046 and np.isin(sel.arch_index, s.arch_index).all()


def test_alphanet_skeleton_rows():
    t = alphanet_table()
    s = load_space("alphanet", arch=[0])
    rows = s.layers
    dw = rows.groups == rows.channels
    assert rows.kind[-1] == 1 and rows.filters[-1] == 1000 and rows.channels[-1] == 1792
    # one depthwise conv per block: depths capped at 2, 5, 6, 6, 8, 8, 2
    assert dw.sum() - (rows.groups[dw] == 1).sum() == np.minimum(t["depth"][0], [2, 5, 6, 6, 8, 8, 2]).sum()
    assert rows.out_h[0] == t["resolution"][0] // 2 and rows.stride[0] == 2
    assert sorted(set(rows.filt_h[dw].tolist())) == sorted(set(t["kernel_size"][0].tolist()))


def test_make_divisible_as_attentivenas():
    # nn_utils.make_divisible(v, 8, min_value=1): 3 rounds to 1, then +8 because 1 < 0.9 * 3
    assert make_divisible([16 * 4, 24 * 5, 40, 3, 1000 / 4, 12]).tolist() == [64, 120, 40, 9, 248, 16]


@pytest.mark.parametrize("kw, msg", [
    (dict(name="nb999"), "space='nb999'"),
    (dict(name="nb201", dataset="imagenet"), "dataset='imagenet'"),
    (dict(name="alphanet", subset="best"), "subset='best'"),
    (dict(name="nb201", arch=[15625]), "arch index 15625"),
    (dict(name="alphanet", subset="selected_1046", arch=[0]), "arch index 0 is not in the chosen subset"),
])
def test_load_space_rejects_bad_values(kw, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
        load_space(**kw)


def test_check_macs_catches_a_wrong_skeleton():
    s = load_space("alphanet", arch=[5, 7])
    wrong = s.replace(layers=s.layers.select(s.layers.kind == 0))  # drop the classifier
    with pytest.raises(ValueError, match="relative error"):
        check_macs(wrong)
