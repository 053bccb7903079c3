"""Workload tables: one layer table for both cost models, and the layer forms each model takes.

* :class:`LayerTable` is the one table a network (or a whole architecture space) is written in:
  convolutions (stride, explicit padding, ``groups``: depthwise is ``groups == channels``) and
  GEMMs, one row per layer, with a repeat count and a network id. It converts to what each model
  takes: :meth:`LayerTable.to_gemm` (the systolic model's GEMMs, SCALE-Sim's im2col lowering with its
  per-channel expansion of depthwise layers) and :meth:`LayerTable.to_spatial` (MAESTRO's
  ``K, C, R, S, Y, X`` layers, CONV / DSCONV / GEMM).
* :class:`Gemm` is the systolic model's input (SCALE-Sim's operand matrices), :class:`Conv` a
  SCALE-Sim topology conv row, lowered to :class:`Gemm` exactly as SCALE-Sim 3.0.0 does
  (``scalesim/topology_utils.py: topologies.topo_calc_hyperparams``,
  ``scalesim/compute/operand_matrix.py``): ``M = E_h * E_w`` ofmap pixels with
  ``E = ceil((I - F + s) / s)``, ``N`` filters, ``K = F_h * F_w * C``. A GEMM topology row is
  loaded by SCALE-Sim as a 1-channel ``M x K`` ifmap under a ``1 x K`` filter
  (``topologies.load_arrays_gemm``).
* :class:`SpatialLayer` is the spatial model's input (MAESTRO's dimensions, input sizes).

SCALE-Sim topology files are read by :mod:`codesign_jax.topology`.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np
from flax import struct

from codesign_jax._validate import validate_positive_int

__all__ = [
    "Conv",
    "GEMM_ARRAY_FIELDS",
    "Gemm",
    "LAYER_KINDS",
    "LAYER_TYPES",
    "LayerTable",
    "Lowering",
    "SpatialLayer",
    "conv_layer",
    "dsconv_layer",
    "gemm_layer",
]

#: MAESTRO layer types a LayerTable lowers to (the spatial model also takes NGCONV: spatial.KINDS).
LAYER_TYPES = ("CONV", "DSCONV", "GEMM")

GEMM_ARRAY_FIELDS = ("M", "N", "K", "ifmap_unique", "ifmap_valid", "ofmap_w", "filt_h", "filt_w",
                     "channels", "last_h", "last_w")


@struct.dataclass
class Gemm:
    """A table of GEMMs ``out[M, N] = A[M, K] @ B[K, N]`` (int arrays, any common batch shape).

    In SCALE-Sim terms ``A`` is the ifmap operand (``M`` ofmap pixels x ``K`` window), ``B`` the
    filter operand (``K`` x ``N`` filters).

    ``ifmap_unique`` and ``ifmap_valid`` describe the ifmap operand's addresses: the number of
    distinct ifmap words the operand touches and the number of its ``M*K`` entries that are real
    addresses (SCALE-Sim marks window positions that fall off the ifmap edge with -1,
    ``operand_matrix.calc_ifmap_elem_addr``). For a plain GEMM both equal ``M*K``.

    Lowered convolutions also carry their window geometry (``None`` for a plain GEMM, whose
    windows never leave the ifmap): ``ofmap_w`` (pixels per ofmap row), ``filt_h``, ``filt_w``,
    ``channels`` and ``last_h``/``last_w``, the in-range filter rows/cols of the last ofmap
    row/column's windows (``ifmap - (ofmap - 1) * stride``, may be <= 0). They locate the -1
    entries that move SCALE-Sim's last ifmap SRAM request (the DETAILED report's stop cycle).
    """

    M: np.ndarray
    N: np.ndarray
    K: np.ndarray
    ifmap_unique: np.ndarray
    ifmap_valid: np.ndarray
    names: tuple = struct.field(pytree_node=False, default=())
    ofmap_w: np.ndarray | None = None
    filt_h: np.ndarray | None = None
    filt_w: np.ndarray | None = None
    channels: np.ndarray | None = None
    last_h: np.ndarray | None = None
    last_w: np.ndarray | None = None

    @classmethod
    def create(cls, M, N, K, names: Sequence[str] = ()) -> "Gemm":
        """Validated constructor: ``M, N, K`` >= 1 integers (broadcast together)."""
        M = validate_positive_int("M", M)
        N = validate_positive_int("N", N)
        K = validate_positive_int("K", K)
        M, N, K = np.broadcast_arrays(M, N, K)
        return cls(M=M, N=N, K=K, ifmap_unique=M * K, ifmap_valid=M * K, names=tuple(names))

    @property
    def macs(self) -> np.ndarray:
        return self.M * self.N * self.K

    def with_geometry(self) -> "Gemm":
        """This table with conv window geometry filled in; a plain GEMM is SCALE-Sim's 1-channel
        ``M x K`` ifmap under a ``1 x K`` filter (topologies.load_arrays_gemm)."""
        if self.ofmap_w is not None:
            return self
        one = np.ones_like(np.asarray(self.M))
        return self.replace(ofmap_w=one, filt_h=one, filt_w=np.asarray(self.K), channels=one,
                            last_h=one, last_w=np.asarray(self.K))

    @classmethod
    def concat(cls, tables: Sequence["Gemm"]) -> "Gemm":
        """Concatenates 1-D tables along the layer axis (geometry kept if any table has it)."""
        if any(t.ofmap_w is not None for t in tables):
            tables = [t.with_geometry() for t in tables]
        names = tuple(n for t in tables for n in (t.names or ("",) * len(t)))
        fields = [f for f in GEMM_ARRAY_FIELDS if getattr(tables[0], f) is not None]
        return cls(names=names, **{f: np.concatenate([np.ravel(getattr(t, f)) for t in tables])
                                   for f in fields})

    @property
    def shape(self) -> tuple:
        return np.shape(self.M)

    def __len__(self) -> int:
        return int(np.size(self.M))


def _touched(extent, out, filt, stride, valid):
    """Distinct input coordinates read along one axis by ``out`` windows of size ``filt``.

    Windows start at ``o * stride``; coordinates at or beyond ``extent`` are not addresses
    (SCALE-Sim ``calc_ifmap_elem_addr`` marks them -1). Without overlap (stride >= filt) every
    in-range coordinate is distinct (``valid``); with overlap the windows cover one interval.
    """
    return np.where(stride >= filt, valid, np.minimum(extent, (out - 1) * stride + filt))


def _valid(extent, out, filt, stride):
    """Sum over windows of the in-range coordinates (the -1-free entries along one axis)."""
    o = np.arange(int(np.max(out)))
    starts = o[None, :] * np.reshape(stride, (-1, 1))
    in_range = np.clip(np.reshape(extent, (-1, 1)) - starts, 0, np.reshape(filt, (-1, 1)))
    in_range = np.where(o[None, :] < np.reshape(out, (-1, 1)), in_range, 0)
    return in_range.sum(axis=1).reshape(np.shape(extent))


@struct.dataclass
class Conv:
    """A table of 2-D convolutions in SCALE-Sim's topology terms (int arrays ``[n_layers]``).

    Fields: ``ifmap_h, ifmap_w, filt_h, filt_w, channels, num_filters, stride`` (SCALE-Sim uses
    one stride for both axes). No padding: SCALE-Sim's topologies list padded ifmap sizes.
    """

    ifmap_h: np.ndarray
    ifmap_w: np.ndarray
    filt_h: np.ndarray
    filt_w: np.ndarray
    channels: np.ndarray
    num_filters: np.ndarray
    stride: np.ndarray
    names: tuple = struct.field(pytree_node=False, default=())

    @classmethod
    def create(cls, ifmap_h, ifmap_w, filt_h, filt_w, channels, num_filters, stride=1,
               names: Sequence[str] = ()) -> "Conv":
        """Validated constructor; every field >= 1 and the filter must fit in the ifmap."""
        f = {k: validate_positive_int(k, v) for k, v in dict(
            ifmap_h=ifmap_h, ifmap_w=ifmap_w, filt_h=filt_h, filt_w=filt_w, channels=channels,
            num_filters=num_filters, stride=stride).items()}
        arrs = np.broadcast_arrays(*f.values())
        f = dict(zip(f.keys(), arrs))
        for a, b in (("filt_h", "ifmap_h"), ("filt_w", "ifmap_w")):
            if np.any(f[a] > f[b]):
                i = int(np.argmax((f[a] > f[b]).ravel()))
                raise ValueError(
                    f"{a}={f[a].ravel()[i]} exceeds {b}={f[b].ravel()[i]}"
                    + (f" in layer {names[i]!r}" if names else "") + ".")
        return cls(**f, names=tuple(names))

    @property
    def ofmap_h(self):
        # topologies.topo_calc_hyperparams: ofmap_h = ceil((ifmap_h - filt_h + stride) / stride)
        return -(-(self.ifmap_h - self.filt_h + self.stride) // self.stride)

    @property
    def ofmap_w(self):
        return -(-(self.ifmap_w - self.filt_w + self.stride) // self.stride)

    def to_gemm(self) -> Gemm:
        """Lowers to the GEMM SCALE-Sim simulates (im2col): M=E_h*E_w, N=filters, K=Fh*Fw*C."""
        eh, ew = self.ofmap_h, self.ofmap_w
        M = eh * ew
        K = self.filt_h * self.filt_w * self.channels
        vh = _valid(self.ifmap_h, eh, self.filt_h, self.stride)
        vw = _valid(self.ifmap_w, ew, self.filt_w, self.stride)
        uniq = (_touched(self.ifmap_h, eh, self.filt_h, self.stride, vh)
                * _touched(self.ifmap_w, ew, self.filt_w, self.stride, vw) * self.channels)
        valid = vh * vw * self.channels
        return Gemm(M=M, N=self.num_filters, K=K, ifmap_unique=uniq, ifmap_valid=valid,
                    names=self.names, ofmap_w=ew, filt_h=self.filt_h, filt_w=self.filt_w,
                    channels=self.channels, last_h=self.ifmap_h - (eh - 1) * self.stride,
                    last_w=self.ifmap_w - (ew - 1) * self.stride)

    def __len__(self) -> int:
        return int(np.size(self.ifmap_h))


@struct.dataclass
class SpatialLayer:
    """A batch of layers, as MAESTRO takes them (input sizes, not output sizes).

    Fields are arrays of any broadcastable shape ``[...]`` (ints or float64):
      K: output channels (CONV; per group for NGCONV), 1 for DSCONV; N (output columns) for GEMM.
      C: input channels; the reduction size K for GEMM.
      R, S: filter rows/cols (1 for GEMM).  Y, X: input rows/cols; Y is M (output rows) for GEMM.
      stride: Y/X stride (1 for GEMM). N: batch (``batch`` only), G: groups (NGCONV); None = 1. layer_type:
      'CONV', 'DSCONV', 'GEMM' or 'NGCONV' (static); batch: static, MAESTRO's batch tensors.
    """

    K: Any
    C: Any
    R: Any
    S: Any
    Y: Any
    X: Any
    stride: Any
    layer_type: str = struct.field(pytree_node=False, default="CONV")
    N: Any = None
    G: Any = None
    batch: bool = struct.field(pytree_node=False, default=False)


def conv_layer(K, C, R, S, Y, X, stride=1) -> SpatialLayer:
    """A CONV layer; Y, X are input sizes (output = (Y - R) // stride + 1)."""
    return SpatialLayer(K, C, R, S, Y, X, stride, "CONV")


def dsconv_layer(C, R, S, Y, X, stride=1) -> SpatialLayer:
    """A depthwise conv layer (MAESTRO's DSCONV: one filter per channel, K = 1)."""
    return SpatialLayer(1, C, R, S, Y, X, stride, "DSCONV")


def gemm_layer(M, N, K) -> SpatialLayer:
    """GEMM (M x K) @ (K x N), stored as MAESTRO's GEMM dims: Y = M, K-column = N, C = K."""
    return SpatialLayer(N, K, 1, 1, M, 1, 1, "GEMM")


#: Row kinds of a :class:`LayerTable`, in the order of their integer codes.
LAYER_KINDS = ("conv", "gemm")

_TABLE_FIELDS = ("kind", "in_h", "in_w", "pad_h", "pad_w", "out_h", "out_w", "filt_h", "filt_w",
                 "stride", "channels", "filters", "groups", "repeat", "network")


class Lowering(NamedTuple):
    """A :class:`LayerTable` lowered to one model's layer form.

    Attributes:
      layers: the model's layers (:class:`Gemm` or :class:`SpatialLayer`), leaves ``[r]``.
      index: int64 ``[r]``, the table row each lowered row comes from.
      count: int64 ``[r]``, how many times the lowered row runs (the row's ``repeat``, times the
        groups folded into it); a network costs ``sum(count * cost(row))``.
    """

    layers: Any
    index: np.ndarray
    count: np.ndarray


@struct.dataclass
class LayerTable:
    """One table of layers (int64 ``[n]`` fields, one entry per layer) for both cost models.

    Convolution rows (``kind`` 0): an input of ``in_h x in_w`` pixels and ``channels`` channels,
    zero-padded by ``pad_h`` / ``pad_w`` pixels in all (both sides together) along each axis,
    ``filters`` output channels, ``filt_h x filt_w`` windows moved by ``stride`` (both axes), and
    ``groups`` (``channels`` and ``filters`` divisible by it; depthwise = ``groups == channels``),
    giving ``out_h x out_w`` output pixels. GEMM rows (``kind`` 1), ``out[M, N] = A[M, K] @ B[K, N]``,
    are stored as a 1x1 convolution of ``M`` pixels: ``in_h = out_h = M``, ``in_w = out_w = 1``,
    ``channels = K``, ``filters = N``. Every row runs ``repeat`` times (a batch, a scan's trip count,
    the batch dimensions of a batched matmul) and belongs to network ``network`` (a segment id when
    one table holds many networks). ``names`` are static.

    Output sizes are stored, so each model is given the input size that makes its own output formula
    reproduce them: SCALE-Sim's ``ceil((I - F + s) / s)`` (``topo_calc_hyperparams``) and MAESTRO's
    ``floor((Y - R) / s) + 1`` (``Y = (out - 1) * s + R``).
    """

    kind: np.ndarray
    in_h: np.ndarray
    in_w: np.ndarray
    pad_h: np.ndarray
    pad_w: np.ndarray
    out_h: np.ndarray
    out_w: np.ndarray
    filt_h: np.ndarray
    filt_w: np.ndarray
    stride: np.ndarray
    channels: np.ndarray
    filters: np.ndarray
    groups: np.ndarray
    repeat: np.ndarray
    network: np.ndarray
    names: tuple = struct.field(pytree_node=False, default=())

    @classmethod
    def _make(cls, names: Sequence[str] = (), **f) -> "LayerTable":
        """Validates fields (ValueError naming the field, the row and the value) and broadcasts."""
        f = {k: validate_positive_int(k, f[k], minimum=0 if k in ("pad_h", "pad_w", "network",
                                                                  "kind") else 1)
             for k in _TABLE_FIELDS}
        f = dict(zip(f, (np.ravel(a) for a in np.broadcast_arrays(*f.values()))))
        names = tuple(str(n) for n in names)
        if names and len(names) != f["kind"].size:
            raise ValueError(f"names has {len(names)} entries for {f['kind'].size} layers.")

        def fail(mask, what):
            if np.any(mask):
                i = int(np.argmax(mask))
                row = f"layer {names[i]!r}" if names else f"row {i}"
                raise ValueError(f"{row}: {what(i)}.")

        fail(f["kind"] >= len(LAYER_KINDS), lambda i: f"kind must be 0 (conv) or 1 (gemm), got {f['kind'][i]}")
        for a, b in (("channels", "groups"), ("filters", "groups")):
            fail(f[a] % f[b] != 0, lambda i: f"{a}={f[a][i]} is not divisible by {b}={f[b][i]}")
        for ax in ("h", "w"):
            ext, filt, out, s = f["in_" + ax] + f["pad_" + ax], f["filt_" + ax], f["out_" + ax], f["stride"]
            fail(filt > ext, lambda i: f"filt_{ax}={filt[i]} exceeds the padded input {ext[i]}")
            # at most SCALE-Sim's ceil((I - F + s) / s) windows (the last may leave the input)
            fail(out > -(-(ext - filt + s) // s),
                 lambda i: f"out_{ax}={out[i]} needs a larger input than {ext[i]} (filter {filt[i]}, "
                           f"stride {s[i]})")
        return cls(**f, names=names)

    @classmethod
    def conv(cls, in_h, in_w, channels, filters, filt_h, filt_w=None, stride=1, pad_h=0, pad_w=None,
             groups=1, repeat=1, network=0, names: Sequence[str] = ()) -> "LayerTable":
        """Convolutions as frameworks define them: ``out = floor((in + pad - filt) / stride) + 1``.

        ``filt_w``/``pad_w`` default to ``filt_h``/``pad_h``; ``pad_*`` is the total padding of an
        axis (e.g. 2 for 'SAME' 3x3 at stride 1). Fields broadcast to ``[n]``.
        """
        filt_w = filt_h if filt_w is None else filt_w
        pad_w = pad_h if pad_w is None else pad_w
        a = np.broadcast_arrays(*(np.asarray(v) for v in (in_h, in_w, filt_h, filt_w, stride, pad_h,
                                                          pad_w)))
        ih, iw, fh, fw, s, ph, pw = (validate_positive_int(k, v, minimum=0 if k[:3] == "pad" else 1)
                                     for k, v in zip(("in_h", "in_w", "filt_h", "filt_w", "stride",
                                                      "pad_h", "pad_w"), a))
        out = lambda i, p, k: np.maximum((i + p - k) // s + 1, 1)  # invalid sizes fail in _make
        return cls._make(names, kind=0, in_h=ih, in_w=iw, pad_h=ph, pad_w=pw, out_h=out(ih, ph, fh),
                         out_w=out(iw, pw, fw), filt_h=fh, filt_w=fw, stride=s, channels=channels,
                         filters=filters, groups=groups, repeat=repeat, network=network)

    @classmethod
    def gemm(cls, M, N, K, repeat=1, network=0, names: Sequence[str] = ()) -> "LayerTable":
        """GEMMs ``[M, K] @ [K, N]`` run ``repeat`` times each."""
        return cls._make(names, kind=1, in_h=M, in_w=1, pad_h=0, pad_w=0, out_h=M, out_w=1, filt_h=1,
                         filt_w=1, stride=1, channels=K, filters=N, groups=1, repeat=repeat,
                         network=network)

    @classmethod
    def from_scalesim(cls, ifmap_h, ifmap_w, filt_h, filt_w, channels, num_filters, stride,
                      depthwise=False, names: Sequence[str] = ()) -> "LayerTable":
        """SCALE-Sim topology conv rows (padded ifmap sizes; ``out = ceil((I - F + s) / s)``,
        ``topo_calc_hyperparams``). A depthwise row (``DP`` in its name in SCALE-Sim) runs
        ``num_filters`` filters on each channel separately: ``groups = channels``."""
        ih, iw, fh, fw, s, c, k = map(np.asarray, (ifmap_h, ifmap_w, filt_h, filt_w, stride, channels,
                                                     num_filters))
        dw = np.asarray(depthwise, bool)
        return cls._make(names, kind=0, in_h=ih, in_w=iw, pad_h=0, pad_w=0,
                         out_h=-(-(ih - fh + s) // s), out_w=-(-(iw - fw + s) // s), filt_h=fh,
                         filt_w=fw, stride=s, channels=c, filters=np.where(dw, c * k, k),
                         groups=np.where(dw, c, 1), repeat=1, network=0)

    @classmethod
    def from_spatial(cls, layer: SpatialLayer, names: Sequence[str] = ()) -> "LayerTable":
        """The table of a :class:`SpatialLayer` batch (MAESTRO dimensions; a DSCONV is depthwise)."""
        if layer.layer_type not in LAYER_TYPES or layer.batch:  # NGCONV / batch tensors: no table row form
            raise ValueError(f"from_spatial takes {LAYER_TYPES} layers without batch, got {layer.layer_type!r}.")
        K, C, R, S, Y, X, s = (np.ravel(np.asarray(getattr(layer, k))) for k in "K C R S Y X stride".split())
        if layer.layer_type == "GEMM":
            return cls.gemm(Y, K, C, names=names)
        dw = layer.layer_type == "DSCONV"
        return cls.conv(Y, X, C, C if dw else K, R, S, s, groups=C if dw else 1, names=names)

    @classmethod
    def concat(cls, tables: Sequence["LayerTable"]) -> "LayerTable":
        """Concatenates tables along the layer axis (unnamed rows get empty names if any has names)."""
        names = tuple(n for t in tables for n in (t.names or ("",) * len(t)))
        return cls(names=names if any(t.names for t in tables) else (),
                   **{k: np.concatenate([getattr(t, k) for t in tables]) for k in _TABLE_FIELDS})

    def select(self, rows) -> "LayerTable":
        """The rows ``rows`` (int index array or boolean mask) as a new table."""
        idx = np.arange(len(self))[np.asarray(rows)]
        return self.replace(names=tuple(self.names[i] for i in idx) if self.names else (),
                            **{k: getattr(self, k)[idx] for k in _TABLE_FIELDS})

    def __len__(self) -> int:
        return int(self.kind.size)

    @property
    def M(self) -> np.ndarray:
        """GEMM rows per group (output pixels), ``[n]``."""
        return self.out_h * self.out_w

    @property
    def N(self) -> np.ndarray:
        """GEMM columns per group (filters of one group), ``[n]``."""
        return self.filters // self.groups

    @property
    def K(self) -> np.ndarray:
        """GEMM reduction per group (window x channels of one group), ``[n]``."""
        return self.filt_h * self.filt_w * (self.channels // self.groups)

    @property
    def macs(self) -> np.ndarray:
        """Multiply-accumulates of each layer, all groups and repeats, ``[n]``."""
        return self.repeat * self.groups * self.M * self.N * self.K

    def to_conv(self) -> Lowering:
        """The conv rows as SCALE-Sim topology convs, one row per group (SCALE-Sim's per-channel
        expansion of depthwise layers, named ``<name>Channel_<i>``; other groups ``<name>Group_<i>``).
        The ifmap is the padded input trimmed to the last window, ``min(in + pad, (out - 1) s + F)``,
        so SCALE-Sim's output size is the stored one."""
        rows = np.flatnonzero(self.kind == 0)
        g = self.groups[rows]
        idx = np.repeat(rows, g)
        first = np.repeat(np.cumsum(g) - g, g)
        gi = np.arange(idx.size) - first
        ifm = lambda ax: np.minimum(getattr(self, "in_" + ax) + getattr(self, "pad_" + ax),
                                    (getattr(self, "out_" + ax) - 1) * self.stride
                                    + getattr(self, "filt_" + ax))[idx]
        names = ()
        if self.names:
            tag = np.where(self.groups == self.channels, "Channel_", "Group_")
            names = tuple(self.names[i] if self.groups[i] == 1 else f"{self.names[i]}{tag[i]}{j}"
                          for i, j in zip(idx, gi))
        conv = Conv(ifmap_h=ifm("h"), ifmap_w=ifm("w"), filt_h=self.filt_h[idx], filt_w=self.filt_w[idx],
                    channels=(self.channels // self.groups)[idx], num_filters=self.N[idx],
                    stride=self.stride[idx], names=names)
        return Lowering(conv, idx, self.repeat[idx])

    def lower_gemm(self, *, expand_groups: bool = True) -> Lowering:
        """The systolic model's GEMMs: SCALE-Sim's im2col lowering of the conv rows (one GEMM per
        group if ``expand_groups``, else one per layer counted ``groups`` times) and the GEMM rows,
        in table order."""
        if not np.any(self.kind == 0):
            gemm = Gemm.create(self.M, self.N, self.K, names=self.names)
            return Lowering(gemm, np.arange(len(self)), self.repeat.copy())
        table = self if expand_groups else self.replace(
            channels=self.channels // self.groups, filters=self.N, groups=np.ones_like(self.groups))
        conv = table.to_conv()
        parts, index, count = [conv.layers.to_gemm()], [conv.index], [conv.count]
        rows = np.flatnonzero(self.kind == 1)
        if rows.size:
            sub = self.select(rows)
            parts.append(Gemm.create(sub.M, sub.N, sub.K, names=sub.names if self.names else ()))
            index.append(rows)
            count.append(self.repeat[rows])
        index, count = np.concatenate(index), np.concatenate(count)
        if not expand_groups:
            count = count * self.groups[index]
        order = np.argsort(index, kind="stable")
        gemm = Gemm.concat(parts) if len(parts) > 1 else parts[0]
        gemm = gemm.replace(names=tuple(gemm.names[i] for i in order) if self.names else (),
                            **{k: np.asarray(getattr(gemm, k))[order] for k in GEMM_ARRAY_FIELDS
                               if getattr(gemm, k) is not None})
        return Lowering(gemm, index[order], count[order])

    def to_gemm(self) -> Gemm:
        """The systolic model's GEMM table, exactly as SCALE-Sim lowers these layers
        (:meth:`lower_gemm` with groups expanded)."""
        return self.lower_gemm().layers

    def to_spatial(self) -> dict:
        """MAESTRO's layers: ``{layer_type: Lowering}`` for the types present, in :data:`LAYER_TYPES`
        order. Input sizes are ``Y = (out_h - 1) * stride + filt_h`` (``X`` likewise), so MAESTRO's
        output size is the stored one. Depthwise rows (``groups == channels``) become DSCONV (a
        channel multiplier ``m = filters / channels`` counts the row ``m`` times); other grouped
        convolutions one group's CONV counted ``groups`` times; GEMM rows GEMM."""
        conv, dw = self.kind == 0, (self.kind == 0) & (self.groups == self.channels)
        Y = (self.out_h - 1) * self.stride + self.filt_h
        X = (self.out_w - 1) * self.stride + self.filt_w
        out = {}
        for lt, mask in (("CONV", conv & ~dw), ("DSCONV", dw), ("GEMM", self.kind == 1)):
            i = np.flatnonzero(mask)
            if not i.size:
                continue
            if lt == "GEMM":
                layer = gemm_layer(self.M[i], self.N[i], self.K[i])
                count = self.repeat[i]
            elif lt == "DSCONV":
                layer = dsconv_layer(self.channels[i], self.filt_h[i], self.filt_w[i], Y[i], X[i],
                                     self.stride[i])
                count = self.repeat[i] * (self.filters[i] // self.channels[i])
            else:
                layer = conv_layer(self.N[i], self.channels[i] // self.groups[i], self.filt_h[i],
                                   self.filt_w[i], Y[i], X[i], self.stride[i])
                count = self.repeat[i] * self.groups[i]
            out[lt] = Lowering(layer, i, count)
        return out
