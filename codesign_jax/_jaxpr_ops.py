"""The multiply-accumulate primitives of a jaxpr as :class:`~codesign_jax.workloads.LayerTable` rows.

Pure functions of operand shapes and primitive parameters (no JAX tracing here), used by
:mod:`codesign_jax.trace`:

* :func:`dot_row`: ``dot_general`` -> a GEMM row. ``M`` = product of the lhs free dimensions,
  ``N`` = product of the rhs free dimensions, ``K`` = product of the contracting dimensions, and
  the batch dimensions' product is the row's ``repeat`` (one GEMM per batch index). A dense layer on
  ``[batch, seq, features]`` is ``M = batch * seq``; ``einsum('bhqd,bhkd->bhqk')`` is ``b*h`` GEMMs of
  ``q x d @ d x k``. MACs = ``repeat * M * N * K`` (``jax.lax.dot_general_p``'s own definition).
* :func:`conv_row`: ``conv_general_dilated`` -> a conv row, per spatial axis one of two forms:

  - forward axis (``lhs_dilation == 1``): ``out`` output positions, a window of ``F`` taps moved
    by the window stride, the input and its padding (negative padding crops the input). MACs per
    axis ``out * F``, padding taps included (an im2col GEMM computes them; XLA's cost analysis
    counts only in-bounds taps). A dilated window (``rhs_dilation``) keeps its ``F`` real taps: it is
    costed as the dense window with the same taps (the same im2col GEMM ``M, N, K``; the models'
    input sizes are those of the dense window);
  - transposed axis (``lhs_dilation = s > 1`` with window stride 1: ``nn.ConvTranspose``, the
    input gradient of a strided conv): the scatter (col2im) form of the transposed convolution.
    Each of the ``in`` real input positions times each of the ``F`` taps, i.e. ``in * F`` MACs per
    axis; products with the ``s - 1`` zeros inserted between input pixels are not counted. The
    row is a 1x1 window over the ``in`` input positions whose ``F`` taps are folded into the
    filters (``filters = F * C_out``): GEMM ``M = in_h * in_w``, ``K = C_in / groups``,
    ``N = F_h * F_w * C_out / groups`` (SCALE-Sim); MAESTRO ``CONV`` with ``R = S = 1``,
    ``K = F_h F_w C_out / groups``. The overlap-add of the partial sums into the output (col2im)
    is additions, not MACs, and is not costed. Every product of a real input and a weight is
    counted, also those that land in a border the output crops ('SAME' padding), as a forward
    convolution counts its padding taps; with nothing cropped ('VALID') it equals XLA's count.

  The last two spatial axes are the row's ``h`` and ``w``; any earlier spatial axes (3-D convs) are
  folded exactly: their output (or input, if transposed) positions into ``repeat``, their taps into
  ``channels`` (or ``filters``, if transposed). ``feature_group_count`` is ``groups`` (depthwise when
  it equals the input channels); ``batch_group_count = G`` (weight gradients of grouped convs) is a
  grouped conv of ``G`` batch slices stacked as channels (``channels = C_in * G``, ``groups = G``)
  repeated ``batch / G`` times. The output batch is the row's ``repeat``. MACs =
  ``batch_out * prod(positions) * prod(taps) * C_in * C_out / feature_group_count``.
"""

from __future__ import annotations

import math
from typing import Sequence

__all__ = ["Unsupported", "conv_row", "dot_row", "row_macs"]


class Unsupported(Exception):
    """A MAC primitive whose parameters have no layer-table form (listed in the trace's warning)."""


