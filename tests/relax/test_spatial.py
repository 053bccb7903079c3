"""The relaxed spatial model: MAESTRO's analysis graph (spatial/_sym.py) lowered on the smooth op set.

Convergence to the exact model (numpy port) at integer designs as t -> 0 on every report field,
the exact model's own graph reused, gradients w.r.t. continuous hardware (num_pes, L1, L2, NoC and
off-chip bandwidth): finite on the design range, equal to finite differences of the relaxed function,
grad / jacfwd / vmap(grad) agree, jit == eager.
"""

from unittest import mock

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import codesign_jax  # noqa: F401  (float64)
from codesign_jax.hardware import SpatialAccelerator
from codesign_jax.relax import Relaxed, relaxed_spatial_cost
from codesign_jax.spatial import REPORT_FIELDS, make_spatial_cost
from codesign_jax.spatial import _model as spatial_model
from codesign_jax.workloads import SpatialLayer

# a 3x3 conv, a strided 5x5 conv with few channels, a pointwise conv
LAYERS = SpatialLayer(K=np.array([64, 32, 16]), C=np.array([64, 3, 128]), R=np.array([3, 5, 1]),
                      S=np.array([3, 5, 1]), Y=np.array([56, 31, 14]), X=np.array([56, 31, 14]),
                      stride=np.array([1, 2, 1]))
ACCELS = SpatialAccelerator(num_pes=np.array([64.0, 256.0, 168.0]), l1_size=np.array([512.0, 64.0, 1024.0]),
                            l2_size=np.array([108000.0, 8192.0, 65536.0]), noc_bw=np.array([64.0, 16.0, 32.0]),
                            offchip_bw=np.array([64.0, 8.0, 16.0]), noc_hops=np.array([1.0, 1.0, 2.0]))


@pytest.mark.parametrize("df", ["kcp_ws", "rs"])
def test_relaxed_converges_to_exact_at_integer_designs_on_the_exact_graph(df):
    exact = make_spatial_cost(df, "CONV", backend="numpy")(LAYERS, ACCELS)
    with mock.patch.object(spatial_model, "_report", wraps=spatial_model._report) as spy:
        got = relaxed_spatial_cost(LAYERS, ACCELS, df, 1e-9)
    (xp, *_), _ = spy.call_args
    assert spy.call_count == 1 and isinstance(xp, Relaxed)  # the exact model's own formulas
    for k in REPORT_FIELDS:  # every field, every point
        np.testing.assert_allclose(got[k], getattr(exact, k), rtol=1e-9, atol=1e-12, err_msg=k)
    if df == "kcp_ws":  # a moderate temperature is still visibly smooth
        smooth = relaxed_spatial_cost(LAYERS, ACCELS, df, 1e-2)
        assert np.max(np.abs(np.asarray(smooth["offchip_bw_req"]) - exact.offchip_bw_req)) > 1e-3


def test_rejects_bad_temperature():
    with pytest.raises(ValueError, match="temperature"):
        relaxed_spatial_cost(LAYERS, ACCELS, "kcp_ws", -1.0)


# --- gradients: log(runtime x energy) of two GEMMs w.r.t. log-hardware ---------------------------
# The spatial graph is large: XLA:CPU compiles a CONV layer's forward mode in ~30 s and its jacfwd in
# many minutes, a GEMM's (3 dimensions) in ~1 min under load here, so the gradient tests use GEMMs on
# gemm_nmk (forward mode under jit; reverse mode, eager and jit == eager are slow tests).
GEMMS = SpatialLayer(K=np.array([64, 1000]), C=np.array([576, 2048]), R=np.array([1, 1]), S=np.array([1, 1]),
                     Y=np.array([3136, 49]), X=np.array([1, 1]), stride=np.array([1, 1]), layer_type="GEMM")


