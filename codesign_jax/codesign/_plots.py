"""Figures of the co-design study (matplotlib, Agg backend): rank-correlation heatmaps and scatter plots."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["correlation_heatmap", "latency_scatter"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def correlation_heatmap(path: str, matrices: dict, labels: list, title: str) -> str:
    """Writes side-by-side heatmaps of ``{name: [A, A] matrix}`` with accelerator ``labels``; returns ``path``."""
    plt = _plt()
    names = list(matrices)
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        m = np.asarray(matrices[name])
        im = ax.imshow(m, vmin=min(0.5, float(np.min(m))), vmax=1.0, cmap="viridis")
        ax.set_title(name.replace("_", " "), fontsize=10)
        step = max(1, len(labels) // 16)
        ax.set_xticks(range(0, len(labels), step))
        ax.set_xticklabels(labels[::step], rotation=90, fontsize=6)
        ax.set_yticks(range(0, len(labels), step))
        ax.set_yticklabels(labels[::step], fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(plt, fig, path, title)


def _save(plt, fig, path: str, title: str) -> str:
    """Titles, lays out, writes ``fig`` to ``path`` (folders made) and closes it; returns ``path``."""
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_scatter(path: str, pairs: list, title: str) -> str:
    """Scatter plots of architectures' metric on two accelerators: ``pairs`` of ``(x [n], y [n], xlabel,
    ylabel, panel title)``; log-log axes. Returns ``path``."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4.4), squeeze=False)
    for ax, (x, y, xl, yl, t) in zip(axes[0], pairs):
        ax.scatter(x, y, s=3, alpha=0.4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xl, fontsize=8)
        ax.set_ylabel(yl, fontsize=8)
        ax.set_title(t, fontsize=9)
    return _save(plt, fig, path, title)
