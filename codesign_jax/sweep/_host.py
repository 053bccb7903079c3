"""Host-side parts of a sweep: the progress timer and the exact Pareto-front merge."""

from __future__ import annotations

import logging
import time

import numpy as np

from codesign_jax.sweep._reduce import NO_INDEX, pareto_front_np

__all__ = ["Progress", "front_refs", "merge_front"]

_log = logging.getLogger("codesign_jax.sweep")


class Progress:
    """Chunk timer: logs a time estimate after the first (compiling) chunk plus one timed
    chunk, then shows a tqdm bar if asked (``progress=True``) or if the estimate exceeds 1 s
    (``progress=None``)."""

    def __init__(self, total_chunks: int, points_per_chunk: int, points: int,
                 progress: bool | None):
        self.total, self.ppc, self.points, self.progress = (total_chunks, points_per_chunk,
                                                            points, progress)
        self.t0, self.t_first, self.done, self.bar = time.perf_counter(), None, 0, None
        self.first_chunk_seconds = 0.0

    def tick(self) -> None:
        self.done += 1
        now = time.perf_counter()
        if self.t_first is None:
            self.t_first = now  # the first chunk includes compilation
            self.first_chunk_seconds = now - self.t0
        elif self.done == 2:
            dt = max(now - self.t_first, 1e-9)
            est = dt * (self.total - self.done)
            _log.info("sweep: estimated %.1f s more for %d points (%.3g points/s)", est,
                      self.points, self.ppc / dt)
            if self.progress or (self.progress is None and est > 1.0):
                from tqdm.auto import tqdm

                self.bar = tqdm(total=self.points, initial=min(self.points, 2 * self.ppc),
                                unit="pt", unit_scale=True, desc=f"sweep (est. {est:.0f} s)")
        elif self.bar is not None:
            self.bar.update(min(self.ppc, self.points - self.bar.n))

    def close(self) -> float:
        """Closes the bar; returns the seconds since construction."""
        if self.bar is not None:
            self.bar.close()
        return time.perf_counter() - self.t0


def merge_front(front, cand_obj, cand_index, chunk_obj, start: int, n_designs: int):
    """Exact host merge of one row's front with a chunk's candidates.

    Args:
      front: ``(obj [n, m], index [n])`` so far.
      cand_obj, cand_index: ``[n_dev, cap, m]`` / ``[n_dev, cap]`` device candidates.
      chunk_obj: ``[m, chunk]`` every objective of the chunk (overflow), or None.
    """
    m = front[0].shape[1]
    if chunk_obj is not None:
        ix = start + np.arange(chunk_obj.shape[1])
        cand_obj, cand_index = chunk_obj.T[ix < n_designs], ix[ix < n_designs]
    else:
        cand_obj, cand_index = cand_obj.reshape(-1, m), cand_index.reshape(-1)
    allo = np.concatenate([front[0], cand_obj])
    alli = np.concatenate([front[1], cand_index])
    keep = pareto_front_np(allo, alli)
    return allo[keep], alli[keep]


def front_refs(fronts, rows: int, r: int, m: int):
    """Up to ``r`` points of each current front (evenly spaced along objective 0), padded."""
    o = np.full((rows, r, m), np.inf)
    ix = np.full((rows, r), NO_INDEX, np.int64)
    for s, (fo, fi) in enumerate(fronts):
        if len(fi) == 0:
            continue
        pick = np.unique(np.linspace(0, len(fi) - 1, min(r, len(fi))).round().astype(int))
        o[s, :len(pick)], ix[s, :len(pick)] = fo[pick], fi[pick]
    return o, ix
