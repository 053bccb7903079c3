"""The `python -m codesign_jax.maestro` CLI: batch evaluation, rejected rows, input validation."""

import csv
import pathlib

import pytest

from codesign_jax import maestro

DATA = pathlib.Path(__file__).parent / "data"
REF = {(r["dataflow"], r["hw"], r["layer"]): r for r in csv.DictReader(open(DATA / "maestro_reference.csv"))}


def test_cli_matches_reference_and_keeps_rejected_rows(tmp_path):
    out = tmp_path / "out.csv"
    rc = maestro.main(["--layers", str(DATA / "maestro_layers.csv"), "--accelerators", str(DATA / "maestro_accels.csv"),
                       "--dataflow", "kcp_ws,dpt,gemm_nmk", "--out", str(out)])
    assert rc == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 3 * 2 * 4  # every dataflow x hw x layer, rejected ones included
    assert list(rows[0])[:5] == ["dataflow", "hw", "layer", "runtime_cycles", "num_macs_top"]
    assert list(rows[0])[-2:] == ["ok", "error"]
    n_cmp = 0
    for r in rows:
        ref = REF.get((r["dataflow"], r["hw"], r["layer"]))
        if ref is None:  # combinations never run with MAESTRO
            if r["dataflow"] == "gemm_nmk" or r["layer"] == "gemmT_fc_r18":  # GEMM dims vs conv dims: rejected
                assert r["ok"] == "0" and ("not found" in r["error"] or "has no" in r["error"]), r
            continue
        assert r["ok"] == ref["ok"], (r, ref["error"])
        if r["ok"] == "1":
            n_cmp += 1
            for k in ("runtime_cycles", "input_l2_read", "filter_l1_write", "output_l2_write", "total_l2_size_req"):
                assert float(r[k]) == float(ref[k]), k
            assert float(r["energy_total_xmac"]) == pytest.approx(float(ref["energy_total_xmac_exact"]), rel=1e-12)
        else:
            assert "Dimension K not found" in r["error"]
    assert n_cmp == 8


def test_cli_jax_backend_equals_numpy_backend(tmp_path):
    """--backend jax (the layers x accelerators grid evaluator) writes the numpy backend's rows, byte for byte."""
    outs = []
    for backend in ("numpy", "jax"):
        out = tmp_path / f"{backend}.csv"
        rc = maestro.main(["--layers", str(DATA / "maestro_layers.csv"), "--accelerators",
                           str(DATA / "maestro_accels.csv"), "--dataflow", "dpt,xp_ws", "--backend", backend,
                           "--out", str(out)])
        assert rc == 0
        outs.append(out.read_text())
    assert outs[0].count("\n") > 10 and ",1," in outs[0]
    assert outs[0] == outs[1]


