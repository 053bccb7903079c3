"""Layer tables traced from JAX / Flax functions: MACs against hand counts and XLA's cost analysis."""

import warnings
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.sharding import PartitionSpec as P

from codesign_jax.trace import UncostedWarning, trace_fn, workloads_from_flax, workloads_from_fn

F32 = jnp.float32
_ident = lambda x: x


def _xla_macs(fn, *args) -> float:
    """XLA's own count: HloCostAnalysis flops of the lowered program / 2."""
    return jax.jit(fn).lower(*args).cost_analysis()["flops"] / 2


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncostedWarning)  # the MAC-only models must not warn
        return workloads_from_fn(fn, *args)


# ---------------------------------------------------------------- models (linen, written here)

class SmallCNN(nn.Module):
    bias: bool = True
    act: Callable = nn.relu
    padding: str = "SAME"

    @nn.compact
    def __call__(self, x):
        x = self.act(nn.Conv(16, (3, 3), padding=self.padding, use_bias=self.bias)(x))
        x = self.act(nn.Conv(32, (3, 3), strides=2, padding=self.padding, use_bias=self.bias)(x))
        return nn.Dense(10, use_bias=self.bias)(x.reshape(x.shape[0], -1))


class BasicBlock(nn.Module):
    """ResNet basic block with a strided projection shortcut (BatchNorm in inference mode)."""
    features: int = 32
    strides: int = 2
    norm: bool = True
    padding: str = "SAME"

    @nn.compact
    def __call__(self, x):
        bn = (lambda: nn.BatchNorm(use_running_average=True)) if self.norm else (lambda: _ident)
        y = nn.Conv(self.features, (3, 3), self.strides, padding=self.padding, use_bias=False)(x)
        y = nn.relu(bn()(y)) if self.norm else y
        y = bn()(nn.Conv(self.features, (3, 3), padding=self.padding, use_bias=False)(y))
        sc = nn.Conv(self.features, (1, 1), self.strides, use_bias=False, name="shortcut")(x)
        if self.padding == "VALID":
            sc = sc[:, :y.shape[1], :y.shape[2]]
        return y + sc


class MobileNetV2Block(nn.Module):
    """Inverted residual: 1x1 expand, 3x3 depthwise (stride), 1x1 project (+ residual at stride 1)."""
    out: int = 24
    expand: int = 6
    strides: int = 2
    act: Callable = nn.relu6
    padding: str = "SAME"

    @nn.compact
    def __call__(self, x):
        c = x.shape[-1] * self.expand
        y = self.act(nn.Conv(c, (1, 1), use_bias=False, name="expand")(x))
        y = self.act(nn.Conv(c, (3, 3), self.strides, padding=self.padding, feature_group_count=c, use_bias=False,
                             name="depthwise")(y))
        y = nn.Conv(self.out, (1, 1), use_bias=False, name="project")(y)
        return x + y if self.strides == 1 and self.out == x.shape[-1] else y


class EncoderBlock(nn.Module):
    """Transformer encoder block, attention written with einsum."""
    d: int = 32
    heads: int = 4
    mlp: int = 64
    full: bool = True

    @nn.compact
    def __call__(self, x):
        B, L, _ = x.shape
        dh = self.d // self.heads
        h = nn.LayerNorm()(x) if self.full else x
        q, k, v = (nn.Dense(self.d, use_bias=self.full, name=n)(h).reshape(B, L, self.heads, dh)
                   for n in ("query", "key", "value"))
        s = jnp.einsum("bqhd,bkhd->bhqk", q, k)
        p = jax.nn.softmax(s / np.sqrt(dh), axis=-1) if self.full else s
        o = jnp.einsum("bhqk,bkhd->bqhd", p, v).reshape(B, L, self.d)
        x = x + nn.Dense(self.d, use_bias=self.full, name="out")(o) if self.full else nn.Dense(
            self.d, use_bias=False, name="out")(o)
        h = nn.LayerNorm()(x) if self.full else x
        h = nn.Dense(self.mlp, use_bias=self.full)(h)
        h = nn.gelu(h) if self.full else h
        h = nn.Dense(self.d, use_bias=self.full)(h)
        return x + h if self.full else h


class Cell(nn.Module):
    bias: bool = True

    @nn.compact
    def __call__(self, h, _):
        return jnp.tanh(nn.Dense(h.shape[-1], use_bias=self.bias)(h)) if self.bias else nn.Dense(
            h.shape[-1], use_bias=False)(h), None


