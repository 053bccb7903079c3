"""MAESTRO dataflows as data: directive tables parsed from MAESTRO's own directive text.

A dataflow is a tuple of directives (``SpatialMap(size, ofs) D``, ``TemporalMap(size, ofs) D``,
``Cluster(size, P)``), exactly as written in a MAESTRO mapping file (maestro-project/maestro,
``DFSL_parser.hpp``). Sizes and offsets are integers or ``Sz(D)`` (the layer's size of dimension D).
The engine in ``_engine.py`` turns any such table into iteration cases, so adding a dataflow
never touches the engine: ``DATAFLOWS['mine'] = parse_dataflow(text, 'mine')``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Union

SizeExpr = Union[int, str]  # an int, or the name of the dimension D in ``Sz(D)``

DIM_NAMES = ("K", "C", "R", "S", "Y", "X", "Y'", "X'", "M", "N")

_DIRECTIVE_RE = re.compile(
    r"^(SpatialMap|TemporalMap|Cluster)\s*\(\s*([^,()]+(?:\([^()]*\))?)\s*,\s*"
    r"([^,()]+(?:\([^()]*\))?)\s*\)\s*([A-Za-z]'?)?\s*$"
)
_SZ_RE = re.compile(r"^Sz\(\s*([A-Za-z]'?)\s*\)$")


@dataclasses.dataclass(frozen=True)
class Directive:
    """One MAESTRO directive.

    Attributes:
      kind: 'spatial', 'temporal' or 'cluster'.
      var: the mapped dimension ('K', 'C', 'R', 'S', 'Y', 'X', "Y'", "X'", 'M', 'N'); '' for a cluster.
      size: map size (cluster size for a cluster), an int or a dimension name meaning ``Sz(name)``.
      ofs: map offset (0 for a cluster), an int or a dimension name meaning ``Sz(name)``.
    """

    kind: str
    var: str
    size: SizeExpr
    ofs: SizeExpr

    def to_text(self) -> str:
        """MAESTRO directive text, e.g. ``TemporalMap(Sz(R),1) Y;``."""
        fmt = lambda e: f"Sz({e})" if isinstance(e, str) else str(e)
        if self.kind == "cluster":
            return f"Cluster({fmt(self.size)}, P);"
        name = "SpatialMap" if self.kind == "spatial" else "TemporalMap"
        return f"{name}({fmt(self.size)},{fmt(self.ofs)}) {self.var};"


@dataclasses.dataclass(frozen=True)
class Dataflow:
    """A named MAESTRO dataflow: directives in order, clusters included.

    ``levels`` splits the table at each ``Cluster`` (top level first), as MAESTRO's
    ``DFA_cluster-analysis.hpp: ClusterAnalysis::AnalyzeClusters`` does.
    """

    name: str
    directives: tuple[Directive, ...]

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

    def to_text(self) -> str:
        return "\n".join(d.to_text() for d in self.directives)


def _parse_size(tok: str, where: str) -> SizeExpr:
    tok = tok.strip()
    m = _SZ_RE.match(tok)
    if m:
        if m.group(1) not in DIM_NAMES:
            raise ValueError(f"{where}: unknown dimension in {tok!r}; valid: {DIM_NAMES}.")
        return m.group(1)
    try:
        v = int(tok)
    except ValueError:
        raise ValueError(f"{where}: size/offset must be an integer or Sz(D), got {tok!r}.") from None
    if v <= 0:
        raise ValueError(f"{where}: size/offset must be positive, got {v}.")
    return v


def parse_dataflow(text: str, name: str = "custom") -> Dataflow:
    """Parses MAESTRO directive text (one directive per ``;``) into a :class:`Dataflow`.

    Follows the directive grammar of MAESTRO's ``DFSL_parser.hpp``, including its check that a
    TemporalMap on R or S has size == offset. ``//`` comments are ignored.

    Raises:
      ValueError: naming the dataflow and the offending directive.
    """
    lines = [ln.split("//")[0] for ln in text.splitlines()]
    stmts = [s.strip() for s in " ".join(lines).split(";") if s.strip()]
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
        size, ofs = _parse_size(a, where), _parse_size(b, where)
        kind = "spatial" if kind_tok == "SpatialMap" else "temporal"
        if kind == "temporal" and var in ("R", "S") and size != ofs:
            # DFSL_parser.hpp: "Tile size of R should be equal to tile offset of R".
            raise ValueError(f"{where}: a TemporalMap on {var} needs size == offset (MAESTRO rejects it).")
        dirs.append(Directive(kind, var, size, ofs))
    if dirs[-1].kind == "cluster":
        raise ValueError(f"dataflow {name!r}: ends with a Cluster; the innermost level has no directives.")
    df = Dataflow(name, tuple(dirs))
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
