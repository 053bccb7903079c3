"""Engine of the MAESTRO-style spatial cost model: directive table -> cluster levels -> per-case volumes.

Written once against an op set (``ops``): every quantity is an array over the batch (layers x
accelerators, broadcast). :func:`build_levels` does MAESTRO's cluster analysis, :func:`_states` the
Init / Steady / Edge states of each directive (``DFA_iteration-analysis.hpp``) and :class:`_Case` the
traffic / partial-sum volumes of one iteration case (``CA_reuse-analysis.hpp``);
``_analysis.analyze`` sums them over the cases. The model runs them over
``_sym.SymOps`` (interned, statically folded values on numpy or jax.numpy); ``check_spatial``
uses the plain :class:`_Ops`. Integer arithmetic is done exactly in float64 (all counts < 2**52).

Files cited below are under maestro-project/maestro@4eb08d1 ``cost-model/include``.
"""

from __future__ import annotations

from codesign_jax.spatial._dataflow import Const, Dataflow

L2_ENERGY = 18.61  # x MAC energy per L2 access: base/BASE_constants.hpp l2_energy_multiplier
L1_ENERGY = 1.68  # x MAC energy per L1 access: base/BASE_constants.hpp l1_energy_multiplier

# Tensor couplings: user-api/API_user-interface-v2.hpp ConfigConvTensors; a "+N" kind is a layer type
# whose network declares the batch dimension N (MAESTRO's batch_processing tensors).
TENSORS = {
    "CONV": (("input", ("C", "Y", "X")), ("filter", ("K", "C", "R", "S")), ("output", ("K", "Y", "X"))),
    "DSCONV": (("input", ("C", "Y", "X")), ("filter", ("C", "R", "S")), ("output", ("C", "Y", "X"))),
    "GEMM": (("input", ("M", "K")), ("filter", ("K", "N")), ("output", ("M", "N"))),
    "NGCONV": (("input", ("G", "C", "Y", "X")), ("filter", ("G", "K", "C", "R", "S")),
               ("output", ("G", "K", "C", "Y", "X"))),
    "CONV+N": (("input", ("N", "C", "Y", "X")), ("filter", ("K", "C", "R", "S")), ("output", ("N", "K", "Y", "X"))),
    "DSCONV+N": (("input", ("N", "C", "Y", "X")), ("filter", ("C", "R", "S")), ("output", ("N", "C", "Y", "X"))),
    "NGCONV+N": (("input", ("N", "G", "C", "Y", "X")), ("filter", ("G", "K", "C", "R", "S")),
                 ("output", ("N", "G", "K", "C", "Y", "X"))),
}
_SLIDING = {"Y": "R", "X": "S"}  # ConfigConvOverlapDimensions: (X, S), (Y, R) for conv layers
_OUT = {"Y": "Y'", "X": "X'"}


class _Ops:
    """The small op set every formula uses; static Python values short-circuit."""

    def __init__(self, xp):
        self.xp = xp

    def where(self, c, a, b):
        if c is True:
            return a
        if c is False:
            return b
        return self.xp.where(c, a, b)

    def tdiv(self, a, b):  # C++ integer division (truncates toward zero)
        return self.xp.trunc(a / b)

    def fdiv(self, a, b):  # floor division of non-negative integers
        return self.xp.floor(a / b)

    def max(self, a, b):
        return self.xp.maximum(a, b)

    def min(self, a, b):
        return self.xp.minimum(a, b)


def _and(a, b):
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return a & b


def _or(a, b):
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    return a | b


def _not(a):
    return (not a) if isinstance(a, bool) else ~a


class _Dir:
    """A directive after cluster analysis: arrays ``m``/``o`` plus symbolic forms for static pruning."""

    __slots__ = ("spatial", "var", "m", "o", "msym", "osym", "init_only", "no_edge", "me_is_mp")

    def __init__(self, spatial, var, m, o, msym, osym, init_only=False):
        self.spatial, self.var, self.m, self.o = spatial, var, m, o
        self.msym, self.osym, self.init_only = msym, osym, init_only
        self.no_edge = self.me_is_mp = False


