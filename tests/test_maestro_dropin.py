"""`python -m codesign_jax.maestro` with MAESTRO's own command line: the CSV the real MAESTRO wrote, byte for byte.

Reference: tests/data/maestro_dropin (MAESTRO's shipped example networks run by the real MAESTRO in HW-file mode
and in flag mode; README there).
"""

import os
import pathlib
import shutil

import pytest

from codesign_jax import maestro

REF = pathlib.Path(__file__).parent / "data" / "maestro_dropin"
MODES = {
    "hwfile": ["--HW_file=data/hw/accelerator_1.m"],
    "cli64": ["--num_pes=64", "--l1_size_cstr=512", "--l2_size_cstr=108000", "--noc_bw_cstr=64",
              "--offchip_bw_cstr=32"],
}
COMMON = ["--print_res=false", "--print_res_csv_file=true", "--print_log_file=false"]
NETWORKS = sorted(p.stem for p in (REF / "mapping").glob("*.m"))
# One of each layer type / feature, fast: GEMM with constants, NGCONV, batch N, TRCONV, a single-level dataflow.
QUICK = {("gnmt_nmk", "hwfile"), ("ResNeXt50_kcp_ws", "hwfile"), ("Transformer_Layers", "cli64"),
         ("UNet_xp_ws", "cli64"), ("vgg16_xp_ws", "hwfile")}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A directory laid out as MAESTRO's runs were (data/mapping, data/hw), as the working directory."""
    shutil.copytree(REF / "mapping", tmp_path / "data" / "mapping")
    shutil.copytree(REF / "hw", tmp_path / "data" / "hw")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(name, mode, extra=()):
    return maestro.main([*MODES[mode], f"--Mapping_file=data/mapping/{name}.m", *COMMON, *extra])


CASES = [pytest.param(n, m, marks=() if (n, m) in QUICK else pytest.mark.slow, id=f"{n}-{m}")
         for n in NETWORKS for m in MODES]


@pytest.mark.parametrize("name,mode", CASES)
def test_dropin_writes_maestros_csv_or_fails_where_it_fails(workdir, capsys, name, mode):
    rc = _run(name, mode)
    ref_rc = int((REF / mode / f"{name}.rc").read_text())
    out = workdir / f"{name}.csv"
    if ref_rc != 0:  # MAESTRO crashed (SIGFPE) before writing anything: so do we, with the reason
        assert rc != 0 and not out.exists()
        assert "divides by zero" in capsys.readouterr().err
        return
    assert rc == 0, capsys.readouterr().err
    assert out.read_text() == (REF / mode / f"{name}.csv").read_text()


