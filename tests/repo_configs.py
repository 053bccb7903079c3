"""The repository's experiment configs (``configs/NAME.py``), loaded by path as ``--config`` does."""

import importlib.util
import pathlib

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"


def load_config(name: str, *args):
    """``configs/<name>.py``'s ``get_config(*args)``."""
    spec = importlib.util.spec_from_file_location(name, CONFIGS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config(*args)