class _Level:
    """Static analysis of one cluster level (DFA_cluster-unit.hpp + CA_reuse-analysis.hpp sizes)."""

    def __init__(self, ops, idx, dirs, dims, n_sub, layer_type, simd=1):
        self.idx, self.dirs, self.dims, self.N, self.simd = idx, dirs, dims, n_sub, simd
        self.layer_type = layer_type
        self.conv = layer_type != "GEMM"
        self.sp = next(d for d in dirs if d.spatial)  # upper spatial map (engine's spmap_directive)
        w = ops.where
        # ClusterUnit::AnalyzeSpatialEdgeCase -> num_spatial_edge_clusters_ (static dims).
        d, m, o, n = dims[self.sp.var], self.sp.m, self.sp.o, n_sub
        full = o * (n - 1) + m
        ns = ops.tdiv(ops.tdiv(d - m, o) + 1, n) - 1
        rem = d - (ns + 1) * o * n
        nec_a = w(rem < m, 1.0, ops.tdiv(rem - m, o) + 1)
        nec_b0 = ops.tdiv(d - m, o) + 1
        nec_b = w(d > m, nec_b0 + w(o * (nec_b0 - 1) + m < d, 1.0, 0.0), 1.0)
        self.nec = w(d <= m, 1.0, w(d > full, nec_a, nec_b))
        self.nec1 = self.nec == 1
        # ReuseAnalysis::AnalyzeInputMappingSizes: mapped / unique / edge sizes per directive var.
        self.mp, self.un, self.me, self.ue = {}, {}, {}, {}
        for dr in dirs:
            d, m, o = dims[dr.var], dr.m, dr.o
            nst = ops.max(ops.tdiv(d - m, o), 0.0)
            has_edge = (nst * o + m < d) | (m > d)
            self.mp[dr.var] = m
            un = ops.min(m, o)
            if not dr.spatial:
                un = w(d <= m, 0.0, un)
            self.un[dr.var] = un
            em = d - (nst + 1) * o
            em = w(em < 0, d, em)
            # Statically edge-free maps share the object (dedupes sub-cluster analyses by identity).
            self.me[dr.var] = m if dr.me_is_mp else w(has_edge, em, m)
            self.ue[dr.var] = ops.max(o - (m - em), 0.0)
        # AnalyzeOutputMappingSizes: output rows/cols Y', X' from the input window and R/S.
        if self.conv:
            for dr in dirs:
                if dr.var in _SLIDING:
                    s, ov = _SLIDING[dr.var], _OUT[dr.var]
                    self.mp[ov] = self.mp[dr.var] - self.mp[s] + 1
                    self.un[ov] = ops.min(dr.o, dr.m)
                    same = self.me[dr.var] is self.mp[dr.var] and self.me[s] is self.mp[s]
                    self.me[ov] = self.mp[ov] if same else self.me[dr.var] - self.me[s] + 1
                    self.ue[ov] = ops.min(dr.o, self.me[ov])
        self.coupled = {name: vs for name, vs in TENSORS[layer_type]}


class _State:
    """One iteration state of one directive (DFA_iteration-status.hpp IterationState)."""

    __slots__ = ("pos", "exists", "occ", "unrolled", "edge", "ee", "index")

    def __init__(self, pos, exists, occ, unrolled, edge, ee, index):
        self.pos, self.exists, self.occ = pos, exists, occ
        self.unrolled, self.edge, self.ee, self.index = unrolled, edge, ee, index


def _sym(e):
    """Static identity of a size expression: ('i', int), ('Sz', dim) or ('k', constant name)."""
    return ("Sz", e) if isinstance(e, str) else (("k", e.name) if isinstance(e, Const) else ("i", e))


