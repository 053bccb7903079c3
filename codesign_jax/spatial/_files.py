"""MAESTRO's own input files: model ("mapping") files and hardware files, read as MAESTRO reads them.

A model file holds ``Constant NAME value;`` lines and ``Network NAME { Layer NAME { Type: T; Stride {
X: sx, Y: sy } Dimensions { K: k, ... } Dataflow { directives } } ... }`` (maestro-project/maestro@4eb08d1
``DFSL_parser.hpp``, tokens in ``DFSL_syntax_tokens.hpp``). The reader follows that parser's token
state machine: the same separators (`` ,->():\\t;``), constants substituted where MAESTRO substitutes
them (dimension sizes, map sizes and offsets, cluster sizes), a layer without a Dataflow block reusing
the previous layer's, and the same parse-time refusals (a TemporalMap on R/S whose size is not its
offset or not the layer's R/S). A hardware file holds ``num_pes: n`` style lines
(``DFSL_hw-parser.hpp``). Errors raise :class:`MaestroFileError` with MAESTRO's reason and line.
"""

from __future__ import annotations

import dataclasses
import re

from codesign_jax.spatial._dataflow import DIM_NAMES, Dataflow, Directive

__all__ = ["HWFile", "MaestroFileError", "ModelLayer", "ModelFile", "read_hw_file", "read_model_file"]

_SEP = re.compile(r"[ ,\->():\t;]+")
#: Layer types MAESTRO's parser builds (DFSL_parser.hpp Layer_Type); FC, POOL, LSTM build no layer.
MODEL_LAYER_TYPES = ("CONV", "DSCONV", "GEMM", "NGCONV", "TRCONV")
_DIRECTIVES = {"TemporalMap": "temporal", "SpatialMap": "spatial", "Cluster": "cluster"}


class MaestroFileError(ValueError):
    """A file MAESTRO refuses (it exits with status 255) or that this reader does not model."""


@dataclasses.dataclass(frozen=True)
class ModelLayer:
    """One ``Layer`` block: its type as written (TRCONV included), dimensions in declaration order,
    strides, the dataflow (constants substituted) and the line where the layer ends."""

    name: str
    layer_type: str
    dims: tuple[tuple[str, int], ...]
    strides: tuple[tuple[str, int], ...]
    directives: tuple[Directive, ...]
    line: int

    def dim(self, key: str, default=None):
        return dict(self.dims).get(key, default)

    def dataflow(self, name: str = "layer") -> Dataflow:
        return Dataflow(name, self.directives)


@dataclasses.dataclass(frozen=True)
class ModelFile:
    """A MAESTRO model file: network name, layers in order, and its constants."""

    network: str
    layers: tuple[ModelLayer, ...]
    constants: tuple[tuple[str, int], ...]


def _atoi(tok: str) -> int:
    """C's atoi: leading whitespace, optional sign, digits; 0 when there are none."""
    m = re.match(r"\s*([+-]?\d+)", tok)
    return int(m.group(1)) if m else 0


def _tokens(text: str):
    """(line number, token) pairs with MAESTRO's separators; a token starting with '//' ends its line."""
    for n, line in enumerate(text.splitlines(), start=1):
        for tok in _SEP.split(line):
            if not tok:
                continue
            if tok.startswith("//"):
                break
            yield n, tok


