"""MAESTRO dataflows as data: directive tables parsed from MAESTRO's own directive text.

A dataflow is a tuple of directives (``SpatialMap(size, ofs) D``, ``TemporalMap(size, ofs) D``,
``Cluster(size, P)``), exactly as written in a MAESTRO mapping file (maestro-project/maestro,
``DFSL_parser.hpp``). Sizes and offsets are integers, ``Sz(D)`` (the layer's size of dimension D) or
named constants (:class:`Const`, declared by ``Constant NAME value;`` lines as in ConfuciuX's
mapping files). A constant's value is an input of the model: a per-point array in
``SpatialAccelerator.constants`` (traced: one compiled graph serves every value), else its default
here (folded at trace time like an integer), or bound to ``num_pes``. The engine in ``_engine.py``
turns any such table into iteration cases, so adding a dataflow never touches the engine:
``DATAFLOWS['mine'] = parse_dataflow(text, 'mine')``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Mapping, Union

DIM_NAMES = ("K", "C", "R", "S", "Y", "X", "Y'", "X'", "M", "N", "G")
#: Accelerator fields a constant may be bound to (``Dataflow.bind(ClusterSz='num_pes')``).
BINDABLE = ("num_pes",)


@dataclasses.dataclass(frozen=True)
class Const:
    """A named constant used as a directive size or offset (``SpatialMap(KTileSz,KTileSz) K``)."""

    name: str


SizeExpr = Union[int, str, Const]  # an int, the dimension D of ``Sz(D)``, or a named constant

_DIRECTIVE_RE = re.compile(
    r"^(SpatialMap|TemporalMap|Cluster)\s*\(\s*([^,()]+(?:\([^()]*\))?)\s*,\s*"
    r"([^,()]+(?:\([^()]*\))?)\s*\)\s*([A-Za-z]'?)?\s*$"
)
_SZ_RE = re.compile(r"^Sz\(\s*([A-Za-z]'?)\s*\)$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONST_RE = re.compile(r"^Constant\s+(\S+)\s+(\S+)$")


def _fmt(e: SizeExpr) -> str:
    return f"Sz({e})" if isinstance(e, str) else (e.name if isinstance(e, Const) else str(e))


@dataclasses.dataclass(frozen=True)
class Directive:
    """One MAESTRO directive.

    Attributes:
      kind: 'spatial', 'temporal' or 'cluster'.
      var: the mapped dimension (one of :data:`DIM_NAMES`); '' for a cluster.
      size: map size (cluster size for a cluster): an int, a dimension name meaning ``Sz(name)``, or a
        :class:`Const`.
      ofs: map offset (0 for a cluster), the same kinds of value.
    """

    kind: str
    var: str
    size: SizeExpr
    ofs: SizeExpr

    def to_text(self) -> str:
        """MAESTRO directive text, e.g. ``TemporalMap(Sz(R),1) Y;``."""
        if self.kind == "cluster":
            return f"Cluster({_fmt(self.size)}, P);"
        name = "SpatialMap" if self.kind == "spatial" else "TemporalMap"
        return f"{name}({_fmt(self.size)},{_fmt(self.ofs)}) {self.var};"


@dataclasses.dataclass(frozen=True)
class Dataflow:
    """A named MAESTRO dataflow: directives in order, clusters included, and constant defaults.

    ``levels`` splits the table at each ``Cluster`` (top level first), as MAESTRO's
    ``DFA_cluster-analysis.hpp: ClusterAnalysis::AnalyzeClusters`` does. ``constants`` holds
    ``(name, default)`` pairs: an int (``Constant NAME value;``) or an accelerator field of
    :data:`BINDABLE` the constant follows. A constant without a default must be given per point
    (``SpatialAccelerator.constants``).
    """

    name: str
    directives: tuple[Directive, ...]
    constants: tuple[tuple[str, Union[int, str]], ...] = ()

    @property
    def levels(self) -> tuple[tuple[Directive, ...], ...]:
        out, cur = [], []
        for d in self.directives:
            if d.kind == "cluster":
                out.append(tuple(cur))
                cur = []
            else:
                cur.append(d)
        out.append(tuple(cur))
        return tuple(out)

    @property
    def cluster_sizes(self) -> tuple[SizeExpr, ...]:
        return tuple(d.size for d in self.directives if d.kind == "cluster")

    @property
    def vars(self) -> frozenset[str]:
        return frozenset(d.var for d in self.directives if d.kind != "cluster")

    @property
    def constant_names(self) -> tuple[str, ...]:
        """Names of the constants the directives use, in order of first use."""
        out = []
        for d in self.directives:
            for e in (d.size, d.ofs):
                if isinstance(e, Const) and e.name not in out:
                    out.append(e.name)
        return tuple(out)

    @property
    def defaults(self) -> dict:
        return dict(self.constants)

    def bind(self, **values: Union[int, str]) -> "Dataflow":
        """A copy with constant defaults set: ``bind(KTileSz=4, ClusterSz='num_pes')``."""
        for k, v in values.items():
            _check_default(self.name, k, v)
        merged = {**self.defaults, **values}
        return dataclasses.replace(self, constants=tuple(sorted(merged.items())))

    def substitute(self, values: Mapping[str, int]) -> "Dataflow":
        """A copy with the constants in ``values`` replaced by those integers (the MAESTRO parser's
        substitution, ``DFSL_parser.hpp``); the others stay constants."""
        if not values:
            return self
        sub = lambda e: int(values[e.name]) if isinstance(e, Const) and e.name in values else e
        dirs = tuple(dataclasses.replace(d, size=sub(d.size), ofs=sub(d.ofs)) for d in self.directives)
        for d in dirs:
            _check_rs(self.name, d)
        rest = tuple((k, v) for k, v in self.constants if k not in values)
        return dataclasses.replace(self, directives=dirs, constants=rest)

    def to_text(self) -> str:
        consts = [f"Constant {k} {v};" for k, v in self.constants if isinstance(v, int)]
        return "\n".join(consts + [d.to_text() for d in self.directives])


def _check_default(name: str, key: str, v) -> None:
    if not isinstance(key, str) or not _NAME_RE.match(key):
        raise ValueError(f"dataflow {name!r}: constant name must be an identifier, got {key!r}.")
    if isinstance(v, str):
        if v not in BINDABLE:
            raise ValueError(f"dataflow {name!r}: constant {key} may be bound to {BINDABLE}, got {v!r}.")
    elif isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"dataflow {name!r}: constant {key} must be a positive integer, got {v!r}.")


def _check_rs(name: str, d: Directive) -> None:
    if d.kind == "temporal" and d.var in ("R", "S") and d.size != d.ofs:
        if isinstance(d.size, Const) or isinstance(d.ofs, Const):
            return  # checked per point once the constants have values (check_spatial)
        # DFSL_parser.hpp: "Tile size of R should be equal to tile offset of R".
        raise ValueError(f"dataflow {name!r}, directive {d.to_text()!r}: a TemporalMap on {d.var} needs "
                         "size == offset (MAESTRO rejects it).")


def _parse_size(tok: str, where: str) -> SizeExpr:
    tok = tok.strip()
    m = _SZ_RE.match(tok)
    if m:
        if m.group(1) not in DIM_NAMES:
            raise ValueError(f"{where}: unknown dimension in {tok!r}; valid: {DIM_NAMES}.")
        return m.group(1)
    if _NAME_RE.match(tok):
        return Const(tok)
    try:
        v = int(tok)
    except ValueError:
        raise ValueError(f"{where}: size/offset must be an integer, Sz(D) or a constant's name, got {tok!r}.") from None
    if v <= 0:
        raise ValueError(f"{where}: size/offset must be positive, got {v}.")
    return v


def _split_block(text: str, name: str) -> tuple[str, str]:
    """(text outside, text inside) of an optional ``Dataflow { ... }`` block; comments removed."""
    body = " ".join(ln.split("//")[0] for ln in text.splitlines())
    m = re.search(r"\bDataflow\s*\{", body)
    if not m:
        return "", body
    end = body.rfind("}")
    if end < m.end():
        raise ValueError(f"dataflow {name!r}: 'Dataflow {{' is never closed.")
    return body[:m.start()] + " " + body[end + 1:], body[m.end():end]


def parse_dataflow(text: str, name: str = "custom", constants: Mapping[str, Union[int, str]] | None = None
                   ) -> Dataflow:
    """Parses MAESTRO directive text (one directive per ``;``) into a :class:`Dataflow`.

    Accepts bare directives or a ``Dataflow { ... }`` block, with ``Constant NAME value;`` lines
    (ConfuciuX's mapping files); a size or offset may name a constant. Follows the grammar of MAESTRO's
    ``DFSL_parser.hpp``, including its check that a TemporalMap on R or S has size == offset (for
    constants: once they have values). ``//`` comments are ignored. ``constants`` adds or overrides
    defaults (ints, or ``'num_pes'`` to bind a constant to the PE count).

    Raises:
      ValueError: naming the dataflow and the offending directive or constant.
    """
    outside, inner = _split_block(text, name)
    defaults, stmts = {}, []
    for part, is_inner in ((outside, False), (inner, True)):
        for s in (x.strip() for x in part.split(";")):
            if not s:
                continue
            cm = _CONST_RE.match(s)
            if cm:
                key, val = cm.groups()
                try:
                    defaults[key] = int(val)
                except ValueError:
                    raise ValueError(f"dataflow {name!r}, {s!r}: a constant's value must be an integer.") from None
                _check_default(name, key, defaults[key])
            elif is_inner:
                stmts.append(s)
            else:
                raise ValueError(f"dataflow {name!r}: {s!r} outside the Dataflow block (expected 'Constant NAME "
                                 "value;').")
    if not stmts:
        raise ValueError(f"dataflow {name!r}: no directives in {text!r}.")
    dirs = []
    for s in stmts:
        where = f"dataflow {name!r}, directive {s!r}"
        m = _DIRECTIVE_RE.match(s)
        if not m:
            raise ValueError(f"{where}: expected 'SpatialMap(a,b) D', 'TemporalMap(a,b) D' or 'Cluster(n, P)'.")
        kind_tok, a, b, var = m.groups()
        if kind_tok == "Cluster":
            if b.strip() not in ("P", "L"):
                raise ValueError(f"{where}: cluster type must be P or L, got {b.strip()!r}.")
            dirs.append(Directive("cluster", "", _parse_size(a, where), 0))
            continue
        if var is None or var not in DIM_NAMES:
            raise ValueError(f"{where}: mapped dimension must be one of {DIM_NAMES}, got {var!r}.")
        kind = "spatial" if kind_tok == "SpatialMap" else "temporal"
        dirs.append(Directive(kind, var, _parse_size(a, where), _parse_size(b, where)))
    if dirs[-1].kind == "cluster":
        raise ValueError(f"dataflow {name!r}: ends with a Cluster; the innermost level has no directives.")
    df = Dataflow(name, tuple(dirs), tuple(sorted(defaults.items())))
    if constants:
        df = df.bind(**constants)
    for d in df.substitute(_int_defaults(df)).directives:
        _check_rs(name, d)
    for i, level in enumerate(df.levels):
        n_sp = sum(d.kind == "spatial" for d in level)
        if not level:
            raise ValueError(f"dataflow {name!r}: cluster level {i} has no directives.")
        if n_sp > 2:
            # DFA_cluster-unit.hpp AnalyzeSpatialMapIdx: MultiParallelismInSingleCluster.
            raise ValueError(f"dataflow {name!r}: cluster level {i} has {n_sp} SpatialMaps (MAESTRO allows 2).")
        seen = [d.var for d in level]
        if len(set(seen)) != len(seen):
            raise ValueError(f"dataflow {name!r}: cluster level {i} maps a dimension twice: {seen}.")
    return df


def _int_defaults(df: Dataflow) -> dict:
    return {k: v for k, v in df.constants if isinstance(v, int)}


# Directive texts of maestro-project/maestro@4eb08d1 tools/frontend/dataflow/*.m and
# data/mapping/GEMM_Example.m, as run for tests/data/maestro_reference.csv (ykp_os uses
# TemporalMap(Sz(R),Sz(R)) R because MAESTRO's parser rejects the shipped (Sz(R),7)).
DATAFLOW_TEXTS: dict[str, str] = {
    "kcp_ws": """SpatialMap(1,1) K; TemporalMap(64,64) C; TemporalMap(Sz(R),Sz(R)) R;
        TemporalMap(Sz(S),Sz(S)) S; TemporalMap(Sz(R),1) Y; TemporalMap(Sz(S),1) X; Cluster(64, P);
        SpatialMap(1,1) C; TemporalMap(Sz(R),1) Y; TemporalMap(Sz(S),1) X;
        TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S;""",
    "xp_ws": """TemporalMap(1,1) K; TemporalMap(1,1) C; TemporalMap(Sz(R),1) Y; SpatialMap(Sz(S),1) X;
        TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S;""",
    "rs": """SpatialMap(1,1) Y'; TemporalMap(1,1) X'; TemporalMap(1,1) C; TemporalMap(16,16) K;
        TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S; Cluster(Sz(R),P);
        SpatialMap(1,1) Y; SpatialMap(1,1) R; TemporalMap(Sz(S),Sz(S)) S;""",
    "ykp_os": """TemporalMap(16,16) K; SpatialMap(Sz(R),1) Y; TemporalMap(Sz(S),1) X; TemporalMap(1,1) C;
        Cluster(16, P); SpatialMap(1,1) K; TemporalMap(Sz(R),1) Y; TemporalMap(Sz(S),1) X;
        TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S;""",
    "dpt": """SpatialMap(1,1) C; TemporalMap(Sz(R),1) Y; TemporalMap(Sz(S),1) X;
        TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S;""",
    "maeri": """TemporalMap(1,1) C; SpatialMap(1,1) K; TemporalMap(1,1) Y'; TemporalMap(1,1) X';
        TemporalMap(Sz(R),Sz(R)) R; TemporalMap(Sz(S),Sz(S)) S; Cluster(Sz(R),P);
        SpatialMap(1,1) Y; SpatialMap(1,1) R; Cluster(Sz(S),P); SpatialMap(1,1) X; SpatialMap(1,1) S;""",
    "gemm_nmk": """TemporalMap(1,1) N; SpatialMap(1,1) M; TemporalMap(64,64) K; Cluster(64, P);
        TemporalMap(1,1) N; TemporalMap(1,1) M; SpatialMap(1,1) K;""",
    "gemm_nmk_k100": """TemporalMap(1,1) N; SpatialMap(1,1) M; TemporalMap(100,100) K; Cluster(100, P);
        TemporalMap(1,1) N; TemporalMap(1,1) M; SpatialMap(1,1) K;""",
}

DATAFLOWS: dict[str, Dataflow] = {k: parse_dataflow(v, k) for k, v in DATAFLOW_TEXTS.items()}


def get_dataflow(dataflow: Union[str, Dataflow]) -> Dataflow:
    """Looks a dataflow up by name in :data:`DATAFLOWS` (or passes a :class:`Dataflow` through)."""
    if isinstance(dataflow, Dataflow):
        return dataflow
    if dataflow not in DATAFLOWS:
        raise ValueError(f"unknown dataflow={dataflow!r}; registered: {sorted(DATAFLOWS)}.")
    return DATAFLOWS[dataflow]