def _static_flags(dirs, prev, i, df, conv):
    """States that cannot occur for any valid input (so they are not enumerated).

    Uses: dynamic dims of a lower level never exceed the upper level's map size of that dim
    (ConstructSubClusterDimension takes mapped or edge sizes); a map of size Sz(D) on D covers D;
    valid conv layers have Y >= R and X >= S; a TemporalMap with offset 1 has no Edge state. A
    constant (traced) is only known equal to itself.
    """
    upper = {d.var: d.msym for d in prev} if prev is not None else {}
    csize = df.cluster_sizes[i - 1] if i > 0 else None
    for d in dirs:
        covers = d.init_only or d.msym == ("Sz", d.var) and d.var not in ("Y", "X")
        covers = covers or (i > 0 and upper.get(d.var) == d.msym)
        if d.spatial and i > 0 and d.osym == ("i", 1) and d.msym == ("i", 1):
            covers = covers or (isinstance(csize, (str, Const)) and upper.get(d.var) == _sym(csize))
        d.init_only = covers
        d.no_edge = not d.spatial and d.osym == ("i", 1)
        if i == 0 and d.osym == ("i", 1) and not d.spatial:
            fits = d.msym in (("Sz", d.var), ("i", 1)) or (conv and (d.var, d.msym) in (("Y", ("Sz", "R")),
                                                                                       ("X", ("Sz", "S"))))
            d.me_is_mp = fits
        if i == 0 and not d.spatial and d.msym == ("Sz", d.var) and d.osym == d.msym and d.var not in ("Y", "X"):
            d.me_is_mp = True
        if d.msym == ("i", 1) and d.osym == ("i", 1):
            d.me_is_mp = True


def build_levels(ops, df: Dataflow, layer_type: str, given: dict, stride, num_pes, unit_stride=False,
                 strided=False, consts=None, simd=1):
    """ClusterAnalysis (DFA_cluster-analysis.hpp): per-level directives, dims and sub-cluster counts.

    Args:
      given: layer dims as MAESTRO reads them ({K,C,R,S,Y,X} or {K,M,N}), float64 arrays.
      stride: outer stride of Y and X (conv layers), float64 array.
      num_pes: float64 array.
      unit_stride: static promise that stride == 1 everywhere (fewer iteration states).
      strided: static promise that stride != 1 everywhere (ApplyOuterStride's tests fold).
      consts: values of the dataflow's remaining constants (name -> array), as MAESTRO substitutes
        them into the directives (DFSL_parser.hpp).
      simd: SIMD lanes per PE (static; MAESTRO's --num_simd_lanes).
    Returns: list of :class:`_Level`, top first.
    """
    conv = layer_type != "GEMM"
    full = dict(given)
    if conv:
        full["Y'"] = given["Y"] - given["R"] + 1
        full["X'"] = given["X"] - given["S"] + 1
    in_vars = sorted({v for name, vs in TENSORS[layer_type] if name != "output" for v in vs})

    consts = consts or {}

    def res(e):
        if isinstance(e, Const):
            if e.name not in consts:
                raise ValueError(f"dataflow {df.name!r}: constant {e.name} has no value (give it per point in "
                                 "SpatialAccelerator.constants or as a default).")
            return consts[e.name]
        if isinstance(e, str):
            if e not in given:
                raise ValueError(f"dataflow {df.name!r} uses Sz({e}), but a {layer_type} layer has no {e}.")
            return given[e]
        return float(e)

    csizes = [res(c) for c in df.cluster_sizes]
    prod = 1.0
    for c in csizes:
        prod = prod * c
    not_one = True if strided else stride != 1  # ApplyOuterStride's "stride != 1"
    levels, prev, dims = [], None, full
    for i, lvl in enumerate(df.levels):
        dirs = [_Dir(d.kind == "spatial", d.var, res(d.size), res(d.ofs), _sym(d.size), _sym(d.ofs)) for d in lvl]
        # ConvertToInputCentric: Y' -> Y with size + Sz(R-directive) - 1 (offset kept).
        for d in dirs:
            if d.var in ("Y'", "X'"):
                s = "R" if d.var == "Y'" else "S"
                sd = next((x for x in dirs if x.var == s), None)
                if sd is None:
                    raise ValueError(f"dataflow {df.name!r}: level {i} maps {d.var} without a directive on {s}.")
                d.var, d.m, d.msym = d.var[0], d.m + sd.m - 1, ("cv", d.msym, sd.msym)
        if prev is not None:  # InheritMissingDirectives (AddDirectiveFront, upper order)
            for up in prev:
                if all(x.var != up.var for x in dirs):
                    dirs.insert(0, _Dir(False, up.var, up.m, up.o, up.msym, up.osym, True))
        for v in in_vars:  # UnrollMissingDirectives
            if all(x.var != v for x in dirs) and v in dims:
                dirs.append(_Dir(False, v, dims[v], dims[v], ("dim", i, v), ("dim", i, v), True))
        for d in dirs:
            if d.var not in dims:
                raise ValueError(f"Dimension {d.var} not found: dataflow {df.name!r} maps {d.var} at cluster "
                                 f"level {i}, which a {layer_type} layer does not have there (MAESTRO fails).")
        if conv and not unit_stride:  # ApplyOuterStride
            for d in dirs:
                if d.var in _SLIDING:
                    r = given[_SLIDING[d.var]]
                    if d.m is r:  # a Sz(R) map: o_ = 1 and the size stays R (exact; fewer traced ops)
                        f2 = stride if i == 0 else ops.min(r, stride)
                        if isinstance(d.o, float) and d.o == 1.0:
                            d.o = f2  # where(stride != 1, f2, 1) == f2, also for stride 1
                        else:
                            d.o = ops.where(not_one, f2, d.o)
                        d.msym, d.osym = ("st", d.msym), ("st", d.osym, i > 0)
                        continue
                    o_ = ops.fdiv(d.m + stride - r, stride)
                    m2 = o_ * ops.min(stride, r) + ops.max(r - stride, 0.0)
                    f2 = o_ * stride
                    if i > 0:
                        f2 = ops.where(r < stride, o_ * r, f2)
                    c = _and(d.m >= r, not_one)
                    d.m, d.o = ops.where(c, m2, d.m), ops.where(c, f2, d.o)
                    d.msym, d.osym = ("st", d.msym), ("st", d.osym, i > 0)
        _static_flags(dirs, prev, i, df, conv)
        n_sub = ops.fdiv(num_pes, prod) if i == 0 else csizes[i - 1]
        levels.append(_Level(ops, i, dirs, dims, n_sub, layer_type, simd))
        # ConstructLowerClusterDimensionTable: min(map size, dim) for the input-tensor vars.
        nxt = {}
        for v in in_vars:
            d = next(x for x in dirs if x.var == v)
            nxt[v] = ops.min(d.m, dims[v])
        prev, dims = dirs, nxt
    return levels


