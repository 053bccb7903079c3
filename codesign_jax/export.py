"""A :class:`~codesign_jax.workloads.LayerTable` as the real simulators' input files, and MAESTRO model
files back into a table.

* :func:`write_scalesim_topology`: a SCALE-Sim 3.0.0 topology CSV (``scalesim/topology_utils.py``).
  ``kind='conv'``: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
  Num Filter, Strides,`` with padded ifmap sizes trimmed to the last window (as
  :meth:`LayerTable.to_conv`); a depthwise row is ONE row named ``..._DP`` with ``Num Filter`` = the
  channel multiplier, which SCALE-Sim expands per channel itself; other grouped convolutions one row
  per group; a GEMM row ``M x K @ K x N`` in the conv form SCALE-Sim's own GEMM loader builds
  (``topologies.load_arrays_gemm``: an ``M x K`` 1-channel ifmap under a ``1 x K`` filter, ``N``
  filters), so it simulates exactly as in GEMM mode. ``kind='gemm'``: ``Layer, M, N, K,`` rows of
  :meth:`LayerTable.lower_gemm` (convolutions by their im2col GEMM, depthwise per channel).
* :func:`write_maestro_model`: a MAESTRO model file (``Network NAME { Layer L { Type: CONV|DSCONV|GEMM
  Stride { X: s, Y: s } Dimensions { K: .., C: .., R: .., S: .., Y: .., X: .. } Dataflow { ... } } }``;
  GEMM ``Dimensions { N: .., K: .., M: .. }``), the layers of :meth:`LayerTable.to_spatial` with one
  chosen dataflow per layer type, written as MAESTRO's own ``data/mapping/*.m`` files are
  (maestro-project/maestro, ``DFSL_parser.hpp`` tokenises on `` ,->():;`` and tabs, so layer names are
  reduced to ``[A-Za-z0-9_.]``).
* :func:`read_maestro_model`: MAESTRO model text (``Constant`` lines, ``//`` comments, ``N`` batch
  dimension as ``repeat``) -> LayerTable and each layer's dataflow text.

SCALE-Sim and MAESTRO have no repeat count: ``repeats='expand'`` (default) writes a row that runs ``r``
times ``r`` times (names suffixed ``_r<i>``), so the simulators' network totals are the table's;
``repeats='once'`` writes it once and leaves the multiplication to the caller.
"""

from __future__ import annotations

import os
import re
from typing import Mapping, Union

import numpy as np

from codesign_jax.spatial import DEFAULT_NETWORK_DATAFLOWS, Dataflow, get_dataflow
from codesign_jax.workloads import LAYER_TYPES, LayerTable, SpatialLayer

__all__ = ["maestro_model_text", "read_maestro_model", "scalesim_topology_text",
           "write_maestro_model", "write_scalesim_topology"]

_CONV_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                "Strides,")
_GEMM_HEADER = "Layer, M, N, K,"


def _check_repeats(repeats: str) -> None:
    if repeats not in ("expand", "once"):
        raise ValueError(f"repeats must be 'expand' or 'once', got {repeats!r}.")


def _copies(name: str, count: int, repeats: str) -> list:
    if repeats == "once" or count == 1:
        return [name]
    return [f"{name}_r{i}" for i in range(int(count))]


def _csv_name(name: str, i: int, depthwise: bool) -> str:
    """A SCALE-Sim layer name: no commas; ``DP`` only (and always) in depthwise rows."""
    n = (name or f"layer{i}").replace(",", ";").strip()
    n = n.replace("DP", "Dp")
    return n + "_DP" if depthwise else n