def _log_edp(logx, t):
    x = jnp.exp(logx)
    a = SpatialAccelerator(num_pes=x[0], l1_size=x[1], l2_size=x[2], noc_bw=x[3], offchip_bw=x[4], noc_hops=1.0)
    r = relaxed_spatial_cost(GEMMS, a, "gemm_nmk", t)
    return jnp.log(jnp.sum(r["runtime_cycles"]) * jnp.sum(r["energy_total_xmac"] + r["static_energy_xmac"]))


def _points(n, seed):
    """Non-integer designs: 8..1024 PEs, L1 64..4096, L2 4K..1M elements, bandwidths 4..256."""
    u = np.random.default_rng(seed).uniform(size=(n, 5))
    lo, hi = np.log([8, 64, 4096, 4, 4]), np.log([1024, 4096, 2 ** 20, 256, 256])
    return lo + u * (hi - lo)


@pytest.fixture(scope="module")
def value_and_jacfwd():
    """(points [n, 5], t) -> (log EDP [n], d log EDP / d log x [n, 5]); one compilation."""
    return jax.jit(jax.vmap(lambda x, t: (_log_edp(x, t), jax.jacfwd(_log_edp)(x, t)), (0, None)))


def test_gradients_equal_finite_differences_and_are_finite(value_and_jacfwd):
    # one batch shape [22, 5] for every call: one compilation
    # a random design, and one with low NoC and off-chip bandwidth (100 PEs, NoC 30, off-chip 20)
    x, h = np.stack([_points(1, seed=1)[0], np.log([100.0, 300.0, 50000.0, 30.0, 20.0])]), 1e-6
    pm = np.concatenate([x[:, None] + h * np.eye(5), x[:, None] - h * np.eye(5)], 1).reshape(-1, 5)
    bw = []
    for t in (0.5, 0.05):
        v, g = value_and_jacfwd(np.concatenate([x, pm]), t)
        g, f = np.asarray(g)[:2], np.asarray(v)[2:].reshape(2, 2, 5)
        np.testing.assert_allclose(g, (f[:, 0] - f[:, 1]) / (2 * h), rtol=2e-4, atol=1e-6, err_msg=f"t={t}")
        assert np.all(np.abs(g[:, 0]) > 1e-3)  # PEs always move runtime
        bw.append(np.abs(g[1, 3:]))
    assert np.max(bw) > 1e-3  # the bandwidths do where they bind
    corners = np.log(np.array([[1, 1, 1, 1, 1], [4096, 2 ** 16, 2 ** 24, 4096, 4096]], float))
    xs = np.concatenate([_points(20, seed=2), corners])
    # down to t = 0.03: below, the relaxed model approaches the exact one, which is NaN (MAESTRO-
    # degenerate) on parts of this range (e.g. 28 PEs, NoC 6, off-chip 49 for these GEMMs)
    for t in (3.0, 0.3, 0.03):
        v, g = value_and_jacfwd(xs, t)
        assert np.all(np.isfinite(np.asarray(v))) and np.all(np.isfinite(np.asarray(g))), t


@pytest.mark.slow
def test_reverse_mode_vmap_and_jit_agree_with_forward_mode(value_and_jacfwd):
    x = _points(2, seed=3)
    want = np.asarray(value_and_jacfwd(x, 0.3)[1])
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(_log_edp), (0, None)))(x, 0.3), want, rtol=1e-9)
    np.testing.assert_allclose(jax.grad(_log_edp)(x[1], 0.3), want[1], rtol=1e-9, atol=1e-12)  # eager


@pytest.mark.slow
class JitEagerTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_relaxed_report_jit_equals_eager(self):
        n = jnp.asarray([60.5, 250.0, 170.25])
        f = self.variant(lambda n: relaxed_spatial_cost(LAYERS, ACCELS.replace(num_pes=n), "rs", 0.2)["runtime_cycles"])
        with jax.disable_jit():
            want = np.asarray(relaxed_spatial_cost(LAYERS, ACCELS.replace(num_pes=n), "rs", 0.2)["runtime_cycles"])
        np.testing.assert_allclose(f(n), want, rtol=1e-12)
