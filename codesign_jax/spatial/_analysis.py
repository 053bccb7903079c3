"""Per-cluster-level cost analysis of the spatial model: iteration cases -> runtime and statistics.

MAESTRO (``CA_cost-analysis-engine.hpp: AnalyzeClusterLevel_V2``) walks every iteration case of a
cluster level: the Cartesian product of each directive's Init / Steady / Edge states. Unrolling that
product per batch element is what made the first version slow (3^n cases x sub-cluster analyses).
This module evaluates the same sums exactly with far fewer terms, using three facts:

* Grouping: before the innermost non-Init directive ``c`` a directive's Init and Steady states give
  identical per-case values (when both exist Init is not an edge; when Init is an edge, Steady does
  not exist), so each such Init stands for both, with occurrences ``1 + n_steady``. A group is
  (``c``, state of ``c``, Edge-or-not of every directive before ``c``).
* Factorization: every per-case value except the ingress depends only on the vector ``b`` of which
  directives are at their Edge (Steady folded into Init as above); the ingress depends only on ``c``
  and ``b`` of the spatially mapped directives. Each is computed once per distinct key; the linear
  statistics (traffic counts, sums) are accumulated per key and multiplied once.
* Off-chip bandwidth: MAESTRO's per-case recurrence ``max(prev, v/comp)/2`` is
  ``max_case floor(A / (comp * 2^e))`` (floors of exact integer quotients nest), so one division
  after a running minimum of ``comp * 2^e`` replaces per-case divisions and ``exp2``.

All quantities are integers below 2^53 held in float64, so regrouping sums is exact (bit-identical to
the case-by-case order), except ``avg_utilized_pes`` of multi-level dataflows (a mean of means).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from codesign_jax.spatial._engine import TENSORS, _and, _Case, _states

_INF = math.inf


def _noc(ops, x, noc_bw, noc_lat):  # AHW_noc-model.hpp GetOutStandingDelay
    return ops.xp.ceil(x / noc_bw) + (noc_lat - 1)


def _mod_small(ops, a, n):
    """``a mod n`` for integers 0 <= a <= 2n, n >= 1, by two conditional subtractions (exact; XLA's
    float remainder is a scalar library call on CPU)."""
    for _ in range(2):
        a = ops.where(a >= n, a - n, a)
    return a


class _Key:
    """A tuple of interned values as a _Lin key."""

    def __init__(self, vals):
        self.k = tuple(v.k if hasattr(v, "k") else ("c", repr(v)) for v in vals)


def _groups(allowed):
    """Yields (combo, c, merged): state index per directive (0 Init, 1 Steady, 2 Edge)."""
    for combo in itertools.product(*allowed):
        nz = [i for i, x in enumerate(combo) if x]
        c = nz[-1] if nz else -1
        if any(combo[i] == 1 for i in range(c)):
            continue  # folded into the Init of the same group
        yield combo, c, [i for i in range(c) if combo[i] == 0 and 1 in allowed[i]]


def analyze(ops, levels, idx, dyn, noc_bw, noc_lat, offchip_bw, top_outputs, extras=False):
    """AnalyzeClusterLevel_V2 (CA_cost-analysis-engine.hpp) for cluster level ``idx``.

    Returns a dict with ``runtime``, ``active`` (average active unit clusters) and ``max_occ`` (the
    largest case occurrence count of this level and the levels below); the top level
    (``top_outputs``) adds traffic counts, buffer requirements, bandwidth and delay statistics, and
    with ``extras`` MAESTRO's arithmetic intensity (``arith``).
    """
    lv = levels[idx]
    w, xp = ops.where, ops.xp
    dirs = lv.dirs
    innermost = idx == len(levels) - 1
    states = _states(ops, lv, dyn)
    ins = [(n, vs) for n, vs in TENSORS[lv.layer_type] if n != "output"]
    out_vars = lv.coupled["output"]
    noc = lambda x: _noc(ops, x, noc_bw, noc_lat)
    # Case order of IterationAnalysis::ConstructIterationStatusTable (for the off-chip recurrence).
    n_states = [w(s[1].exists, 1.0, 0.0) + w(s[2].exists, 1.0, 0.0) + 1.0 for s in states]
    freq, f = [], 1.0
    for n in reversed(n_states):
        freq.insert(0, f)
        f = f * n
    n_cases_total = f
    allowed = [(0,) if d.init_only else ((0, 1) if d.no_edge else (0, 1, 2)) for d in dirs]
    sub_cache = {}  # sub-cluster analyses, keyed by how their dims were formed
    # IterationAnalysis::ConstructIterationStatusTable: a case occurs prod(state occurrences) times (an
    # int in MAESTRO); the all-Steady case is the largest (statically absent Steady states count 1).
    max_occ = 1.0
    for i, d in enumerate(dirs):
        if not d.init_only:
            max_occ = max_occ * ops.max(states[i][1].occ, 1.0)

    def per_b(b):
        """Everything that depends on the Edge vector b only (Steady folded into Init)."""
        st = {d.var: states[i][2 if b[i] else 0] for i, d in enumerate(dirs)}
        case = _Case(ops, lv, st)
        r = {"egress": case.egress(out_vars)}
        psums = case.crit_psums(out_vars)
        r["ppf"] = w(psums > 0, 1.0, 0.0)
        if innermost:
            # CA_cost-analysis-engine.hpp: innermost compute delay = ceil(partial sums / SIMD lanes).
            comp = psums if lv.simd == 1 else ops.xp.ceil(psums / float(lv.simd))
            r["active"] = w(st[lv.sp.var].edge, lv.nec, lv.N)
        else:
            s = st[lv.sp.var]
            subs = {}
            for ee in ((False, True) if lv.sp.spatial else (False,)):
                sd, key = case.sub_dims(ee)
                if key not in sub_cache:
                    sub_cache[key] = analyze(ops, levels, idx + 1, sd, noc_bw, noc_lat, offchip_bw, False)
                subs[ee] = sub_cache[key]
            r0, a0 = subs[False]["runtime"], subs[False]["active"]
            if not any(b):
                r["sub_occ"] = subs[False]["max_occ"]
            if True in subs:
                r1, a1 = subs[True]["runtime"], subs[True]["active"]
                many = lv.nec > 1
                comp = w(_and(s.edge, s.ee), ops.max(r1, w(many, r0, 0.0)), r0)
                act_ee = a1 + w(many, ops.rounded(a0 * (lv.nec - 1)), 0.0)  # fractional: no FMA
                active = w(s.edge, w(s.ee, act_ee, a0 * lv.nec), a0 * lv.N)
            else:
                active = a0 * lv.N
            r["active"] = w(active == 0, w(s.edge, lv.nec, lv.N), active)
        r["comp"], r["eg_d"], r["occ"] = comp, noc(r["egress"]), 0.0
        if top_outputs:
            r["pm"] = case.psum_map(out_vars)
            r["comp1"] = ops.max(comp, 1.0)
            r["safe"] = w(comp > 0, comp, 1.0)
            r.update(bw=0.0, big=0.0, tp=_INF)
        return r

    def per_in(c, combo, b):
        """Ingress per input tensor: depends on the changing directive c and the spatial maps' Edge bits."""
        st = {d.var: states[i][combo[i] if i == c else (2 if (b[i] and d.spatial) else 0)]
              for i, d in enumerate(dirs)}
        case = _Case(ops, lv, st, change=c)
        r = {n: case.ingress(vs) for n, vs in ins}
        r["total"] = sum(r[n] for n, _ in ins)
        r["in_d"] = noc(r["total"])
        r["key"] = _Key(tuple(r[n] for n, _ in ins))
        return r

    nd = len(dirs)
    occ_n = [1.0 + states[i][1].occ if 1 in allowed[i] else 1.0 for i in range(nd)]  # Init + Steady
    cnt_n = [1.0 + w(states[i][1].exists, 1.0, 0.0) if 1 in allowed[i] else 1.0 for i in range(nd)]
    B, IN = {}, {}
    ing_w = _Lin()  # ingress weights, grouped by (interned) value
    top = idx == 0 and top_outputs
    exact_pow = False
    if top:
        # 2^-t per directive state, t = the case's position in MAESTRO's case order (exact powers of 2).
        exact_pow = 3 ** nd <= 900
        pos = [[_mod_small(ops, float(k) - 1 + n_states[i], n_states[i]) * freq[i] for k in (0, 1)]
               + [_mod_small(ops, states[i][2].index - 1 + n_states[i], n_states[i]) * freq[i]] for i in range(nd)]
        pw = [[xp.exp2(-p) for p in ps] for ps in pos] if exact_pow else None
    def get_b(b):
        if b not in B:
            kb = B[b] = per_b(b)
            # All cases with Edge vector b (any Init/Steady elsewhere): occurrences and count, closed form.
            kb["occ"], kb["cnt"], kb["rt"] = 1.0, 1.0, 0.0
            for i in range(nd):
                kb["occ"] = kb["occ"] * (states[i][2].occ if b[i] else occ_n[i])
                if top:
                    kb["cnt"] = kb["cnt"] * (w(states[i][2].exists, 1.0, 0.0) if b[i] else cnt_n[i])
            kb["W"] = kb["occ"] * kb["ppf"]  # valid occurrences
            kb["ec"] = ops.max(kb["eg_d"], kb["comp"])
            if idx == 0:
                kb["ec"] = ops.max(kb["ec"], off_d)
        return B[b]

    def get_in(c, combo, b):
        kin = (c, tuple(b[i] for i, d in enumerate(dirs) if d.spatial))
        if kin not in IN:
            ki = IN[kin] = per_in(c, combo, b)
            if c >= 0:  # the total when the Steady state of c exists (for the peak over valid cases)
                ki["tS"] = w(states[c][1].exists, ki["total"], 0.0)
        return IN[kin]

    b0 = (False,) * nd
    init_in, init_eg = get_in(-1, (0,) * nd, b0), None
    if idx == 0:
        init_eg = per_b(b0)["egress"]
        req_in = 2 * (init_in["input"] + init_in["filter"])
        req_out = 2 * init_eg
        off_d = ops.max(ops.fdiv(ops.fdiv(req_in, offchip_bw), 2), ops.fdiv(ops.fdiv(req_out, offchip_bw), 2))
    for combo, c, merged in _groups(allowed):
        b = tuple(x == 2 for x in combo)
        kb, ki = get_b(b), get_in(c, combo, b)
        occ = 1.0
        for i in range(nd):
            occ = occ * (occ_n[i] if i in merged else states[i][combo[i]].occ)
        if c == -1:
            delay = kb["comp"] + ki["in_d"]
            if idx == 0:
                delay = ops.max(delay, off_d)
        else:
            delay = ops.max(kb["ec"], ki["in_d"])
        kb["rt"] = kb["rt"] + occ * delay
        if not top:
            continue
        ing_w.add(ki["key"], occ * kb["ppf"], ki)
        steady_c = c >= 0 and combo[c] == 1
        kb["big"] = ops.max(kb["big"], ki["tS"] if steady_c else ki["total"])
        # avg NoC bw: floored per (unmerged) case; members pick Init or Steady at the merged directives.
        base = 1.0
        for i in range(nd):
            if i not in merged:
                base = base * states[i][combo[i]].occ
        bb, members = base * ops.max(ki["total"], kb["egress"]), [1.0]
        for i in merged:
            members = members + [m * states[i][1].occ for m in members]
        kb["bw"] = kb["bw"] + sum(ops.fdiv(bb * m, kb["comp1"]) for m in members)
        if c == -1:
            tp = 1.0
        elif exact_pow:
            tp = 0.5
            for i in range(nd):
                tp = tp * pw[i][combo[i]]
        else:  # too many cases for exact powers of 2 in float64: exponent per case (below)
            kb.setdefault("t", []).append((1.0 + sum(pos[i][combo[i]] for i in range(nd)), steady_c and c))
            continue
        kb["tp"] = ops.min(kb["tp"], w(states[c][1].exists, tp, _INF) if steady_c else tp)

    res: dict[str, Any] = {"runtime": sum(kb["ppf"] * kb["rt"] for kb in B.values())}
    if "sub_occ" in B.get((False,) * nd, {}):  # the sub-clusters of Init/Steady tiles: the largest dims
        max_occ = ops.max(max_occ, B[(False,) * nd]["sub_occ"])
    res["max_occ"] = max_occ
    act_w = _Lin()
    for kb in B.values():
        act_w.add(kb["active"], kb["W"])
    tot = act_w.weight()
    safe_tot = w(tot > 0, tot, 1.0)
    act = act_w.dot(rounded=ops.rounded)  # sub-level averages are fractional: no FMA
    res["active"] = w(tot > 0, act / safe_tot, act)
    if not top_outputs:
        return res
    eg_w, cp_w, pm_w, occ_eg, occ_pm = _Lin(), _Lin(), _Lin(), _Lin(), _Lin()
    res["peak"] = res["bw_avg"] = n_invalid = 0.0
    # CA_cost-analysis-engine.hpp: off_chip_bw_req = L2 req / computation_delay runs before the delay is
    # clamped to 1: a valid top-level case whose sub-clusters compute nothing divides by zero (SIGFPE).
    res["zero_comp"] = False
    if not innermost:
        for kb in B.values():
            res["zero_comp"] = res["zero_comp"] | ((kb["W"] > 0) & (kb["comp"] == 0))
    # off_chip_bw_req: max over valid cases of floor(floor(A/comp) / 2^e), e = max(T - t - n_invalid, 1),
    # A = max(L2out, L2in) (the recurrence halves once per processed case; invalid ones trail the order).
    den = _INF
    for kb in B.values():
        eg_w.add(kb["eg_d"], kb["W"])
        cp_w.add(kb["comp1"], kb["W"])
        pm_w.add(kb["pm"], kb["W"])
        occ_eg.add(kb["egress"], kb["occ"])
        occ_pm.add(kb["pm"], kb["occ"])
        peak = ops.fdiv(ops.max(kb["big"], kb["egress"]), kb["comp1"])
        res["peak"] = ops.max(res["peak"], w(kb["W"] > 0, peak, 0.0))
        res["bw_avg"] = res["bw_avg"] + kb["ppf"] * kb["bw"]
        n_invalid = n_invalid + (1.0 - kb["ppf"]) * kb["cnt"]
    scale = xp.exp2(n_cases_total - n_invalid)
    for kb in B.values():
        vb = kb["W"] > 0
        den = ops.min(den, w(vb, ops.max(kb["tp"] * scale, 2.0) * kb["safe"], _INF))
        for t, sc in kb.get("t", ()):
            e = xp.exp2(ops.max(n_cases_total - t - n_invalid, 1.0))
            ok = vb if sc is False else vb & states[sc][1].exists
            den = ops.min(den, w(ok, e * kb["safe"], _INF))
    a_req = ops.max(req_in, req_out)
    res["offchip"] = ops.fdiv(a_req, den)
    res["macs"] = pm_w.dot()
    res["l2w_output"], res["l1w_output"] = occ_eg.dot(), occ_pm.dot()
    for n, _ in ins:
        res["l1r_" + n] = res["macs"]
        res["l2r_" + n] = ing_w.dot(lambda ki: ki[n])
    in_w = _Lin()
    for v, wt, ki in ing_w.items():
        in_w.add(ki["in_d"], wt)
    for k, lin in (("in", in_w), ("eg", eg_w), ("cp", cp_w)):
        res[k + "_min"], res[k + "_max"] = lin.minmax(ops)
        res[k + "_avg"] = xp.trunc(lin.dot() / safe_tot)  # stored in a long (CA results)
    res["bw_avg"] = res["bw_avg"] / safe_tot
    res["tot"] = tot
    res["l2req_input"] = 2 * init_in["input"]
    res["l2req_filter"] = 2 * init_in["filter"]
    res["l2req_output"] = 2 * init_eg
    res["n_cases"] = n_cases_total
    if extras:
        res["arith"] = _last_case_intensity(ops, dirs, states, allowed, pos, get_b, get_in)
    return res


