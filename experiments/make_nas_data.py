"""Builds the NAS package data (``codesign_jax/nas/data/*.csv.gz``) from the shared reference files.

    python experiments/make_nas_data.py --reference_dir ../shared/reference/nas

Inputs (see ``codesign_jax/nas/data/README.md`` for their sources): ``nb201_accuracies.csv`` (all
15,625 NAS-Bench-201 cells) and ``alphanet_models.json`` (9,999 AlphaNet subnets). Outputs keep only
what the package uses (cell op codes / subnet choices, accuracies, the paper's MFLOPs and its
1,046-subnet selection), gzip-compressed with a fixed mtime so the bytes are reproducible; and the paper's 50
accelerators (``codesign_accelerators.csv``) in the maestro-CLI accelerator format.
"""

import csv
import gzip
import io
import json
import os

from absl import app, flags

_REF = flags.DEFINE_string("reference_dir", "../shared/reference/nas", "Directory of the reference files.")
_OUT = flags.DEFINE_string("out_dir", os.path.join(os.path.dirname(__file__), "..", "codesign_jax", "nas", "data"),
                           "Package data directory.")


def _write_gz(path: str, header: list, rows: list) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
        g.write(buf.getvalue().encode())


def main(argv):
    del argv
    with open(os.path.join(_REF.value, "nb201_accuracies.csv"), newline="") as f:
        nb = list(csv.DictReader(f))
    if [int(r["arch_idx"]) for r in nb] != list(range(15625)):
        raise ValueError("nb201_accuracies.csv: arch_idx is not 0..15624 in order.")
    _write_gz(os.path.join(_OUT.value, "nb201.csv.gz"),
              ["op_codes", "cifar10", "cifar100", "imagenet16_120"],
              [[r["op_codes"].zfill(6), r["cifar10_test_acc"], r["cifar100_test_acc"],
                r["imagenet16_120_test_acc"]] for r in nb])
    with open(os.path.join(_REF.value, "alphanet_models.json")) as f:
        an = json.load(f)
    sel = set(an["selected_1046"])
    rows = []
    for i, m in enumerate(an["models"]):
        if m["index"] != i:
            raise ValueError(f"alphanet_models.json: model {i} has index {m['index']}.")
        rows.append([m["resolution"], "-".join(map(str, m["width"])), "".join(map(str, m["kernel_size"])),
                     "".join(map(str, m["expand_ratio"])), "".join(map(str, m["depth"])), m["top1_acc"],
                     m["mflops"], m["mparams"], int(i in sel)])
    _write_gz(os.path.join(_OUT.value, "alphanet.csv.gz"),
              ["resolution", "width", "kernel_size", "expand_ratio", "depth", "top1_acc", "mflops", "mparams",
               "selected_1046"], rows)
    with open(os.path.join(_REF.value, "codesign_accelerators.csv"), newline="") as f:
        acc = list(csv.DictReader(f))
    with open(os.path.join(_OUT.value, "codesign_accelerators.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["hw", "num_pes", "l1_size_cstr", "l2_size_cstr", "noc_bw_cstr", "offchip_bw_cstr"])
        w.writerows([[f"accelerator_{r['acc_id']}"] + [r[k] for k in ("num_pes", "l1_size_cstr", "l2_size_cstr",
                                                                      "noc_bw_cstr", "offchip_bw_cstr")] for r in acc])


if __name__ == "__main__":
    app.run(main)