def read_model_file(path: str) -> ModelFile:
    """Reads a MAESTRO model file (DFSL_parser.hpp ParseDFSL).

    Raises:
      MaestroFileError: where MAESTRO's parser stops (with its message and the line), or for content
        this reader does not model (an ``Accelerator`` block).
    """
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise MaestroFileError(f"{path}: cannot open ({e.strerror}).") from None

    def fail(line: int, why: str = ""):
        raise MaestroFileError(f"{path}, line {line}: {why or 'parse error'} (MAESTRO: 'Parse error at line "
                               f"number {line}').")

    consts: dict[str, int] = {}
    network, layers = "", []
    state, name, pending = "idle", "", None
    lay: dict = {}
    prev_dirs = None
    size_from_dim = False
    cur = {}
    line = 0
    for line, tok in _tokens(text):
        if state == "idle":
            if tok == "Network":
                state = "net_id"
            elif tok == "Constant":
                state = "const_name"
            elif tok == "Accelerator":
                raise MaestroFileError(f"{path}, line {line}: Accelerator blocks in a mapping file are not modelled; "
                                       "give the hardware with --HW_file or flags.")
        elif state == "const_name":
            name, state = tok, "const_val"
        elif state == "const_val":
            consts[name], state = _atoi(tok), "idle"
        elif state == "net_id":
            if tok == "{":
                state = "net_body"
            else:
                network = tok
        elif state == "net_body":
            if tok == "}":
                state = "idle"
            elif tok == "Layer":
                state, pending = "layer_id", ""
            else:
                fail(line, f"expected 'Layer' or '}}', got {tok!r}")
        elif state == "layer_id":
            if tok == "{":
                lay = dict(name=pending, type=None, dims=[], strides={}, dirs=[], had_dims=False)
                state = "layer_body"
            else:
                pending = tok
        elif state == "layer_body":
            if tok == "}":
                if lay["type"] is None:
                    fail(line, f"layer {lay['name']!r} has no (supported) Type")
                dirs = lay["dirs"]
                if not dirs:
                    if prev_dirs is None:
                        raise MaestroFileError(f"{path}, line {line}: layer {lay['name']!r} has no Dataflow and no "
                                               "layer before it has one (MAESTRO crashes: null directive table).")
                    dirs = prev_dirs
                prev_dirs = dirs
                layers.append(ModelLayer(lay["name"] or "Layer", lay["type"], tuple(lay["dims"]),
                                         tuple(sorted(lay["strides"].items())), tuple(dirs), line))
                state = "net_body"
            elif tok == "Type":
                state = "layer_type"
            elif tok == "Stride":
                if lay["had_dims"]:
                    fail(line, "Stride description must precede to dimension description")
                state = "stride_decl"
            elif tok == "Dimensions":
                lay["had_dims"], state = True, "dim_decl"
            elif tok == "Dataflow":
                state = "df_decl"
            else:
                fail(line, f"unexpected {tok!r} in layer {lay['name']!r}")
        elif state == "layer_type":
            if tok in MODEL_LAYER_TYPES:
                lay["type"] = tok
            elif tok not in ("FC", "LSTM", "POOL"):
                fail(line, f"unknown layer type {tok!r}")
            state = "layer_body"
        elif state == "stride_decl":
            if tok != "{":
                fail(line, "Syntax error; stride description: Stride {dim1: sz, dim2: sz, ...}")
            state = "stride_body"
        elif state == "stride_body":
            if tok == "}":
                state = "layer_body"
            else:
                name, state = tok, "stride_size"
        elif state == "stride_size":
            v = _atoi(tok)
            if v < 1:
                fail(line, "Stride must be a positive integer value")
            lay["strides"][name], state = v, "stride_body"
        elif state == "dim_decl":
            if tok != "{":
                fail(line)
            state = "dim_body"
        elif state == "dim_body":
            if tok == "}":
                state = "layer_body"
            else:
                name, state = tok, "dim_size"
        elif state == "dim_size":
            v = consts[tok] if tok in consts else _atoi(tok)
            if v == 0:
                fail(line, f"dimension {name} has size {tok!r}")
            lay["dims"].append((name, v))
            state = "dim_body"
        elif state == "df_decl":
            if tok != "{":
                fail(line)
            state = "df_body"
        elif state == "df_body":
            if tok == "}":
                state = "layer_body"
            elif tok in _DIRECTIVES:
                cur = dict(kind=_DIRECTIVES[tok], size=None)
                state = "cluster_size" if tok == "Cluster" else "map_size"
            else:
                fail(line, f"expected a directive, got {tok!r}")
        elif state in ("map_size", "map_ofs", "cluster_size"):
            if tok == "Sz":
                size_from_dim = True
                continue
            if size_from_dim:
                v = dict(lay["dims"]).get(tok, -1)  # Sz(D) of a dimension declared so far
            else:
                v = consts[tok] if tok in consts else _atoi(tok)
            size_from_dim = False
            if v <= 0:
                fail(line, f"directive size {tok!r} is not positive" + (" (Sz of an undeclared dimension)"
                                                                       if v == -1 else ""))
            if state == "map_size":
                cur["size"], state = v, "map_ofs"
            elif state == "map_ofs":
                cur["ofs"], state = v, "map_var"
            else:
                cur["size"], state = v, "cluster_type"
        elif state == "map_var":
            kind, size, ofs = cur["kind"], cur["size"], cur["ofs"]
            if kind == "temporal" and tok in ("R", "S"):
                # DFSL_parser.hpp (felix20210528): R/S TemporalMaps must be (Sz, Sz) of the declared dim.
                if size != ofs:
                    raise MaestroFileError(f"{path}, line {line}: Invalid mapping: Tile size of {tok}({size}) "
                                           f"should be equal to tile offset of {tok}({ofs}).")
                d = dict(lay["dims"]).get(tok)
                if d is not None and d != size:
                    raise MaestroFileError(f"{path}, line {line}: Invalid mapping: Tile size of {tok}({size}) "
                                           f"should be equal to dimension size of {tok}({d}).")
            if tok not in DIM_NAMES:
                raise MaestroFileError(f"{path}, line {line}: directive maps {tok!r}, not a dimension "
                                       f"MAESTRO knows {DIM_NAMES}.")
            lay["dirs"].append(Directive(kind, tok, size, ofs))
            state = "df_body"
        elif state == "cluster_type":
            if tok not in ("P", "L"):
                fail(line, f"cluster type must be P or L, got {tok!r}")
            lay["dirs"].append(Directive("cluster", "", cur["size"], 0))
            state = "df_body"
    if state != "idle":
        fail(line + 1, "unexpected end of file")
    return ModelFile(network, tuple(layers), tuple(consts.items()))


