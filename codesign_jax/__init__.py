"""codesign-jax: batched, jit-compiled accelerator cost models for HW/SW co-design.

Importing the package turns on ``jax_enable_x64``: cycle and access counts exceed
2**24 and must be exact (int64/float64), see DESIGN.md "Counts are exact".
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"