def test_dropin_rejections_name_the_reason(workdir, capsys):
    # A cluster (KTileSz = 100) larger than the 64 PEs: MAESTRO divides by zero (rc 136, no CSV).
    assert _run("gnmt_nmk", "cli64") == 2 and not (workdir / "gnmt_nmk.csv").exists()
    assert "num_pes smaller than its cluster size product" in capsys.readouterr().err
    # MAESTRO's parser: an R TemporalMap that does not cover R (it exits 255 with this message).
    text = (REF / "mapping" / "vgg16_xp_ws.m").read_text().replace("TemporalMap (3,3) R;", "TemporalMap (7,7) R;", 1)
    (workdir / "data" / "mapping" / "bad.m").write_text(text)
    assert _run("bad", "hwfile") == 2 and not (workdir / "bad.csv").exists()
    assert "Tile size of R(7) should be equal to dimension size of R(3)" in capsys.readouterr().err
    assert maestro.main(["--Mapping_file=data/mapping/gnmt_nmk.m", "--num_pe=64", "--frobnicate=1"]) == 2
    assert "unrecognised option '--frobnicate'" in capsys.readouterr().err
    assert maestro.main(["--Mapping_file=data/mapping/missing.m"]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_dropin_flag_semantics(workdir):
    """Unambiguous option prefixes (boost), '--name value', appending to an existing CSV without a second header,
    and the hop latency: flag mode 0 unless --noc_hop_latency, HW-file mode NoC_NumHops (default 1)."""
    args = ["--num_pe", "256", "--l1_size=100", "--l2_size_cstr=3000", "--noc_bw_cstr=1000", "--offchip_bw_cstr=50",
            "--Mapping_file=data/mapping/gnmt_nmk.m", "--print_res_csv_file=true"]
    assert maestro.main(args) == 0
    flag0 = (workdir / "gnmt_nmk.csv").read_text().splitlines()
    assert maestro.main(args + ["--noc_hop_latency=1"]) == 0
    both = (workdir / "gnmt_nmk.csv").read_text().splitlines()
    assert len(both) == 2 * len(flag0) - 1 and both[0] == flag0[0]  # appended, one header
    hw = (REF / "hwfile" / "gnmt_nmk.csv").read_text().splitlines()
    assert both[len(flag0):] == hw[1:]  # hop latency 1 in flag mode == the HW file's NoC_NumHops 1
    assert flag0[1:] != hw[1:]
    os.remove(workdir / "gnmt_nmk.csv")
    assert maestro.main(args + ["--print_res_csv_file=false"]) == 0 and not (workdir / "gnmt_nmk.csv").exists()


@pytest.mark.parametrize("path,name", [("data/mapping/x.m", "x.csv"), ("x.m", "x.csv"), ("./x.m", "x.csv"),
                                       ("a/b/c/x.y.m", "c/x.csv"), ("../d/x.m", "x.csv")])
def test_csv_name_is_maestros(path, name):
    assert maestro._csv_name(path) == name  # APIV2::ConstructOutputFileName


LOCAL = pathlib.Path(__file__).parent / "data" / "maestro_local"
LOCAL_SETTINGS = {
    "ex2": ["--num_pes=256", "--l1_size_cstr=100", "--l2_size_cstr=3000", "--offchip_bw_cstr=50"],
    "simd4": ["--num_pes=256", "--l1_size_cstr=100", "--l2_size_cstr=3000", "--noc_bw_cstr=1000",
              "--offchip_bw_cstr=50", "--num_simd_lanes=4", "--noc_hop_latency=1"],
    "hwlat": ["--num_pes=1024", "--noc_bw_cstr=512", "--noc_hops=2", "--noc_hop_latency=3", "--offchip_bw_cstr=256",
              "--l1_size_cstr=1024", "--l2_size_cstr=4096"],
    "cfx": ["--full_buffer=false", "--noc_bw_cstr=81920000", "--noc_hops=1", "--noc_hop_latency=1",
            "--noc_mc_support=true", "--num_pes=128", "--num_simd_lanes=1", "--l1_size_cstr=819200000",
            "--l2_size_cstr=819200000"],
}


LOCAL_CASES = [pytest.param(n, s, marks=() if n == "ncf_nmk" or (s, n) == ("simd4", "mnasnet_rs") else pytest.mark.slow,
                            id=f"{n}-{s}")
               for n in sorted(p.stem for p in (LOCAL / "mapping").glob("*.m")) for s in sorted(LOCAL_SETTINGS)]


@pytest.mark.parametrize("name,setting", LOCAL_CASES)
def test_dropin_other_flag_settings(tmp_path, monkeypatch, name, setting):
    """Default NoC bandwidth and hop latency, SIMD lanes, multi-hop latency, ConfuciuX's flags
    (tests/data/maestro_local)."""
    shutil.copytree(LOCAL / "mapping", tmp_path / "data" / "mapping")
    monkeypatch.chdir(tmp_path)
    assert maestro.main([*LOCAL_SETTINGS[setting], f"--Mapping_file=data/mapping/{name}.m", *COMMON]) == 0
    assert (tmp_path / f"{name}.csv").read_text() == (LOCAL / setting / f"{name}.csv").read_text()