def scalesim_topology_text(table: LayerTable, kind: str = "conv", *, repeats: str = "expand") -> str:
    """The SCALE-Sim topology CSV text of ``table`` (see the module docstring)."""
    _check_repeats(repeats)
    names = table.names or ("",) * len(table)
    lines = []
    if kind == "gemm":
        low = table.lower_gemm()
        g = low.layers
        for j, (i, c) in enumerate(zip(low.index, low.count)):
            base = _csv_name(g.names[j] if g.names else names[i], int(i), False)
            for n in _copies(base, c, repeats):
                lines.append(f"{n}, {int(g.M[j])}, {int(g.N[j])}, {int(g.K[j])},")
        return "\n".join([_GEMM_HEADER] + lines) + "\n"
    if kind != "conv":
        raise ValueError(f"kind must be 'conv' or 'gemm', got {kind!r}.")
    t = table
    # the padded input trimmed to the last window, as LayerTable.to_conv (SCALE-Sim's output size is ours)
    ifm_h = np.minimum(t.in_h + t.pad_h, (t.out_h - 1) * t.stride + t.filt_h)
    ifm_w = np.minimum(t.in_w + t.pad_w, (t.out_w - 1) * t.stride + t.filt_w)
    for i in range(len(t)):
        if t.kind[i] == 1:  # topologies.load_arrays_gemm: M x K ifmap, 1 x K filter, N filters
            rows = [(_csv_name(names[i], i, False), t.M[i], t.K[i], 1, t.K[i], 1, t.N[i], 1)]
        else:
            g, c = int(t.groups[i]), int(t.channels[i])
            geo = (ifm_h[i], ifm_w[i], t.filt_h[i], t.filt_w[i])
            if g == 1:
                rows = [(_csv_name(names[i], i, False), *geo, c, t.filters[i], t.stride[i])]
            elif g == c:  # SCALE-Sim's depthwise convention: C channels, multiplier filters per channel
                rows = [(_csv_name(names[i], i, True), *geo, c, t.filters[i] // c, t.stride[i])]
            else:
                rows = [(_csv_name(f"{names[i] or f'layer{i}'}Group_{k}", i, False), *geo, c // g,
                         t.filters[i] // g, t.stride[i]) for k in range(g)]
        for r in rows:
            for n in _copies(r[0], t.repeat[i], repeats):
                lines.append(", ".join([n] + [str(int(v)) for v in r[1:]]) + ",")
    return "\n".join([_CONV_HEADER] + lines) + "\n"


def write_scalesim_topology(table: LayerTable, path: str, kind: str = "conv", *, repeats: str = "expand") -> str:
    """Writes :func:`scalesim_topology_text` to ``path`` (run it with SCALE-Sim's ``-i kind``);
    returns ``path``."""
    text = scalesim_topology_text(table, kind, repeats=repeats)
    with open(path, "w") as f:
        f.write(text)
    return path


def _maestro_name(name: str, i: int) -> str:
    n = re.sub(r"[^A-Za-z0-9_.]+", "_", name or "").strip("_")
    return n if n else f"layer{i}"


def _dataflows(dataflows) -> dict:
    if isinstance(dataflows, (str, Dataflow)):
        dataflows = {t: dataflows for t in LAYER_TYPES}
    bad = [k for k in dataflows if k not in LAYER_TYPES]
    if bad:
        raise ValueError(f"dataflows keys must be layer types {LAYER_TYPES}, got {bad}.")
    return {k: get_dataflow(v) for k, v in dataflows.items()}


def maestro_model_text(table: LayerTable, name: str = "network",
                       dataflows: Union[str, Dataflow, Mapping] = None, *, repeats: str = "expand") -> str:
    """MAESTRO model text of ``table``'s :meth:`~LayerTable.to_spatial` layers, each with the dataflow
    of its type (``dataflows``: one name / :class:`Dataflow` for all, or ``{layer type: dataflow}``;
    default
    :data:`~codesign_jax.spatial.DEFAULT_NETWORK_DATAFLOWS`)."""
    _check_repeats(repeats)
    dfs = _dataflows(DEFAULT_NETWORK_DATAFLOWS if dataflows is None else dataflows)
    names = table.names or ("",) * len(table)
    blocks, seen = [], {}
    parts = table.to_spatial()
    missing = [lt for lt in parts if lt not in dfs]
    if missing:
        raise ValueError(f"dataflows has no entry for layer type(s) {missing} present in the table.")
    order = sorted((int(i), lt, j) for lt, low in parts.items() for j, i in enumerate(low.index))
    for i, lt, j in order:
        low = parts[lt]
        L = low.layers
        v = {k: int(np.broadcast_to(np.asarray(getattr(L, k)), low.index.shape)[j])
             for k in ("K", "C", "R", "S", "Y", "X", "stride")}
        base = _maestro_name(names[i], i)
        k = seen[base] = seen.get(base, 0) + 1
        base = base if k == 1 else f"{base}_{k}"
        if lt == "GEMM":
            dims = f"Dimensions {{ N: {v['K']}, K: {v['C']}, M: {v['Y']} }}"
            stride = ""
        else:
            dims = "Dimensions {{ K: {K}, C: {C}, R: {R}, S: {S}, Y: {Y}, X: {X} }}".format(**v)
            stride = f"\t\tStride {{ X: {v['stride']}, Y: {v['stride']} }}\n"
        body = "\n".join("\t\t\t" + d.to_text() for d in dfs[lt].directives)
        count = int(low.count[j])
        note = [names[i]] if names[i] else []
        if repeats == "once" and count > 1:
            note.append(f"runs {count} times")
        note = f" // {', '.join(note)}" if note else ""
        for n in _copies(base, count, repeats):
            blocks.append(f"\tLayer {n} {{{note}\n\t\tType: {lt}\n{stride}\t\t{dims}\n"
                          f"\t\tDataflow {{\n{body}\n\t\t}}\n\t}}")
    net = _maestro_name(name, 0)
    return f"Network {net} {{\n" + "\n".join(blocks) + "\n}\n"


def write_maestro_model(table: LayerTable, path: str, name: str | None = None,
                        dataflows: Union[str, Dataflow, Mapping] = None, *, repeats: str = "expand") -> str:
    """Writes :func:`maestro_model_text` to ``path`` (network name: the file stem by default);
    returns ``path``. Run it with ``maestro --Mapping_file=path --HW_file=...``."""
    if name is None:
        name = os.path.splitext(os.path.basename(path))[0]
    with open(path, "w") as f:
        f.write(maestro_model_text(table, name, dataflows, repeats=repeats))
    return path


_TOKEN = re.compile(r"[^ ,\-\>\(\):\t;\n]+")


def read_maestro_model(text_or_path: str) -> tuple[LayerTable, tuple]:
    """Parses MAESTRO model text (or a file path) into ``(table, dataflow texts per row)``.

    Follows MAESTRO's tokenizer (``DFSL_parser.hpp``): ``Constant NAME value;`` lines, ``//``
    comments, ``Layer NAME { Type: T Stride { X: s, Y: s } Dimensions { D: v, ... } Dataflow {...} }``.
    Types CONV, DSCONV and GEMM (``N``, ``K``, ``M``); a CONV's ``N`` (batch) is the row's ``repeat``.

    Raises:
      ValueError: naming the layer and what is missing or unsupported (NGCONV, TRCONV, unequal strides).
    """
    text = text_or_path
    if "\n" not in text_or_path and os.path.exists(text_or_path):
        with open(text_or_path) as f:
            text = f.read()
    text = "\n".join(line.split("//")[0] for line in text.splitlines())
    consts = {m.group(1): int(m.group(2)) for m in re.finditer(r"Constant\s+(\w+)\s+(-?\d+)\s*;", text)}
    tables, flows = [], []
    for m in re.finditer(r"Layer\s+([^\s{]+)\s*\{\s*Type\s*:\s*(\w+)(.*?)Dataflow\s*\{(.*?)\}\s*\}", text, re.S):
        name, lt, spec, flow = m.groups()
        val = lambda tok: consts[tok] if tok in consts else int(tok)
        dims_m = re.search(r"Dimensions\s*\{(.*?)\}", spec, re.S)
        if lt not in LAYER_TYPES:
            raise ValueError(f"layer {name!r}: type {lt} is not supported (supported: {LAYER_TYPES}).")
        if dims_m is None:
            raise ValueError(f"layer {name!r}: no Dimensions block.")
        toks = _TOKEN.findall(dims_m.group(1))
        dims = {toks[k]: val(toks[k + 1]) for k in range(0, len(toks) - 1, 2)}
        st = re.search(r"Stride\s*\{(.*?)\}", spec, re.S)
        strides = {}
        if st:
            t = _TOKEN.findall(st.group(1))
            strides = {t[k]: val(t[k + 1]) for k in range(0, len(t) - 1, 2)}
        if len(set(strides.values())) > 1:
            raise ValueError(f"layer {name!r}: unequal strides {strides} (one stride per layer).")
        try:
            if lt == "GEMM":
                layer = SpatialLayer(dims["N"], dims["K"], 1, 1, dims["M"], 1, 1, "GEMM")
            else:
                layer = SpatialLayer(dims.get("K", 1), dims["C"], dims["R"], dims["S"], dims["Y"], dims["X"],
                                     next(iter(strides.values()), 1), lt)
        except KeyError as e:
            raise ValueError(f"layer {name!r}: dimension {e.args[0]} missing from {dims}.") from None
        tab = LayerTable.from_spatial(layer, names=[name])
        tables.append(tab.replace(repeat=tab.repeat * dims.get("N", 1) if lt != "GEMM" else tab.repeat))
        flow = re.sub(r"\b[A-Za-z_]\w*\b", lambda t: str(consts.get(t.group(0), t.group(0))), flow)
        flows.append(" ".join(s.strip() + ";" for s in flow.split(";") if s.strip()))
    if not tables:
        raise ValueError("no Layer blocks found in the MAESTRO model text.")
    return LayerTable.concat(tables), tuple(flows)
