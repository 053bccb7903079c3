"""AlphaNet / AttentiveNAS subnets -> one layer table.

Skeleton as the semi-decoupled paper's repository builds the subnets (Ren-Research/CoDesign,
``tools/frontend/alpha/models/attentive_nas_static_model.py`` and ``modules/static_layers.py``, an
AttentiveNAS / OFA model):

* stem: 3x3 conv, stride 2, 3 -> width[0];
* stages mb1..mb7: widths width[1..7], strides 1, 2, 2, 2, 1, 2, 1, squeeze-excite in mb3, mb5, mb6,
  mb7; ``min(depth[i], cap[i])`` blocks with caps 2, 5, 6, 6, 8, 8, 2 (the supernet's maximum depth);
* block (MobileInvertedResidualBlock): expand 1x1 cin -> mid = make_divisible(cin * e, 8) (none when
  e = 1); depthwise k x k at the stage stride ('same' padding); SE reduce 1x1 mid ->
  make_divisible(mid // 4, 8) and expand back, both on the pooled 1x1 map; project 1x1 mid -> cout;
  in a stage's first block, when cin != cout, a 1x1 shortcut conv cin -> cout after a stride-sized
  average pool (so at the output resolution);
* head: 1x1 width[7] -> 6 * width[7], global pool, 1x1 6 * width[7] -> width[8] on the 1x1 map,
  linear width[8] -> 1000.

Activations, batch norm, pooling, the SE gating multiply and residual additions carry no
multiply-accumulates here and are not layers. With this skeleton every subnet's MACs equal the
paper's ``mflops`` (checked in tests).
"""

from __future__ import annotations

import numpy as np

from codesign_jax.nas._rows import RowBuffer, make_divisible
from codesign_jax.workloads import LayerTable

__all__ = ["ALPHANET_CAPS", "ALPHANET_SE", "ALPHANET_STRIDES", "alphanet_layers"]

ALPHANET_STRIDES = (1, 2, 2, 2, 1, 2, 1)
ALPHANET_SE = (False, False, True, False, True, True, True)
ALPHANET_CAPS = (2, 5, 6, 6, 8, 8, 2)
_CLASSES = 1000


def _check(name: str, a: np.ndarray, n: int, cols: int) -> np.ndarray:
    a = np.asarray(a)
    want = (n, cols) if cols else (n,)
    if a.shape != want or a.size == 0:
        raise ValueError(f"{name} must have shape {want} (n >= 1), got {a.shape}.")
    if a.dtype.kind not in "iu" or a.min() < 1:
        raise ValueError(f"{name} must hold positive integers, got {a.ravel()[np.argmin(a.ravel())]}.")
    return a.astype(np.int64)


def alphanet_layers(resolution, width, kernel_size, expand_ratio, depth) -> LayerTable:
    """Layer table of ``n`` subnets (network id = subnet position).

    Args:
      resolution: int ``[n]`` input pixels per side.
      width: int ``[n, 9]`` (first conv, mb1..mb7, last conv). kernel_size, expand_ratio, depth: int
        ``[n, 7]`` per stage.
    """
    resolution = np.asarray(resolution)
    n = resolution.shape[0] if resolution.ndim == 1 else -1
    resolution = _check("resolution", resolution, n, 0)
    width = _check("width", width, n, 9)
    ks, er, dp = (_check(k, v, n, 7) for k, v in (("kernel_size", kernel_size), ("expand_ratio", expand_ratio),
                                                  ("depth", depth)))
    if np.any(ks % 2 == 0):
        raise ValueError(f"kernel_size must be odd, got {ks[ks % 2 == 0][0]}.")
    nets = np.arange(n)
    rows = RowBuffer()
    hw = -(-resolution // 2)
    rows.conv(nets, resolution, 3, width[:, 0], 3, stride=2)  # stem
    cin = width[:, 0]
    for s in range(7):
        blocks = np.minimum(dp[:, s], ALPHANET_CAPS[s])
        cout = width[:, s + 1]
        for b in range(ALPHANET_CAPS[s]):
            on = blocks > b
            stride = ALPHANET_STRIDES[s] if b == 0 else 1
            c_in = cin if b == 0 else cout
            mid = make_divisible(c_in * er[:, s], 8)
            out_hw = -(-hw // stride)
            e = on & (er[:, s] != 1)
            rows.conv(nets[e], hw[e], c_in[e], mid[e], 1)  # expand
            rows.conv(nets[on], hw[on], mid[on], mid[on], ks[on, s], stride=stride, groups=mid[on])  # depthwise
            if ALPHANET_SE[s]:
                se = make_divisible(mid // 4, 8)
                rows.conv(nets[on], 1, mid[on], se[on], 1)  # SE reduce on the pooled map
                rows.conv(nets[on], 1, se[on], mid[on], 1)  # SE expand
            rows.conv(nets[on], out_hw[on], mid[on], cout[on], 1)  # project
            if b == 0:
                sc = on & (c_in != cout)
                rows.conv(nets[sc], out_hw[sc], c_in[sc], cout[sc], 1)  # shortcut after average pooling
            if b == 0:
                hw = out_hw
        cin = cout
    last = 6 * width[:, 7]
    rows.conv(nets, hw, width[:, 7], last, 1)  # final expand
    rows.conv(nets, 1, last, width[:, 8], 1)  # feature mix on the pooled map
    rows.linear(nets, width[:, 8], _CLASSES)
    return rows.table()