class UnrolledMLP(nn.Module):
    """ScannedMLP's layers as a Python loop (XLA's cost analysis counts a while body once)."""
    layers: int = 5

    @nn.compact
    def __call__(self, x):
        for _ in range(self.layers):
            x = nn.Dense(x.shape[-1], use_bias=False)(x)
        return x


class ScannedMLP(nn.Module):
    """nn.scan of a Dense cell over ``layers`` steps (a stack of layers with stacked weights)."""
    layers: int = 5
    bias: bool = True

    @nn.compact
    def __call__(self, x):
        stack = nn.scan(Cell, variable_axes={"params": 0}, split_rngs={"params": True}, length=self.layers)
        return stack(bias=self.bias, name="stack")(x, None)[0]


class Upsample(nn.Module):
    padding: str = "SAME"

    @nn.compact
    def __call__(self, x):
        return nn.ConvTranspose(8, (3, 3), strides=(2, 2), padding=self.padding, use_bias=False)(x)


def _init(module, *inputs):
    """Abstract variables (shapes only: nothing is computed or compiled)."""
    return jax.eval_shape(module.init, jax.random.key(0), *inputs)


def _traced(module, *inputs, **kw):
    variables = _init(module, *inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncostedWarning)
        return workloads_from_flax(module, variables, *inputs, **kw), variables


def _xla_check(module, *inputs, reference=None):
    """Traced MACs of ``module`` and XLA's flops / 2 of ``reference`` (default: the same module)."""
    variables = _init(module, *inputs)
    table = _quiet(lambda v, *x: module.apply(v, *x), variables, *inputs)
    reference = module if reference is None else reference
    rv = _init(reference, *inputs)
    return int(table.macs.sum()), _xla_macs(lambda v, *x: reference.apply(v, *x), rv, *inputs)


# ---------------------------------------------------------------- MACs vs hand counts

def test_small_cnn_hand_count_and_names():
    x = jnp.ones((4, 16, 16, 3), F32)
    t, _ = _traced(SmallCNN(), x)
    hand = [4 * 16 * 16 * (3 * 3 * 3) * 16,       # conv 3x3 3->16, SAME: 16x16 out
            4 * 8 * 8 * (3 * 3 * 16) * 32,        # conv 3x3 s2 16->32: 8x8 out
            4 * (8 * 8 * 32) * 10]                # dense 2048 -> 10
    assert t.macs.tolist() == hand
    assert t.names == ("SmallCNN/Conv_0", "SmallCNN/Conv_1", "SmallCNN/Dense_0")
    assert t.stride.tolist() == [1, 2, 1] and t.kind.tolist() == [0, 0, 1]
    assert (t.out_h.tolist(), t.pad_h.tolist()) == ([16, 8, 4], [2, 1, 0])  # SAME s2 on 16: pad (0, 1)


def test_resnet_basic_block_hand_count():
    x = jnp.ones((4, 16, 16, 16), F32)
    t, _ = _traced(BasicBlock(), x)
    by = dict(zip(t.names, t.macs.tolist()))
    assert by == {"BasicBlock/Conv_0": 4 * 8 * 8 * (3 * 3 * 16) * 32,
                  "BasicBlock/Conv_1": 4 * 8 * 8 * (3 * 3 * 32) * 32,
                  "BasicBlock/shortcut": 4 * 8 * 8 * 16 * 32}


@pytest.mark.parametrize("strides", [1, 2])
def test_mobilenetv2_block_depthwise(strides):
    x = jnp.ones((4, 16, 16, 16), F32)
    t, _ = _traced(MobileNetV2Block(out=16 if strides == 1 else 24, strides=strides), x)
    o = 16 // strides
    assert t.macs.tolist() == [4 * 16 * 16 * 16 * 96,            # expand 16 -> 96
                               4 * o * o * (3 * 3) * 96,         # depthwise: one 3x3 tap set per channel
                               4 * o * o * 96 * (16 if strides == 1 else 24)]
    dw = t.select([1])
    assert (int(dw.groups[0]), int(dw.channels[0]), int(dw.filters[0])) == (96, 96, 96)  # depthwise
    assert list(dw.to_spatial()) == ["DSCONV"]


