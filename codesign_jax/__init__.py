"""codesign-jax: batched, jit-compiled accelerator cost models for HW/SW co-design.

Importing the package

* turns on ``jax_enable_x64``: cycle and access counts exceed 2**24 and must be exact
  (int64/float64), see DESIGN.md "Counts are exact";
* unless ``CODESIGN_JAX_KEEP_XLA_FLAGS=1``, adds ``--xla_cpu_experimental_ynn_fusion_type=`` to
  ``XLA_FLAGS`` (before JAX's CPU backend starts): XLA:CPU's YNNPACK fusions run our float64
  elementwise + reduction graphs 5-8x slower than its own loop emitter on x86 (measured in
  ``experiments/benchmark.py``). It only takes effect if imported before JAX runs anything.
"""

import os as _os

if _os.environ.get("CODESIGN_JAX_KEEP_XLA_FLAGS") != "1":
    _flag = "--xla_cpu_experimental_ynn_fusion_type="
    if "xla_cpu_experimental_ynn_fusion_type" not in _os.environ.get("XLA_FLAGS", ""):
        _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + " " + _flag).strip()

import jax as _jax  # noqa: E402

_jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"