def _states(ops, lv: _Level, dyn: dict):
    """IterationAnalysis::AnalyzeIterationStates with the (dynamic) dims of this analysis."""
    out = []
    for d in lv.dirs:
        D, m, o = dyn[d.var], d.m, d.o
        w = ops.where
        if not d.spatial:
            init = _State("I", True, 1.0, D <= m, D < m, False, 0)
            n = ops.tdiv(D - m, o)
            st_ex = (m < D) & (n > 0)
            ed_ex = (D >= m) & (n * o + m < D)
            states = [init, _State("S", st_ex, w(st_ex, n, 0.0), False, False, False, 1),
                      _State("E", ed_ex, w(ed_ex, 1.0, 0.0), False, True, False, w(st_ex, 2.0, 1.0))]
        else:
            N = lv.N
            cov = m + o * (N - 1)
            ie = D < cov
            init = _State("I", True, 1.0, D <= cov, ie, ie, 0)
            ns = ops.tdiv(ops.tdiv(D - m, o) + 1, N) - 1
            st_ex = (cov < D) & (ns > 0)
            ed_ex = (D > cov) & ((ns + 1) * o * N + cov > D) & (ns * o * N + cov != D)
            rem = D - (ns + 1) * o * N
            nae = w(rem < m, 1.0, ops.tdiv(rem - m, o) + 1)
            ee = (nae - 1) * o + m < rem
            states = [init, _State("S", st_ex, w(st_ex, ns, 0.0), False, False, False, 1),
                      _State("E", ed_ex, w(ed_ex, 1.0, 0.0), False, True, ee, w(st_ex, 2.0, 1.0))]
        out.append(states)
    return out