def test_encoder_block_einsum_attention():
    B, L, d, h, mlp = 2, 10, 32, 4, 64
    t, _ = _traced(EncoderBlock(d, h, mlp), jnp.ones((B, L, d), F32))
    by = dict(zip(t.names, t.macs.tolist()))
    dh = d // h
    assert by == {"EncoderBlock/query": B * L * d * d, "EncoderBlock/key": B * L * d * d,
                  "EncoderBlock/value": B * L * d * d,
                  "EncoderBlock/bqhd,bkhd->bhqk": B * h * L * L * dh,    # scores: b*h GEMMs of L x dh @ dh x L
                  "EncoderBlock/bhqk,bkhd->bqhd": B * h * L * L * dh,    # context
                  "EncoderBlock/out": B * L * d * d,
                  "EncoderBlock/Dense_0": B * L * d * mlp, "EncoderBlock/Dense_1": B * L * mlp * d}
    i = t.names.index("EncoderBlock/bqhd,bkhd->bhqk")
    assert (int(t.M[i]), int(t.N[i]), int(t.K[i]), int(t.repeat[i])) == (L, L, dh, B * h)
    assert int(t.M[t.names.index("EncoderBlock/query")]) == B * L          # dense on [B, L, d]: M = B*L


def test_flax_multihead_attention_module():
    B, L, d, h = 2, 6, 16, 4
    m = nn.MultiHeadDotProductAttention(num_heads=h, qkv_features=d, out_features=d)
    x = jnp.ones((B, L, d), F32)
    t, _ = _traced(m, x, x)
    assert int(t.macs.sum()) == 4 * B * L * d * d + 2 * B * h * L * L * (d // h)
    assert [int(r) for r, n in zip(t.repeat, t.names) if "->" in n] == [B * h, B * h]  # the two einsums


class Mixed(nn.Module):
    """Strided conv (integer padding, odd input), depthwise with a channel multiplier, pointwise conv,
    fused-qkv einsum attention with a causal mask, and a lax.scan over stacked weights."""

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(16, (3, 3), strides=2, padding=1)(x))
        x = nn.Conv(32, (3, 3), feature_group_count=16)(x)
        x = nn.Conv(24, (1, 1))(x).reshape(x.shape[0], -1, 24)
        q, k, v = jnp.split(nn.Dense(72)(x).reshape(x.shape[0], x.shape[1], 3, 2, 12), 3, axis=2)
        s = jnp.einsum("bnhd,bmhd->bhnm", q[:, :, 0], k[:, :, 0])
        s = jnp.where(jnp.tril(jnp.ones(s.shape[-2:], bool)), s, -1e9)
        x = jnp.einsum("bhnm,bmhd->bnhd", jax.nn.softmax(s), v[:, :, 0]).reshape(x.shape)
        ws = self.param("stack", nn.initializers.lecun_normal(), (4, 24, 24), F32)
        return lax.scan(lambda h, w: (jnp.tanh(h @ w), None), x, ws)[0]


def test_mixed_model_hand_count():
    t, _ = _traced(Mixed(), jnp.ones((2, 15, 15, 3), F32))
    assert t.macs.tolist() == [2 * 8 * 8 * (3 * 3 * 3) * 16,   # (15 + 2 - 3) // 2 + 1 = 8
                               2 * 8 * 8 * (3 * 3 * 1) * 32,   # depthwise, multiplier 2
                               2 * 8 * 8 * 32 * 24,
                               2 * 64 * 24 * 72,               # fused q, k, v
                               2 * 2 * 64 * 64 * 12,           # scores, per (batch, head)
                               2 * 2 * 64 * 64 * 12,           # context
                               4 * 2 * 64 * 24 * 24]           # 4 scan steps
    assert t.groups.tolist()[1] == 16 and t.repeat.tolist()[4:] == [4, 4, 4]


def test_scanned_matmul_counts_trip_count():
    B, d, n = 3, 16, 5
    t, v = _traced(ScannedMLP(layers=n), jnp.ones((B, d), F32))
    assert t.macs.tolist() == [n * B * d * d] and t.repeat.tolist() == [n]
    assert t.names == ("ScannedMLP/stack/Dense_0",)
    ws = jnp.ones((n, d, d), F32)
    plain = workloads_from_fn(lambda x, ws: lax.scan(lambda h, w: (h @ w, None), x, ws)[0],
                              jnp.ones((B, d), F32), ws)
    assert plain.macs.tolist() == [n * B * d * d]