@pytest.mark.parametrize("content,msg", [
    ("layer,layer_type,K,C,R,S,Y,X\nl,CONV,1,1,1,1,1,1\n", "missing column"),
    ("layer,layer_type,K,C,R,S,Y,X,stride\nl,CONV,1,x,1,1,1,1,1\n", "line 2, field C: 'x' is not an integer"),
    ("layer,layer_type,K,C,R,S,Y,X,stride\nl,CONV,1,1,1,1,1,1,1\nm,CONV,1,1,0,1,1,1,1\n", "line 3, field R: 0"),
    ("layer,layer_type,K,C,R,S,Y,X,stride\nl,POOL,1,1,1,1,1,1,1\n", "field layer_type"),
])
def test_cli_rejects_bad_layers_file(tmp_path, capsys, content, msg):
    bad = tmp_path / "layers.csv"
    bad.write_text(content)
    out = tmp_path / "out.csv"
    rc = maestro.main(["--layers", str(bad), "--accelerators", str(DATA / "maestro_accels.csv"), "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert str(bad) in err and msg in err
    assert not out.exists()  # nothing half-written


def test_cli_rejects_bad_accels_and_dataflow(tmp_path, capsys):
    acc = tmp_path / "acc.csv"
    acc.write_text("hw,num_pes,l1_size_cstr,l2_size_cstr,noc_bw,offchip_bw_cstr\na,1,1,1,1,1\n")
    out = tmp_path / "o.csv"
    layers = str(DATA / "maestro_layers.csv")
    assert maestro.main(["--layers", layers, "--accelerators", str(acc), "--out", str(out)]) == 2
    assert "noc_bw_cstr" in capsys.readouterr().err
    assert maestro.main(["--layers", layers, "--accelerators", str(DATA / "maestro_accels.csv"),
                         "--dataflow", "nope", "--out", str(out)]) == 2
    assert "unknown" in capsys.readouterr().err


def test_cli_custom_dataflow_file(tmp_path):
    m = tmp_path / "x_os.m"
    m.write_text("TemporalMap(8,8) K;\nTemporalMap(1,1) C;\nSpatialMap(Sz(S),1) X;\nTemporalMap(Sz(R),1) Y;\n"
                 "TemporalMap(Sz(R),Sz(R)) R;\nTemporalMap(Sz(S),Sz(S)) S;\n")
    out = tmp_path / "o.csv"
    args = ["--layers", str(DATA / "maestro_layers.csv"), "--accelerators", str(DATA / "maestro_accels.csv")]
    assert maestro.main(args + ["--dataflow", "x_os", "--dataflow_file", f"x_os={m}", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    assert {r["ok"] for r in rows if r["layer"].startswith("r18")} == {"1"}


def test_cli_dataflow_file_with_constants_and_constant_columns(tmp_path):
    """A ConfuciuX mapping file (Constant lines, Dataflow block) and one accelerators column per constant: the
    runtime of each real MAESTRO run; its degenerate runs (runtime 0) come out ok=0 with the reason."""
    ref = [r for r in csv.DictReader(open(DATA / "maestro_confuciux" / "confuciux_reference.csv")) if r["df"] == "eye"]
    ref = ([r for r in ref if float(r["runtime_cycles"]) <= 0][:3]
           + [r for r in ref if float(r["runtime_cycles"]) > 0][:6])
    layers, accels = tmp_path / "layers.csv", tmp_path / "accels.csv"
    layers.write_text("layer,layer_type,K,C,R,S,Y,X,stride\n" + "".join(
        f"{r['case_id']},CONV,{r['K']},{r['C']},{r['R']},{r['S']},{r['Y']},{r['X']},1\n" for r in ref))
    accels.write_text("hw,num_pes,l1_size_cstr,l2_size_cstr,noc_bw_cstr,offchip_bw_cstr,noc_hops,KTileSz,ClusterSz\n"
                      + "".join(f"{r['case_id']},{r['num_pes']},819200000,819200000,81920000,70000,1,{r['ktile']},"
                                f"{r['num_pes']}\n" for r in ref))
    out = tmp_path / "o.csv"
    m = f"eye={DATA.parent.parent / 'codesign_jax' / 'data' / 'confuciux' / 'eye.m'}"
    assert maestro.main(["--layers", str(layers), "--accelerators", str(accels), "--dataflow_file", m,
                         "--out", str(out)]) == 0
    rows = {(r["hw"], r["layer"]): r for r in csv.DictReader(open(out))}
    assert len(rows) == len(ref) ** 2 and {r["dataflow"] for r in rows.values()} == {"eye"}
    for r in ref:
        got = rows[(r["case_id"], r["case_id"])]
        assert float(got["runtime_cycles"]) == float(r["runtime_cycles"])
        if float(r["runtime_cycles"]) <= 0:
            assert got["ok"] == "0" and "runtime 0" in got["error"]
        else:
            assert got["ok"] == "1" and got["error"] == ""
    bad = tmp_path / "bad.csv"
    bad.write_text(accels.read_text().replace("KTileSz", "KTile"))
    assert maestro.main(["--layers", str(layers), "--accelerators", str(bad), "--dataflow_file", m,
                         "--out", str(out)]) == 2  # unknown column KTile (the constants are KTileSz, ClusterSz, ...)
