"""The saved predictor: a trained model plus its case, queried with numpy arrays.

``Predictor.load(workdir).predict(M, N, K, budget)`` (case 1; each case takes its own input names,
positionally or by keyword) validates the inputs, runs the model once, takes the best-scoring
feasible configuration and returns it with its exact cost from the cost model (no search).
"""

from __future__ import annotations

import json
import os

import numpy as np
from flax import serialization

from codesign_jax.airchitect._case import Case
from codesign_jax.airchitect._models import Standardizer
from codesign_jax.airchitect._registry import make_case
from codesign_jax.airchitect._train import predict_classes, predict_scores

__all__ = ["Predictor"]

_DIRS = {"ours": "predictor", "baseline": "predictor_baseline"}


class Predictor:
    """A trained model for one case study.

    Attributes:
      case: the :class:`~codesign_jax.airchitect._case.Case` (inputs, classes, exact cost).
      spec: the model spec (:func:`~codesign_jax.airchitect._models.make_model` plus
        ``inv_temp``); ``params``: its parameters (numpy pytree).
      standardizer: feature standardization of the cost head (None for the embedding baseline,
        which reads bucket ids).
    """

    def __init__(self, case: Case, spec: dict, params, standardizer: Standardizer | None):
        self.case, self.spec, self.params, self.standardizer = case, dict(spec), params, standardizer

    def model_inputs(self, x: dict) -> np.ndarray:
        """The model's input array for validated inputs ``x`` (features or bucket ids)."""
        if self.spec["kind"] == "embed":
            return self.case.buckets(x)
        return self.standardizer(self.case.features(x))

    def classes(self, x: dict) -> np.ndarray:
        """Predicted configuration ids ``[n]`` for validated inputs ``x``."""
        return self._answer(x)[0]

    def _answer(self, x: dict) -> tuple[np.ndarray, dict | None]:
        """Predicted ids and the exact costs the case's ``select`` computed for them (or None)."""
        if self.case.select is not None:
            r = self.case.select(x, predict_scores(self.spec, self.params, self.model_inputs(x)))
            return r if isinstance(r, tuple) else (r, None)
        ids = predict_classes(self.spec, self.params, self.model_inputs(x), self.case.feasible(x))
        return ids, None

    def predict(self, *args, **kwargs) -> dict:
        """Predicted configurations and their exact costs.

        Args: the case's inputs (``case.input_names``) positionally or by keyword, numpy arrays
          (case 1/2: any broadcastable shapes; case 3: ``[n, 4]`` each).

        Returns:
          dict of arrays of the batch shape: the configuration (case 1: ``rows``, ``cols``,
          ``dataflow`` 'os'/'ws'/'is'; case 2: the three SRAM sizes in KB; case 3: ``assignment``
          and per-array ``dataflow``), its exact ``cycles``, and ``config`` (class id).

        Raises:
          ValueError naming the field: missing/unknown inputs, zero/negative/NaN/non-integer
          values, case constraints (e.g. a budget below the smallest design).
        """
        names = self.case.input_names
        if len(args) > len(names):
            raise ValueError(f"predict takes at most {len(names)} inputs {list(names)}, got "
                             f"{len(args)}.")
        inputs = dict(zip(names, args))
        both = [k for k in kwargs if k in inputs]
        if both:
            raise ValueError(f"input(s) {both} given both positionally and by keyword.")
        inputs.update(kwargs)
        x = self.case.check(inputs)
        if self.case.input_width == 1:
            shape = np.broadcast_shapes(*(np.shape(inputs[k]) for k in names))
        else:
            shape = (next(iter(x.values())).shape[0],)
        ids, known = self._answer(x)
        out = self.case.score(x, ids) if known is None else self.case.score(x, ids, known=known)
        return {k: np.asarray(v).reshape(shape + np.shape(v)[1:]) for k, v in out.items()}

    def save(self, directory: str) -> None:
        """Writes ``meta.json`` (case, model spec, standardizer) and ``params.msgpack``."""
        os.makedirs(directory, exist_ok=True)
        meta = {"case": self.case.name, "case_params": dict(self.case.params), "spec": self.spec}
        if self.standardizer is not None:
            meta["standardizer"] = {"mean": self.standardizer.mean.tolist(),
                                    "std": self.standardizer.std.tolist()}
        with open(os.path.join(directory, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        with open(os.path.join(directory, "params.msgpack"), "wb") as f:
            f.write(serialization.msgpack_serialize(_to_numpy(self.params)))

    @classmethod
    def load(cls, workdir: str, which: str = "ours") -> "Predictor":
        """Loads ``workdir/predictor`` (``which='ours'``) or ``workdir/predictor_baseline``."""
        if which not in _DIRS:
            raise ValueError(f"which must be one of {sorted(_DIRS)}, got {which!r}.")
        d = os.path.join(workdir, _DIRS[which])
        if not os.path.isfile(os.path.join(d, "meta.json")):
            raise ValueError(f"no saved predictor in {d!r} (run experiments/airchitect.py with "
                             f"--workdir {workdir!r} first).")
        with open(os.path.join(d, "meta.json")) as f:
            meta = json.load(f)
        with open(os.path.join(d, "params.msgpack"), "rb") as f:
            params = serialization.msgpack_restore(f.read())
        st = meta.get("standardizer")
        std = None if st is None else Standardizer(np.asarray(st["mean"]), np.asarray(st["std"]))
        spec = dict(meta["spec"])
        if "bucket_sizes" in spec:
            spec["bucket_sizes"] = tuple(spec["bucket_sizes"])
        return cls(make_case(meta["case"], **meta["case_params"]), spec, params, std)


def _to_numpy(tree):
    if isinstance(tree, dict):
        return {k: _to_numpy(v) for k, v in tree.items()}
    return np.asarray(tree)