def test_conv_transpose_counts_real_macs():
    x = jnp.ones((2, 8, 8, 16), F32)
    hand = 2 * 8 * 8 * (3 * 3) * 16 * 8   # every input pixel x every tap x C_in x C_out
    for padding, out in (("SAME", 16), ("VALID", 17)):
        t, v = _traced(Upsample(padding), x)
        assert t.macs.tolist() == [hand]
        assert int(jax.eval_shape(lambda v, x: Upsample(padding).apply(v, x), v, x).shape[1]) == out
        # col2im form: 1x1 window over the 8x8 input, the 3x3 taps folded into the filters
        assert (int(t.M[0]), int(t.K[0]), int(t.N[0])) == (64, 16, 9 * 8)
        xla = _xla_macs(lambda v, x: Upsample(padding).apply(v, x), v, x)
        # products that land in the output: count them by convolving ones (one channel pair)
        kept = 2 * 16 * 8 * float(nn.ConvTranspose(1, (3, 3), (2, 2), padding=padding, use_bias=False).apply(
            {"params": {"kernel": jnp.ones((3, 3, 1, 1), F32)}}, jnp.ones((1, 8, 8, 1), F32)).sum())
        assert xla == kept
        if padding == "VALID":      # nothing cropped: every product lands, XLA agrees exactly
            assert xla == hand
        else:                       # 'SAME' crops a border: those products are counted, XLA drops them
            assert xla < hand


# ---------------------------------------------------------------- MACs vs XLA's cost analysis

@pytest.mark.parametrize("name", ["cnn", "resnet", "mbv2", "encoder", "scan"])
def test_macs_equal_xla_cost_analysis(name):
    """MAC-only variants ('VALID' windows: XLA counts no padding taps; no bias, activation, norm,
    softmax); XLA's flops are then 2 x MACs plus one flop per element of a residual add."""
    module, inputs, adds, ref = {
        "cnn": (SmallCNN(bias=False, act=_ident, padding="VALID"), (jnp.ones((4, 16, 16, 3), F32),), 0, None),
        "resnet": (BasicBlock(norm=False, padding="VALID"), (jnp.ones((2, 16, 16, 8), F32),), 2 * 5 * 5 * 32,
                   None),
        "mbv2": (MobileNetV2Block(strides=2, act=_ident, padding="VALID"), (jnp.ones((2, 11, 11, 8), F32),), 0,
                 None),
        "encoder": (EncoderBlock(full=False), (jnp.ones((2, 10, 32), F32),), 0, None),
        # XLA counts a loop body once: compare the scan with the same layers unrolled
        "scan": (ScannedMLP(layers=4, bias=False), (jnp.ones((3, 16), F32),), 0, UnrolledMLP(layers=4)),
    }[name]
    macs, xla = _xla_check(module, *inputs, reference=ref)
    assert 2 * macs + adds == 2 * xla


# ---------------------------------------------------------------- convolution parameters

def _conv(x, w, **kw):
    return lax.conv_general_dilated(x, w, dimension_numbers=("NHWC", "HWIO", "NHWC"), **kw)


@pytest.mark.parametrize("kw,hand", [
    (dict(window_strides=(2, 2), padding="VALID"), 2 * 7 * 7 * 9 * 8 * 16),
    (dict(window_strides=(1, 1), padding="VALID", rhs_dilation=(2, 2)), 2 * 11 * 11 * 9 * 8 * 16),
    (dict(window_strides=(1, 1), padding="VALID", feature_group_count=4), 2 * 13 * 13 * 9 * 2 * 16),
    (dict(window_strides=(2, 1), padding="VALID"), 2 * 7 * 13 * 9 * 8 * 16),
    (dict(window_strides=(1, 1), padding=((-1, 0), (2, 1))), 2 * 12 * 16 * 9 * 8 * 16),
])
def test_conv_parameters_hand_and_xla(kw, hand):
    x = jnp.ones((2, 15, 15, 8), F32)
    cin = 8 // kw.get("feature_group_count", 1)
    w = jnp.ones((3, 3, cin, 16), F32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncostedWarning)
        t = workloads_from_fn(lambda x, w: _conv(x, w, **kw), x, w)
    assert t.macs.tolist() == [hand]
    if kw["padding"] == "VALID":
        assert _xla_macs(lambda x, w: _conv(x, w, **kw), x, w) == hand