def _last_case_intensity(ops, dirs, states, allowed, pos, get_b, get_in):
    """CA_cost-analysis-engine.hpp SetArithmeticIntensity: the partial sums mapped / ingress of the LAST
    valid case in MAESTRO's case order, where the case at position c (1 <= c < #cases) has, per directive,
    the state of mixed-radix digit (c - 1)_i: Init n_i - 1, Steady 0, Edge (its index - 1) (``pos``);
    the all-Init case comes first (c = 0). Validity depends on the Edge vector b only, so the last case
    is, over b != 0, "Init except the Edges of b" and, for b = 0, "Init except the innermost directive
    with a Steady state"; the all-Init case when nothing else is valid.
    """
    w, nd = ops.where, len(dirs)
    b0 = (False,) * nd
    init_pos = sum(pos[i][0] for i in range(nd))
    kb0 = get_b(b0)
    ki0 = get_in(-1, (0,) * nd, b0)
    best_p, best = -1.0, w(kb0["ppf"] > 0, kb0["pm"] / ki0["total"], 0.0)
    cands = []
    for j in range(nd):  # b = 0: Steady at j, Init elsewhere
        if 1 in allowed[j]:
            combo = tuple(1 if i == j else 0 for i in range(nd))
            ok = _and(kb0["ppf"] > 0, states[j][1].exists)
            cands.append((init_pos - pos[j][0] + pos[j][1], ok, kb0, get_in(j, combo, b0)))
    for b in itertools.product(*[(False, True) if 2 in a else (False,) for a in allowed]):
        if not any(b):
            continue
        c = max(i for i in range(nd) if b[i])
        kb = get_b(b)
        p = init_pos + sum(pos[i][2] - pos[i][0] for i in range(nd) if b[i])
        cands.append((p, kb["W"] > 0, kb, get_in(c, tuple(2 if x else 0 for x in b), b)))
    for p, ok, kb, ki in cands:
        take = _and(ok, p > best_p)
        best_p, best = w(take, p, best_p), w(take, kb["pm"] / ki["total"], best)
    return best


class _Lin:
    """sum_i weight_i * value_i with the weights of identical (interned) values added first."""

    def __init__(self):
        self.d = {}

    def add(self, val, wt, payload=None):
        k = val.k if hasattr(val, "k") else ("c", repr(val))
        old = self.d.get(k)
        self.d[k] = (val, wt if old is None else old[1] + wt, payload)

    def items(self):
        return list(self.d.values())

    def weight(self):
        tot = 0.0
        for _, wt, _ in self.d.values():
            tot = tot + wt
        return tot

    def dot(self, f=None, rounded=None):
        tot = 0.0
        for v, wt, p in self.d.values():
            t = wt * (f(p) if f else v)
            tot = tot + (rounded(t) if rounded else t)
        return tot

    def minmax(self, ops):
        lo, hi = _INF, -_INF
        for v, wt, _ in self.d.values():
            ok = wt > 0
            lo, hi = ops.min(lo, ops.where(ok, v, _INF)), ops.max(hi, ops.where(ok, v, -_INF))
        return lo, hi
