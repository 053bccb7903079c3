"""``python -m codesign_jax.nas``: rows per (architecture, accelerator), rejected networks, input errors.

``tests/data/nas_maestro_networks.csv``: network sums of the real MAESTRO (maestro-project/maestro @ 4eb08d1,
HW-file mode, every distinct layer of the networks run on every accelerator by
``experiments/validate_nas_maestro.py``; energy from MAESTRO's access counts) for 5 of the paper's 1,046
AlphaNet subnets on its 50 accelerators, CONV layers on kcp_ws or rs, depthwise on dpt.
"""

import csv
import pathlib

import numpy as np
import pytest

from codesign_jax.nas import load_space, paper_accelerators_path, spatial_network_cost
from codesign_jax.nas._cli import OUT_COLUMNS, main, read_accelerators


def test_cli_rows_equal_the_python_api(tmp_path):
    out = tmp_path / "out.csv"
    rc = main(["--space", "alphanet", "--arch", "2049,16", "--accelerators", paper_accelerators_path(),
               "--conv_dataflow", "kcp_ws", "--dw_dataflow", "dpt", "--backend", "numpy", "--out", str(out)])
    assert rc == 0
    rows = list(csv.DictReader(open(out)))
    assert tuple(rows[0]) == OUT_COLUMNS and len(rows) == 2 * 50
    assert [int(r["arch_index"]) for r in rows[::50]] == [2049, 16]  # architecture-major, in --arch order
    hw, accels = read_accelerators(paper_accelerators_path())
    s = load_space("alphanet", arch=[2049, 16])
    cost = spatial_network_cost(s.layers, accels, backend="numpy")
    for r in rows:
        i, j = [2049, 16].index(int(r["arch_index"])), hw.index(r["hw"])
        assert int(r["macs"]) == s.macs[i] and float(r["accuracy"]) == s.accuracy[i]  # MAESTRO's count = MACs here
        assert r["ok"] == str(int(cost.ok[i, j]))
        if r["ok"] == "1":
            assert int(r["runtime_cycles"]) == cost.runtime_cycles[i, j]
            assert float(r["energy_total_xmac"]) == cost.energy_total_xmac[i, j]
            assert r["error"] == ""
        else:  # kcp_ws clusters 64 PEs: below that MAESTRO divides by zero on the first (stem) layer
            assert float(accels.num_pes[j]) < 64 and r["runtime_cycles"] == ""
            assert r["error"].startswith("CONV K=16 C=3 R=3 S=3") and "cluster size" in r["error"]
    assert sum(r["ok"] == "0" for r in rows) == 2 * int(np.sum(accels.num_pes < 64))


def test_cli_reads_the_shared_accelerator_format(tmp_path):
    acc = tmp_path / "acc.csv"
    acc.write_text("acc_id,num_pes,l1_size_cstr,l2_size_cstr,noc_bw_cstr,offchip_bw_cstr,source\n"
                   "7,128,100,3000,800,250,somewhere.m\n")
    out = tmp_path / "out.csv"
    assert main(["--space", "nb201", "--arch", "6111", "--accelerators", str(acc), "--conv_dataflow", "rs",
                 "--out", str(out)]) == 0
    (row,) = csv.DictReader(open(out))
    assert row["hw"] == "7" and row["ok"] == "1" and int(row["macs"]) == load_space("nb201", arch=[6111]).macs[0]


@pytest.mark.parametrize("args, msg", [
    (["--conv_dataflow", "nope"], "--conv_dataflow 'nope'"),
    (["--arch", "1,x"], "--arch '1,x'"),
    (["--arch", "99999"], "arch index 99999"),
    (["--dataset", "svhn"], "dataset='svhn'"),
])
def test_cli_rejects_bad_input(tmp_path, capsys, args, msg):
    out = tmp_path / "out.csv"
    rc = main(["--space", "nb201", "--accelerators", paper_accelerators_path(), "--out", str(out), *args])
    assert rc == 2 and msg in capsys.readouterr().err and not out.exists()


def test_cli_names_a_bad_accelerator_file(tmp_path, capsys):
    acc = tmp_path / "acc.csv"
    acc.write_text("hw,num_pes,l1_size_cstr,l2_size_cstr,noc_bw_cstr,offchip_bw_cstr\na,0,1,1,1,1\n")
    assert main(["--space", "nb201", "--accelerators", str(acc), "--out", str(tmp_path / "o.csv")]) == 2
    assert "acc.csv, line 2, field num_pes" in capsys.readouterr().err


@pytest.mark.parametrize("conv_df", ["kcp_ws", "rs"])
def test_cli_reproduces_real_maestro_network_sums(tmp_path, conv_df):
    ref = [r for r in csv.DictReader(open(pathlib.Path(__file__).parents[1] / "data" / "nas_maestro_networks.csv"))
           if r["conv_dataflow"] == conv_df]
    archs = sorted({int(r["arch_index"]) for r in ref})
    out = tmp_path / "out.csv"
    assert main(["--space", "alphanet", "--arch", ",".join(map(str, archs)), "--accelerators",
                 paper_accelerators_path(), "--conv_dataflow", conv_df, "--out", str(out)]) == 0
    rows = {(r["arch_index"], r["hw"]): r for r in csv.DictReader(open(out))}
    assert len(rows) == len(ref) == len(archs) * 50
    macs = dict(zip(archs, load_space("alphanet", arch=archs).macs))
    quirks = 0
    for m in ref:
        r = rows[(m["arch_index"], m["hw"])]
        assert r["ok"] == m["maestro_ok"], (m, r["error"])  # MAESTRO aborts exactly where we flag
        if r["ok"] == "1":
            assert int(r["runtime_cycles"]) == int(m["runtime_cycles"])
            assert float(r["energy_total_xmac"]) == pytest.approx(float(m["energy_total_xmac"]), rel=1e-12)
            assert int(r["macs"]) == int(m["num_macs"])
            quirks += int(m["num_macs"]) != macs[int(m["arch_index"])]
    # rs on its 10 16-PE accelerators: MAESTRO over-counts the stem conv's MACs of the 192-pixel subnets
    # (104, 5485, 7530); the CLI's macs are MAESTRO's count there too
    assert quirks == (3 * 10 if conv_df == "rs" else 0)