def test_conv_layouts_and_ranks():
    x = jnp.ones((2, 8, 12, 10), F32)                # NCHW
    w = jnp.ones((6, 8, 3, 5), F32)                  # OIHW
    nchw = workloads_from_fn(lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "VALID"), x, w)
    assert nchw.macs.tolist() == [2 * 10 * 6 * (3 * 5 * 8) * 6]
    x1, w1 = jnp.ones((3, 20, 4), F32), jnp.ones((5, 4, 7), F32)   # 1-D conv, NWC / WIO
    one = workloads_from_fn(lambda x, w: lax.conv_general_dilated(
        x, w, (2,), "SAME", dimension_numbers=("NWC", "WIO", "NWC")), x1, w1)
    assert one.macs.tolist() == [3 * 10 * 5 * 4 * 7]
    x3, w3 = jnp.ones((2, 6, 7, 8, 3), F32), jnp.ones((3, 3, 3, 3, 4), F32)  # 3-D conv, NDHWC / DHWIO
    f3 = lambda x, w: lax.conv_general_dilated(x, w, (1, 2, 1), "VALID", dimension_numbers=("NDHWC", "DHWIO", "NDHWC"))
    with pytest.warns(UncostedWarning, match=r"window strides \(1, 2, 1\) costed with stride 1"):
        three = workloads_from_fn(f3, x3, w3)
    assert three.macs.tolist() == [2 * (4 * 3 * 6) * 27 * 3 * 4] == [_xla_macs(f3, x3, w3)]


def test_training_step_is_three_forward_passes_less_the_first_input_gradient():
    """grad w.r.t. params: forward + weight gradients (= forward) + input gradients of all but the first
    layer (transposed convs with lhs_dilation, batch_group_count for the depthwise weight gradient)."""
    m = nn.Sequential([nn.Conv(8, (3, 3), 2), nn.relu, nn.Conv(8, (3, 3), feature_group_count=8),
                       nn.Conv(16, (3, 3), 2, padding="VALID"), lambda y: y.reshape(y.shape[0], -1), nn.Dense(4)])
    x = jnp.ones((2, 16, 16, 3), F32)
    v = _init(m, x)
    fwd = workloads_from_fn(lambda v, x: m.apply(v, x), v, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncostedWarning)
        tr = trace_fn(jax.grad(lambda v, x: (m.apply(v, x) ** 2).sum()), v, x)
    f = fwd.macs.tolist()
    assert int(tr.table.macs.sum()) == 3 * sum(f) - f[0]
    assert any("transpose(jvp(Sequential))" in n for n in tr.table.names)
    assert any("groups 1/8" in o for o in tr.ops)               # depthwise weight grad: batch_group_count


# ---------------------------------------------------------------- loops and branches

def test_while_cond_and_fori_trip_counts():
    w = jnp.ones((8, 8), F32)
    x = jnp.ones((4, 8), F32)
    one = 4 * 8 * 8

    def fn(x, w, n):
        y = lax.fori_loop(0, 5, lambda i, a: a @ w, x)                                 # scan, length 5
        y = lax.while_loop(lambda c: c[0] < 7, lambda c: (c[0] + 2, c[1] @ w), (1, y))[1]  # 3 trips
        y = lax.fori_loop(jnp.int32(2), jnp.int32(6), lambda i, a: a @ w, y)           # while, 4 trips
        y = lax.switch(1, [lambda a: a, lambda a: a @ w], y)                           # known branch
        y = lax.cond(y.sum() > 0, lambda a: a @ w @ w, lambda a: a @ w, y)             # both branches
        return lax.fori_loop(0, n, lambda i, a: a @ w, y)                              # unknown: once
    with pytest.warns(UncostedWarning, match=r"while x1 \(trip count not known"):
        t = workloads_from_fn(fn, x, w, jnp.int32(3))
    tr = trace_fn(fn, x, w, jnp.int32(3))
    assert t.macs.tolist() == [5 * one, 3 * one, 4 * one, one, one, one, one, one]
    assert tr.in_cond.tolist() == [False] * 4 + [True] * 3 + [False]
    assert [sum(f"cond_branch{i}/" in n for n in t.names) for i in (0, 1)] == [1, 2]