def row_macs(row: dict) -> int:
    """MACs of one row dict, as :attr:`LayerTable.macs` computes them."""
    g = row["groups"]
    return (row["repeat"] * g * row["out_h"] * row["out_w"] * (row["filters"] // g)
            * row["filt_h"] * row["filt_w"] * (row["channels"] // g))


def dot_row(lhs: Sequence[int], rhs: Sequence[int], dimension_numbers) -> dict | None:
    """GEMM row of ``dot_general(lhs, rhs)``; ``None`` if an operand is empty (no MACs)."""
    (lc, rc), (lb, rb) = dimension_numbers
    if 0 in lhs or 0 in rhs:
        return None
    lfree = [d for i, d in enumerate(lhs) if i not in lc and i not in lb]
    rfree = [d for i, d in enumerate(rhs) if i not in rc and i not in rb]
    M, N = math.prod(lfree), math.prod(rfree)
    K, B = math.prod(lhs[i] for i in lc), math.prod(lhs[i] for i in lb)
    return dict(kind=1, in_h=M, in_w=1, pad_h=0, pad_w=0, out_h=M, out_w=1, filt_h=1, filt_w=1,
                stride=1, channels=K, filters=N, groups=1, repeat=B)


def _axis(i: int, I: int, F: int, O: int, p: dict) -> dict:
    """One spatial axis in forward or transposed form (see the module docstring)."""
    lo, hi = p["padding"][i]
    ld, ws = p["lhs_dilation"][i], p["window_strides"][i]
    if ld > 1:
        if ws != 1:
            raise Unsupported(f"lhs_dilation {ld} with window stride {ws} on spatial axis {i}")
        return dict(transposed=True, pos=I, taps=F, in_=I, pad=0, out=I, filt=1, stride=1)
    in_ = I + min(lo, 0) + min(hi, 0)
    if in_ < 1:
        raise Unsupported(f"negative padding {(lo, hi)} crops all {I} input positions of spatial axis {i}")
    return dict(transposed=False, pos=O, taps=F, in_=in_, pad=max(lo, 0) + max(hi, 0), out=O, filt=F,
                stride=ws)


def conv_row(lhs: Sequence[int], rhs: Sequence[int], out: Sequence[int], p: dict) -> tuple[dict | None, list]:
    """Conv row of ``conv_general_dilated`` (params ``p``) and notes on approximations.

    Returns ``(None, [])`` for an empty output or operand (no MACs).

    Raises:
      Unsupported: ``lhs_dilation`` together with a window stride on the same axis, or padding
        that crops the whole input.
    """
    dn = p["dimension_numbers"]
    lspec, rspec, ospec = dn.lhs_spec, dn.rhs_spec, dn.out_spec
    if 0 in lhs or 0 in rhs or 0 in out:
        return None, []
    fg, bg = p["feature_group_count"], p["batch_group_count"]
    nsp = len(lspec) - 2
    axes = [_axis(i, lhs[lspec[2 + i]], rhs[rspec[2 + i]], out[ospec[2 + i]], p) for i in range(nsp)]
    repeat = out[ospec[0]]                                    # output batch = lhs batch / bg
    channels = lhs[lspec[1]] * bg                             # bg batch slices stacked as channels
    filters = rhs[rspec[0]]
    for a in axes[:-2]:                                       # 3-D and up: fold the leading axes
        repeat *= a["pos"]
        if a["transposed"]:
            filters *= a["taps"]
        else:
            channels *= a["taps"]
    keep = axes[-2:]
    for a in keep:
        if a["transposed"]:
            filters *= a["taps"]
    unit = dict(transposed=False, in_=1, pad=0, out=1, filt=1, stride=1)
    keep = [unit] * (2 - len(keep)) + keep
    h, w = keep
    notes = []
    strides = {a["stride"] for a in keep if a["out"] > 1}
    stride = min(strides, default=1)
    if len(strides) > 1:
        # LayerTable has one stride; the smaller one keeps every output inside the input (MACs exact)
        notes.append(f"window strides {tuple(p['window_strides'])} costed with stride {stride} on both "
                     f"axes (MACs exact; the models see a smaller input along the other axis)")
    if any(d > 1 for d in p["rhs_dilation"]):
        notes.append(f"rhs_dilation {tuple(p['rhs_dilation'])} costed as the dense window of the same "
                     f"taps (same im2col GEMM)")
    row = dict(kind=0, in_h=h["in_"], in_w=w["in_"], pad_h=h["pad"], pad_w=w["pad"], out_h=h["out"],
               out_w=w["out"], filt_h=h["filt"], filt_w=w["filt"], stride=stride, channels=channels,
               filters=filters, groups=fg * bg, repeat=repeat)
    return row, notes
