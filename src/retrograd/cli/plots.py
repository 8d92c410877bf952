"""The PNG figures: learning curves, confusion matrix, predicted against true
(matplotlib's Agg canvas, no pyplot state).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_curves(history: Any, path: Path, title: str) -> None:
    """Draw loss and metric per epoch, training and validation, into a PNG file.

    Parameters
    ----------
    history : retrograd.training.History
        Its ``records`` (``train_loss``, ``val_loss``, ``train_metric``,
        ``val_metric`` per epoch), ``metric`` (the metric's name) and
        ``best_epoch`` (marked with a dotted line).
    path : Path
        The PNG file to write.
    title : str
        The figure's title.
    """
    from matplotlib.ticker import MaxNLocator

    records = history.records
    panels = [("loss", "loss")]
    if any(r.get("train_metric") is not None for r in records):
        panels.append(("metric", history.metric or "metric"))
    fig = _figure(5.0 * len(panels), 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    epochs = [r["epoch"] for r in records]
    for ax, (key, label) in zip(axes, panels, strict=True):
        for split, style in (("train", "-"), ("val", "--")):
            values = [r.get(f"{split}_{key}") for r in records]
            if any(v is not None for v in values):
                ys = [np.nan if v is None else v for v in values]
                ax.plot(epochs, ys, style, marker=".", label=f"{split}")
        if key == "loss" and all(r["train_loss"] > 0 for r in records):
            ax.set_yscale("log")
        if history.best_epoch is not None:  # the weights kept at the end
            ax.axvline(history.best_epoch, color="grey", linewidth=1, linestyle=":", label="best")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.savefig(path, dpi=100)


def plot_confusion(matrix: np.ndarray, labels: Sequence[Any], path: Path, title: str) -> None:
    n = len(labels)
    fig = _figure(max(4.0, 0.5 * n + 2.0), max(3.5, 0.5 * n + 1.5))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(n), [str(c) for c in labels])
    ax.set_yticks(range(n), [str(c) for c in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    half = matrix.max() / 2 if matrix.size else 0
    for i in range(n):
        for j in range(n):
            color = "white" if matrix[i, j] > half else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color, fontsize=8)
    ax.set_title(title)
    fig.savefig(path, dpi=100)


def plot_regression(y: np.ndarray, pred: np.ndarray, path: Path, title: str) -> None:
    fig = _figure(4.5, 4.5)
    ax = fig.subplots()
    ax.scatter(y, pred, s=10, alpha=0.6)
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], "k--", linewidth=1)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(title)
    fig.savefig(path, dpi=100)