class _Case:
    """Per-case volumes (CA_reuse-analysis.hpp), one iteration case of one level."""

    def __init__(self, ops, lv: _Level, st: dict, change=None):
        self.ops, self.lv, self.st = ops, lv, st
        self.order = [d.var for d in lv.dirs]
        self.cls = {d.var: d.spatial for d in lv.dirs}
        nz = [i for i, d in enumerate(lv.dirs) if st[d.var].pos != "I"]
        self.change = (nz[-1] if nz else -1) if change is None else change  # innermost non-Init directive

    def pe_mapped(self, cvars, first, ee):  # GetPEMappedVolume
        lv, w, r = self.lv, self.ops.where, 1.0
        for v in self.order:
            if v not in cvars:
                continue
            s = self.st[v]
            if not self.cls[v]:
                r = r * w(s.edge, lv.me[v], lv.mp[v])
            else:
                a = w(_and(lv.nec1, first or ee), lv.me[v], w(lv.nec1, 1.0, lv.me[v] if ee else lv.mp[v]))
                r = r * w(s.edge, a, lv.mp[v])
        return r

    def pe_ingress(self, cvars, first, ee):  # GetPEIngressVolume
        lv, w = self.lv, self.ops.where
        c = self.change
        if c == -1:
            return self.pe_mapped(cvars, first, ee)
        inited = False
        for i, v in enumerate(self.order):
            if i > c and v in cvars and self.st[v].pos == "I":
                inited = _or(inited, _not(self.st[v].unrolled))
        r, changing = 1.0, False
        mp = lambda v: lv.me[v] if ee else lv.mp[v]
        un = lambda v: lv.ue[v] if ee else lv.un[v]
        for i, v in enumerate(self.order):
            if v not in cvars:
                continue
            s = self.st[v]
            changing = changing or i == c
            if not self.cls[v]:
                if s.pos == "I":
                    r = r * w(s.edge, lv.me[v], lv.mp[v])
                elif i == c:
                    r = r * w(inited, lv.mp[v], self.ops.max(lv.un[v], 1.0))
                else:
                    r = r * lv.mp[v]
            else:
                if first:
                    r = r * mp(v)
                elif s.pos == "I":
                    r = r * (mp(v) if i < c else un(v))
                elif i == c:
                    r = r * w(inited, mp(v), un(v))
                else:
                    r = r * mp(v)
        return r if changing else 0.0

    def pe_egress(self, cvars, psums, first, ee, reuse=True):  # GetPEEgressVolume
        lv, w, nec1 = self.lv, self.ops.where, self.lv.nec1
        r = 1.0
        uz = lambda k: w(lv.un[k] != 0, lv.un[k], 1.0)

        def sp_factor(v, k, s, out_part):
            if s.pos == "S":
                return lv.mp[k] if first else uz(k)
            plain = lv.mp[k] if first else uz(k)
            if s.pos == "I":
                if not ee:
                    return plain
                a = lv.me[k] if (not out_part or not reuse) else lv.ue[k]
                sub = w(nec1, lv.me[k], a)
                return w(s.edge, sub, plain)
            one = lv.me[v] if out_part else lv.me[k]  # Edge: the output part reads me_[dim]
            many = lv.ue[k] if ee else plain
            return w(nec1, one if (first or ee) else 1.0, many)

        if psums:
            for v in self.order:
                if v in cvars:
                    continue
                s = self.st[v]
                if not self.cls[v]:
                    r = r * w(s.edge, lv.me[v], lv.mp[v])
                else:
                    if s.pos == "I" and ee:
                        r = r * w(s.edge, lv.me[v], lv.mp[v] if first else uz(v))
                    else:
                        r = r * sp_factor(v, v, s, False)
        for v in cvars:
            k = _OUT.get(v, v) if lv.conv else v
            s = self.st[v]
            if not self.cls[v]:
                r = r * (w(s.edge, lv.me[k], lv.mp[k]) if s.pos == "I" else (lv.mp[k] if s.pos == "S" else lv.me[k]))
            else:
                r = r * sp_factor(v, k, s, True)
        return r

    def _sp_of(self, cvars):
        sp = None
        edge = False
        for v in cvars:
            if self.cls.get(v):
                sp = self.st[v]
                edge = _or(edge, sp.edge)
        return sp, edge

    def _spread(self, fn, sp, edge, first_is_pe, n_ee_extra=True):
        """The first PE / full PEs / edge-edge PE split shared by the Spatial* traffic functions."""
        lv, w = self.lv, self.ops.where
        nec = lv.nec
        normal = fn(True, False) + (lv.N - 1) * fn(False, False)
        ee = sp.ee
        first = w(_and(lv.nec1, ee), fn(True, True), fn(True, False))
        nfull = self.ops.max(nec - w(ee, 1.0, 0.0) - 1, 0.0)
        extra = nfull * fn(first_is_pe, False) + w(ee, fn(False, True), 0.0)
        at_edge = first + w(nec > 1, extra, 0.0)
        return w(edge, at_edge, normal)

    def ingress(self, cvars):  # GetSpatialIngressTraffic
        sp, edge = self._sp_of(cvars)
        f = lambda first, ee: self.pe_ingress(cvars, first, ee)
        if sp is None:
            return f(True, False)
        return self._spread(f, sp, edge, False)

    def egress(self, cvars):  # GetSpatialEgressTraffic
        sp, edge = self._sp_of(cvars)
        f = lambda first, ee: self.pe_egress(cvars, False, first, ee)
        if sp is None:
            return f(True, False)
        return self._spread(f, sp, edge, False)

    def crit_psums(self, cvars):  # GetNumCriticalPathPartialSums
        sp, edge = self._sp_of(cvars)
        w = self.ops.where
        if sp is None:
            return self.pe_egress(cvars, True, True, False)
        a = w(_and(self.lv.nec1, sp.ee), self.pe_egress(cvars, True, True, True),
              self.pe_egress(cvars, True, True, False))
        return w(edge, a, self.pe_egress(cvars, True, True, False))

    def psum_map(self, cvars):  # GetOutputTensorSpatialMappingSize(for_partial_sum=true)
        lv, w = self.lv, self.ops.where
        sp, edge = self._sp_of(cvars)
        for d in lv.dirs:  # for partial sums any spatial map counts
            if d.spatial:
                sp = self.st[d.var]
                edge = _or(edge, sp.edge)
        f = lambda first, ee, reuse=True: self.pe_egress(cvars, True, first, ee, reuse)
        normal = lv.N * f(True, False)
        ee = sp.ee
        first = w(_and(lv.nec1, ee), f(True, True), f(True, False))
        nfull = self.ops.max(lv.nec - w(ee, 1.0, 0.0) - 1, 0.0)
        extra = nfull * f(True, False) + w(ee, f(False, True, False), 0.0)
        return w(edge, first + w(lv.nec > 1, extra, 0.0), normal)

    def sub_dims(self, ee):  # ReuseAnalysis::ConstructSubClusterDimension
        lv, w = self.lv, self.ops.where
        out, key = {}, []
        for d in lv.dirs:
            v, s = d.var, self.st[d.var]
            same = lv.me[v] is lv.mp[v]
            if not d.spatial:
                val = w(s.edge, lv.me[v], lv.mp[v])
                k = "m" if same or s.pos == "S" else ("e" if s.pos == "E" else "i")
            elif s.pos == "S":
                val, k = lv.mp[v], "m"
            else:
                pick = _or(lv.nec1, ee)
                val = w(_and(s.edge, pick) if s.pos == "I" else pick, lv.me[v], lv.mp[v])
                k = "m" if same else (s.pos, ee)
            out[v] = val
            key.append((v, k))
        if lv.conv:
            for ref, sl in _SLIDING.items():
                if ref in out:
                    out[_OUT[ref]] = out[ref] - out[sl] + 1
        return out, tuple(key)
