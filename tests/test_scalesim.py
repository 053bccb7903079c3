"""End to end: the SCALE-Sim-compatible CLI on reference cases, bad inputs, atomic reports."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest

from codesign_jax import scalesim as cli
from codesign_jax.systolic import (BANDWIDTH_REPORT_FIELDS, COMPUTE_REPORT_FIELDS,
                                        DETAILED_REPORT_FIELDS)

from scalesim_ref import CONV_KEYS, DATA, load_rows

TEMPLATE = open(os.path.join(DATA, "arch_cfg_template.cfg")).read()


def _write_case(tmp_path, x):
    cfg = TEMPLATE.format(run_name=x["case_id"], rows=x["rows"], cols=x["cols"],
                          ifmap_kb=x["ifmap_sram_kb"], filter_kb=x["filter_sram_kb"],
                          ofmap_kb=x["ofmap_sram_kb"], bw=x["bandwidth"], df=x["dataflow"],
                          bw_mode=x["bw_mode"])
    (tmp_path / "a.cfg").write_text(cfg)
    if x["input_type"] == "gemm":
        topo = f"Layer, M, N, K,\n{x['layer_name']}, {x['M']}, {x['N']}, {x['K']},\n"
    else:
        vals = ", ".join(x[k] for k in CONV_KEYS)
        topo = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                f"Num Filter, Strides,\n{x['layer_name']}, {vals},\n")
    (tmp_path / "t.csv").write_text(topo)
    return str(tmp_path / "a.cfg"), str(tmp_path / "t.csv")


def _read_report(path):
    with open(path) as f:
        lines = f.read().splitlines()
    return lines[0], [[c.strip() for c in ln.split(",")][:-1] for ln in lines[1:]]


@pytest.mark.parametrize("x", [r for r in load_rows() if r["bw_mode"] == "CALC"][::9],
                         ids=lambda r: r["case_id"])
def test_cli_reproduces_reference_rows(tmp_path, x):
    cfg, topo = _write_case(tmp_path, x)
    assert cli.main(["-c", cfg, "-t", topo, "-p", str(tmp_path / "out"),
                     "-i", x["input_type"]]) == 0
    d = tmp_path / "out" / x["case_id"]
    for fname, header, fields in (
            ("COMPUTE_REPORT.csv", cli.COMPUTE_HEADER, COMPUTE_REPORT_FIELDS),
            ("BANDWIDTH_REPORT.csv", cli.BANDWIDTH_HEADER, BANDWIDTH_REPORT_FIELDS),
            ("DETAILED_ACCESS_REPORT.csv", cli.DETAILED_HEADER, DETAILED_REPORT_FIELDS)):
        head, rows = _read_report(d / fname)
        assert head + "\n" == header
        assert len(rows) == 1 and rows[0][0] == "0"
        got = dict(zip(fields, map(float, rows[0][1:])))
        for k in ("total_cycles", "stall_cycles", "overall_util_pct", "mapping_eff_pct",
                  "compute_util_pct", "sram_ifmap_reads", "sram_filter_reads",
                  "sram_ofmap_writes", "dram_ifmap_reads", "dram_filter_reads"):
            if k in got:
                assert got[k] == pytest.approx(float(x[k]), rel=1e-12), k
    assert (d / "ENERGY_REPORT.csv").exists()


def test_reports_byte_identical_to_scalesim(tmp_path):
    """Real SCALE-Sim 3.0.0 output (5 ResNet-18 layers, the shipped 32x32 os / 64 KB config:
    ofmap drains, operands larger than their SRAM, off-edge conv windows) vs our CLI."""
    ref = os.path.join(DATA, "scalesim_run_resnet18_subset")
    assert cli.main(["-c", os.path.join(ref, "scale.cfg"), "-t", os.path.join(ref, "topology.csv"),
                     "-p", str(tmp_path)]) == 0
    out = tmp_path / "scale_example_run_32x32_os"
    for fname in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"):
        with open(os.path.join(ref, fname)) as f:
            want = f.read()
        assert (out / fname).read_text() == want, fname


def test_default_run_as_module(tmp_path):
    out = subprocess.run([sys.executable, "-m", "codesign_jax.scalesim", "-p", str(tmp_path)],
                         capture_output=True, text=True, check=True)
    assert "21 layers of resnet18" in out.stdout
    with open(tmp_path / "scale_example_run_32x32_os" / "COMPUTE_REPORT.csv") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 22


@pytest.mark.parametrize("edit,match", [
    (("ArrayHeight:    32", "ArrayHeight:    0"), r"ArrayHeight must be >= 1"),
    (("ArrayWidth:     32", "ArrayWidth:     -4"), r"ArrayWidth must be >= 1"),
    (("Dataflow : os", "Dataflow : xs"), r"Dataflow must be one of"),
    (("IfmapSramSzkB:    64", "IfmapSramSzkB:    nan"), r"IfmapSramSzkB must be an integer"),
    (("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST"), r"InterfaceBandwidth must be"),
    (("[architecture_presets]", "[arch]"), r"missing section \[architecture_presets\]"),
    (("run_name = scale_example_run_32x32_os", "oops"), r"malformed config"),
])
def test_bad_config_errors_and_no_partial_reports(tmp_path, edit, match, capsys):
    text = open(cli._default_config()).read()
    assert edit[0] in text
    (tmp_path / "bad.cfg").write_text(text.replace(*edit))
    out = tmp_path / "out"
    assert cli.main(["-c", str(tmp_path / "bad.cfg"), "-p", str(out)]) == 2
    assert match.replace("\\", "") in capsys.readouterr().err or \
        pytest.fail(f"error text does not match {match}")
    assert not out.exists() or not any(p.suffix == ".csv" for p in out.rglob("*"))


def test_bad_topology_leaves_no_reports(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("Layer, M, N, K,\nl0, 8, 0, 4,\n")
    out = tmp_path / "out"
    assert cli.main(["-t", str(tmp_path / "t.csv"), "-i", "gemm", "-p", str(out)]) == 2
    assert "field 'N' must be >= 1" in capsys.readouterr().err
    assert not any(p.suffix == ".csv" for p in out.rglob("*")) if out.exists() else True


def test_conv_topology_with_gemm_flag_exits_2(tmp_path, capsys):
    """A conv topology read with -i gemm would take M, N, K from the ifmap and filter sizes."""
    topo = tmp_path / "conv_topology.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                    "Num Filter, Strides,\nconv1, 56, 56, 3, 3, 64, 64, 1,\n")
    out = tmp_path / "out"
    assert cli.main(["-t", str(topo), "-i", "gemm", "-p", str(out)]) == 2
    err = capsys.readouterr().err
    assert "conv_topology.csv" in err and "IFMAP Height" in err and "run with -i conv" in err
    assert not out.exists() or not any(p.suffix == ".csv" for p in out.rglob("*"))
    result = subprocess.run([sys.executable, "-m", "codesign_jax.scalesim", "-t", str(topo), "-i", "gemm",
                             "-p", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "run with -i conv" in result.stderr
    assert not out.exists() or not any(p.suffix == ".csv" for p in out.rglob("*"))


def test_reports_replace_atomically(tmp_path):
    # a second run overwrites complete files; no temporary directories are left behind
    for _ in range(2):
        cli.main(["-p", str(tmp_path)])
    entries = sorted(os.listdir(tmp_path))
    assert entries == ["scale_example_run_32x32_os"]
    files = sorted(os.listdir(tmp_path / entries[0]))
    assert files == ["BANDWIDTH_REPORT.csv", "COMPUTE_REPORT.csv", "DETAILED_ACCESS_REPORT.csv",
                     "ENERGY_REPORT.csv"]


def test_energy_report_consistent(tmp_path):
    cli.main(["-p", str(tmp_path)])
    _, rows = _read_report(tmp_path / "scale_example_run_32x32_os" / "ENERGY_REPORT.csv")
    v = np.array([[float(c) for c in r[2:]] for r in rows])
    # MAC + three SRAMs + DRAM + static (leakage) = total
    np.testing.assert_allclose(v[:, :6].sum(axis=1), v[:, 6], rtol=1e-12)
    assert np.all(v > 0)
