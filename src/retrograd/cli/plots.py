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


#: How a metric's name is written on figures and in tables (``r2`` is R²).
METRIC_LABELS = {"r2": "R²", "accuracy": "accuracy", "mse": "MSE", "mae": "MAE"}


def metric_label(name: str | None) -> str:
    return METRIC_LABELS.get(name or "", name or "metric")


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def plot_curves(
    history: Any, path: Path, title: str, loss: str | None = None, test: float | None = None
) -> None:
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
    loss : str, optional
        The loss's name, for the loss axis (``'auto'`` is named by the task).
    test : float, optional
        The final metric on the held-out test part: a point at the epoch whose
        weights were kept.
    """
    from matplotlib.ticker import MaxNLocator

    records = history.records
    if loss in (None, "auto"):
        loss = "cross-entropy" if history.metric == "accuracy" else "mse"
    panels = [("loss", f"loss ({loss})")]
    if any(r.get("train_metric") is not None for r in records):
        panels.append(("metric", metric_label(history.metric)))
    fig = _figure(5.0 * len(panels), 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    epochs = [r["epoch"] for r in records]
    kept = history.best_epoch if history.best_epoch is not None else (epochs or [0])[-1]
    for ax, (key, label) in zip(axes, panels, strict=True):
        for split, name, style in (("train", "training", "-"), ("val", "validation", "--")):
            values = [r.get(f"{split}_{key}") for r in records]
            if any(v is not None for v in values):
                ys = [np.nan if v is None else v for v in values]
                ax.plot(epochs, ys, style, marker=".", label=name)
        if key == "metric" and test is not None:
            ax.plot([kept], [test], "r*", markersize=10, label=f"test (held out): {test:.4f}")
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
    _save(fig, path)


def plot_confusion(
    matrix: np.ndarray,
    labels: Sequence[Any],
    path: Path,
    title: str,
    normalize: bool = False,
) -> None:
    """Draw a confusion matrix (rows: true class, columns: predicted) into an image file.

    With ``normalize`` each row is divided by its total (the recall of each
    class on the diagonal) and the cells show fractions. The cell text
    shrinks with the number of classes and is white on dark cells.
    """
    n = len(labels)
    counts = np.asarray(matrix)
    shown = counts.astype(np.float64)
    if normalize:
        totals = shown.sum(axis=1, keepdims=True)
        shown = np.divide(shown, totals, out=np.zeros_like(shown), where=totals > 0)
    cell = 0.6 if n <= 12 else 0.4
    fig = _figure(max(4.5, cell * n + 2.5), max(4.0, cell * n + 2.0))
    ax = fig.subplots()
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, label="fraction of the true class" if normalize else "rows")
    names = [str(c) for c in labels]
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names), default=0) > 3 else 0,
                  ha="right" if max(map(len, names), default=0) > 3 else "center")  # fmt: skip
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n <= 30:  # beyond that the colours say it; numbers would not fit
        top = shown.max() if shown.size else 0
        size = 10 if n <= 6 else 8 if n <= 12 else 6
        for i in range(n):
            for j in range(n):
                text = f"{shown[i, j]:.2f}" if normalize else str(counts[i, j])
                dark = top > 0 and shown[i, j] > 0.6 * top
                ax.text(j, i, text, ha="center", va="center", fontsize=size,
                        color="white" if dark else "black")  # fmt: skip
    ax.set_title(title)
    _save(fig, path)


def plot_regression(y: np.ndarray, pred: np.ndarray, path: Path, title: str) -> None:
    fig = _figure(4.5, 4.5)
    ax = fig.subplots()
    ax.scatter(y, pred, s=10, alpha=0.6)
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], "k--", linewidth=1)
    ax.set_xlabel("true value")
    ax.set_ylabel("predicted value")
    ax.set_title(title)
    _save(fig, path)


def plot_formats() -> list[str]:
    """The file extensions ``--plot`` accepts: those matplotlib's Agg canvas can write."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # raw/rgba are bare pixels, pgf needs LaTeX; the rest need only matplotlib (and Pillow)
    unusual = {"raw", "rgba", "pgf", "avif"}
    return sorted(set(FigureCanvasAgg.get_supported_filetypes()) - unusual)