@dataclasses.dataclass(frozen=True)
class HWFile:
    """A MAESTRO hardware file (DFSL_hw-parser.hpp HWConfig, its defaults where a key is absent)."""

    num_pes: int = 1
    l1_size: int = 2**31 - 1
    l2_size: int = 2**31 - 1
    noc_bw: int = 2**31 - 1
    noc_hops: int = 1
    offchip_bw: int = 2**31 - 1


_HW_KEYS = {"num_pes": "num_pes", "l1_size_cstr": "l1_size", "l2_size_cstr": "l2_size", "noc_bw_cstr": "noc_bw",
            "NoC_NumHops": "noc_hops", "offchip_bw_cstr": "offchip_bw"}


def read_hw_file(path: str) -> HWFile:
    """Reads a MAESTRO hardware file (DFSL_hw-parser.hpp ParseHW): ``key: value`` pairs.

    Raises:
      MaestroFileError: an unknown key (MAESTRO: parse error) or a file that cannot be opened.
    """
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise MaestroFileError(f"{path}: cannot open ({e.strerror}).") from None
    vals, key, line = {}, None, 0
    for line, tok in _tokens(text):
        if key is None:
            if tok not in _HW_KEYS:
                raise MaestroFileError(f"{path}, line {line}: unknown key {tok!r}; MAESTRO's hardware file takes "
                                       f"{sorted(_HW_KEYS)} (MAESTRO: parse error).")
            key = _HW_KEYS[tok]
        else:
            vals[key], key = _atoi(tok), None
    if key is not None:
        raise MaestroFileError(f"{path}, line {line + 1}: {key} has no value (MAESTRO: parse error).")
    return HWFile(**vals)
