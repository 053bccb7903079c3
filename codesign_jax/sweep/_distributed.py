"""Multi-process sweeps on JAX's own multi-controller runtime (``jax.distributed``).

Every process runs the same :func:`~codesign_jax.sweep.sweep` call; each evaluates only its share
of the design chunks (chunk ``i`` on process ``i mod P``) on its local devices, and the host-side
reductions are exchanged once at the end (``multihost_utils.process_allgather``) and merged with the
same total orders the single-process sweep uses, so results are identical for any number of
processes and devices. On CPUs the collectives go through gloo.
"""

from __future__ import annotations

import os

import jax
import numpy as np

from codesign_jax.sweep._reduce import pareto_front_np

__all__ = ["define_flags", "initialize", "initialize_from_flags", "merge_results",
           "process_allgather_ragged"]

# Environment variables of the cluster launchers jax.distributed.initialize() can auto-detect.
_CLUSTER_ENV = ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> tuple[int, int]:
    """Joins (or skips) a multi-process run; returns ``(process_id, num_processes)``.

    With all three arguments given, ``jax.distributed.initialize`` joins the processes (a CPU run
    uses gloo collectives). With none given, it is called without arguments only when a launcher it
    can auto-detect runs several tasks (SLURM's ``SLURM_NTASKS > 1``, Open MPI, PMI); otherwise the
    run is a single process. Must run before anything else uses JAX.

    Raises:
      ValueError: naming the missing or invalid argument.
    """
    given = {"coordinator_address": coordinator_address, "num_processes": num_processes,
             "process_id": process_id}
    if any(v not in (None, "") for v in given.values()):
        missing = [k for k, v in given.items() if v in (None, "")]
        if missing:
            raise ValueError(f"multi-process sweep: also give {missing} (got {given}).")
        if ":" not in str(coordinator_address):
            raise ValueError(f"coordinator_address must be HOST:PORT, got {coordinator_address!r}.")
        if int(num_processes) < 1 or not 0 <= int(process_id) < int(num_processes):
            raise ValueError(f"need num_processes >= 1 and 0 <= process_id < num_processes, got "
                             f"num_processes={num_processes}, process_id={process_id}.")
        if int(num_processes) == 1:
            return 0, 1
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(str(coordinator_address), int(num_processes), int(process_id))
    elif any(int(os.environ.get(k, "1") or "1") > 1 for k in _CLUSTER_ENV):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize()
    return jax.process_index(), jax.process_count()


def process_allgather_ragged(x: np.ndarray) -> list:
    """Every process's ``x`` (same dtype and trailing shape; leading sizes may differ)."""
    from jax.experimental import multihost_utils as mh

    x = np.asarray(x)
    n = np.asarray(mh.process_allgather(np.asarray([x.shape[0]], np.int64))).reshape(-1)
    pad = np.zeros((int(n.max()) - x.shape[0],) + x.shape[1:], x.dtype)
    g = np.asarray(mh.process_allgather(np.concatenate([x, pad])))
    return [g[p, :int(n[p])] for p in range(len(n))]


def _idx_key(ix: np.ndarray) -> np.ndarray:
    """Design indices as sort keys: -1 (no design) after every real index."""
    return np.where(ix < 0, np.iinfo(np.int64).max, ix)


def _smallest(keys: list, k: int, axis: int = -1) -> np.ndarray:
    """Positions of the k lexicographically smallest entries along ``axis`` (keys: major first)."""
    order = np.lexsort(tuple(reversed([np.asarray(x) for x in keys])), axis=axis)
    return np.take(order, np.arange(min(k, order.shape[axis])), axis=axis)


def merge_results(res: dict) -> dict:
    """Merges one process's reductions with every other process's (host numpy, exact).

    ``res`` keys (as ``_Results`` holds them): ``best`` ``(value [S], index [S])``, optional
    ``topk`` ``(value [S, k], index [S, k])``, ``overall`` ``(value [k], workload [k], index [k])``,
    ``fronts`` (list of ``(obj [n, m], index [n])`` per row), ``full`` ``[n_obj, S, D]`` (+inf where
    another process evaluated), ``fallbacks`` (int). Returns the same structure, merged.
    """
    from jax.experimental import multihost_utils as mh

    gather = lambda a: np.asarray(mh.process_allgather(np.asarray(a)))
    out = dict(res)
    v, i = gather(res["best"][0]), gather(res["best"][1])                     # [P, S]
    pick = _smallest([v, _idx_key(i)], 1, axis=0)[0]
    cols = np.arange(v.shape[1])
    out["best"] = (v[pick, cols], i[pick, cols])
    if res.get("topk") is not None:
        v, i = gather(res["topk"][0]), gather(res["topk"][1])                  # [P, S, k]
        k = v.shape[2]
        v, i = np.concatenate(list(v), axis=1), np.concatenate(list(i), axis=1)  # [S, P*k]
        pos = _smallest([v, _idx_key(i)], k, axis=1)
        out["topk"] = (np.take_along_axis(v, pos, 1), np.take_along_axis(i, pos, 1))
    if res.get("overall") is not None:
        v, w, i = (gather(np.asarray(x)).reshape(-1) for x in res["overall"])
        pos = _smallest([v, _idx_key(w), _idx_key(i)], len(res["overall"][0]))
        out["overall"] = (v[pos], w[pos], i[pos])
    if res.get("fronts") is not None:
        merged = []
        for obj, ix in res["fronts"]:
            objs, ixs = process_allgather_ragged(obj), process_allgather_ragged(ix)
            allo, alli = np.concatenate(objs), np.concatenate(ixs)
            keep = pareto_front_np(allo, alli)
            merged.append((allo[keep], alli[keep]))
        out["fronts"] = merged
    if res.get("full") is not None:
        out["full"] = gather(res["full"]).min(axis=0)
    out["fallbacks"] = int(gather(np.asarray([res["fallbacks"]])).sum())
    return out


def define_flags():
    """absl flags ``--coordinator_address HOST:PORT --num_processes N --process_id I`` for an
    experiment script; pass the returned holders to :func:`initialize_from_flags` in ``main``."""
    from absl import flags

    return (flags.DEFINE_string("coordinator_address", None,
                                "HOST:PORT of process 0, to run the sweep on several processes "
                                "(jax.distributed); none given: auto-detected (e.g. SLURM) or 1."),
            flags.DEFINE_integer("num_processes", None, "Number of processes."),
            flags.DEFINE_integer("process_id", None, "This process's id, 0..num_processes-1."))


def initialize_from_flags(holders) -> tuple[int, int]:
    """:func:`initialize` with the values of :func:`define_flags`' holders."""
    return initialize(*(h.value for h in holders))
