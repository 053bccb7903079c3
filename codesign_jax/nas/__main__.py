"""``python -m codesign_jax.nas`` (see :mod:`codesign_jax.nas._cli`)."""

import sys

import codesign_jax  # noqa: F401  (enables x64 before the cost model runs)
from codesign_jax.nas._cli import main

if __name__ == "__main__":
    sys.exit(main())