def test_geometric_while_counter_is_simulated_and_shard_map_counts_shards():
    w = jnp.ones((8, 8), F32)
    t = workloads_from_fn(lambda x: lax.while_loop(lambda c: c[0] < 40, lambda c: (c[0] * 2, c[1] @ w),
                                                   (1, x))[1], jnp.ones((4, 8), F32))
    assert t.repeat.tolist() == [6]                  # counter 1, 2, 4, 8, 16, 32
    mesh = jax.sharding.AbstractMesh((4,), ("d",))   # tracing needs no devices
    f = lambda x, w: jax.shard_map(lambda a, b: a @ b, mesh=mesh, in_specs=(P("d"), P()), out_specs=P("d"))(x, w)
    s = workloads_from_fn(f, jax.ShapeDtypeStruct((8, 16), F32), jax.ShapeDtypeStruct((16, 4), F32))
    assert s.macs.tolist() == [8 * 16 * 4] and s.M.tolist() == [2]    # 4 shards of 2 rows


def test_remat_custom_vjp_and_jit_are_walked():
    @jax.custom_vjp
    def f(x, w):
        return x @ w
    f.defvjp(lambda x, w: (x @ w, (x, w)), lambda r, g: (g @ r[1].T, r[0].T @ g))

    @jax.jit
    def inner(x, w):
        return jax.checkpoint(lambda a: a @ w)(x)
    t = workloads_from_fn(lambda x, w: jax.nn.relu(inner(f(x, w), w)), jnp.ones((4, 8), F32), jnp.ones((8, 8), F32))
    assert t.macs.tolist() == [256, 256]


# ---------------------------------------------------------------- warnings and errors

def test_uncosted_arithmetic_in_one_warning_with_counts_and_shapes():
    def fn(x):
        y = nn.avg_pool(x, (2, 2), strides=(2, 2))
        z = jnp.fft.fft(y[..., 0]).real
        return lax.fori_loop(0, 3, lambda i, a: nn.max_pool(a, (1, 1)) @ jnp.ones((4, 4), F32), y) + z[..., None]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        t = workloads_from_fn(fn, jnp.ones((2, 8, 8, 4), F32))
    ours = [r for r in rec if issubclass(r.category, UncostedWarning)]
    assert len(ours) == 1
    msg = str(ours[0].message)
    assert "reduce_window_sum x1" in msg and "f32[2,8,8,4]" in msg and "window_dimensions (1, 2, 2, 1)" in msg
    assert "fft x1" in msg and "reduce_window_max x3" in msg
    assert t.macs.tolist() == [3 * 2 * 4 * 4 * 4 * 4]


def test_errors_name_the_argument():
    model = SmallCNN()
    x = jnp.ones((1, 8, 8, 3), F32)
    v = _init(model, x)
    with pytest.raises(ValueError, match=r"inputs\[0\]: float32\[1, 8, 8, 5\]"):
        workloads_from_flax(model, v, jnp.ones((1, 8, 8, 5), F32))
    relu = lambda x, w, flag: jax.nn.relu(x @ w) if flag else x @ w
    w = jnp.ones((3, 4), F32)
    assert workloads_from_fn(relu, x, w, True).macs.tolist() == [8 * 8 * 3 * 4]   # a Python flag is static
    with pytest.raises(ValueError, match=r"flag: bool\[\]\): TracerBoolConversionError: .* the argument flag\."):
        workloads_from_fn(relu, x, w, jnp.bool_(True))
    with pytest.raises(ValueError, match=r"example argument cfg\['k'\] has type object"):
        workloads_from_fn(lambda x, cfg: x, x, {"k": object()})
    with pytest.raises(ValueError, match="cannot take the 1 example"):
        workloads_from_fn(lambda x, w: x @ w, x)
    with pytest.raises(ValueError, match=r"cannot trace .*x: float32\[4, 8\], w: float32\[5, 3\]"):
        workloads_from_fn(lambda x, w: x @ w, jnp.ones((4, 8), F32), jnp.ones((5, 3), F32))
    with pytest.raises(ValueError, match="no conv_general_dilated or dot_general"):
        workloads_from_fn(lambda x: x + 1, x)
    with pytest.raises(ValueError, match="variables must be a mapping"):
        workloads_from_flax(model, [v], x)


def test_abstract_arguments_and_duplicate_names():
    m = ScannedMLP(layers=2)
    x = jax.ShapeDtypeStruct((8, 32), F32)
    v = jax.eval_shape(m.init, jax.random.key(0), x)
    t = workloads_from_flax(m, v, x)
    assert t.macs.tolist() == [2 * 8 * 32 * 32]
    d = workloads_from_fn(lambda x, w: (x @ w) @ w, jnp.ones((2, 3), F32), jnp.ones((3, 3), F32))
    assert d.names[1] == d.names[0] + "#2" and "<lambda>" in d.names[0]
