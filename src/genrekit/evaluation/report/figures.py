"""The report's figures: a confusion matrix, training curves, ours beside the paper (PNG).

Each function draws one figure with :mod:`genrekit.plotting` (Agg, written atomically) and
returns the path of the PNG; :mod:`.assembly` records what each one plots in figures.json.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

from genrekit.evaluation.report.document import plural
from genrekit.plotting import new_figure, save_png

__all__ = ["plot_confusion", "plot_curves", "plot_accuracy"]

_DPI = 120
_OURS, _PAPER, _RUNS = "#1f5fa8", "#c0392b", "#8c8c8c"
# (column, panel, legend label, colour, line style) of the curve figure.
_CURVE_SERIES = (
    ("train_loss", 0, "train", "#1f5fa8", "-"),
    ("valid_loss", 0, "validation", "#e07b00", "-"),
    ("train_clip_accuracy", 1, "train (clips)", "#1f5fa8", "-"),
    ("valid_clip_accuracy", 1, "validation (clips)", "#e07b00", "--"),
    ("valid_track_accuracy", 1, "validation (tracks)", "#2e8b3a", "-"),
)


def _new_figure(width: float, height: float):
    return new_figure(width, height, dpi=_DPI, layout="constrained")


def plot_confusion(matrix: Sequence[Sequence[int]], genres: Sequence[str], path: str | os.PathLike,
                   title: str = "", note: str = "") -> Path:
    """Draw a confusion matrix as the papers do: a grid of counts, rows true, columns predicted.

    One colour scale (white to blue, by count), the count written in every cell (zeros in
    grey so the diagonal and the real confusions stand out), genre names on both axes.

    Parameters
    ----------
    matrix : sequence of sequence of int [shape=(n_genres, n_genres)]
        ``matrix[true][predicted]`` track counts.
    genres : sequence of str
    path : str or path-like
        The PNG to write (folders are created).
    title : str
        Above the grid.
    note : str
        Label of the colour bar (e.g. "tracks, summed over 10 runs").

    Returns
    -------
    pathlib.Path
    """
    import numpy as np

    counts = np.asarray(matrix, dtype=np.int64)
    n = len(genres)
    side = max(4.0, 0.48 * n + 2.4)
    figure = _new_figure(side + 1.0, side)
    axes = figure.add_subplot()
    top = max(int(counts.max()) if counts.size else 0, 1)
    image = axes.imshow(counts, cmap="Blues", vmin=0, vmax=top, interpolation="nearest")
    size = 9 if n <= 10 else max(5, 9 - (n - 10) // 3)
    for (row, column), count in np.ndenumerate(counts):
        colour = "#b3b3b3" if count == 0 else ("white" if count > 0.55 * top else "#1a1a1a")
        axes.text(column, row, str(count), ha="center", va="center", color=colour, fontsize=size)
    axes.set_xticks(range(n), labels=list(genres), rotation=45, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(n), labels=list(genres))
    # Thin white lines between cells, as in the papers' grids.
    axes.set_xticks(np.arange(-0.5, n, 1.0), minor=True)
    axes.set_yticks(np.arange(-0.5, n, 1.0), minor=True)
    axes.grid(which="minor", color="white", linewidth=1.0)
    axes.tick_params(which="minor", length=0)
    axes.set_xlabel("predicted genre")
    axes.set_ylabel("true genre")
    if title:
        axes.set_title(title, fontsize=10)
    bar = figure.colorbar(image, ax=axes, fraction=0.046, pad=0.03)
    bar.set_label(note or "tracks")
    return save_png(figure, path)


def plot_curves(runs: Sequence[tuple[str, dict[str, list[float]]]], path: str | os.PathLike,
                title: str = "") -> Path:
    """Draw training and validation curves: loss (left) and accuracy (right) per epoch, one thin line per run.

    Parameters
    ----------
    runs : sequence of (str, dict)
        ``(run name, columns of its curves.csv)`` (:meth:`genrekit.runs.RunDir.read_curves`).
    path : str or path-like
        The PNG to write.
    title : str

    Returns
    -------
    pathlib.Path
    """
    import numpy as np

    figure = _new_figure(10.0, 3.8)
    panels = figure.subplots(1, 2)
    labelled = set()
    for _, columns in runs:
        epochs = columns.get("epoch", [])
        for column, panel, label, colour, style in _CURVE_SERIES:
            values = np.asarray(columns.get(column, []), dtype=np.float64)
            if not values.size or np.isnan(values).all():
                continue
            panels[panel].plot(epochs[:values.size], values, color=colour, linestyle=style, linewidth=0.9,
                               alpha=0.75, marker="o" if values.size == 1 else None, markersize=3,
                               label=None if label in labelled else label)
            labelled.add(label)
    for axes, name in zip(panels, ("loss (cross-entropy)", "accuracy")):
        axes.set_title(name, fontsize=10)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=8, frameon=False)
    panels[1].set_ylim(0.0, 1.02)
    figure.suptitle(title or plural(len(runs), "run"), fontsize=11)
    return save_png(figure, path)


def plot_accuracy(rows: Sequence[dict], path: str | os.PathLike, title: str = "") -> Path:
    """Draw ours beside the paper: per system the runs (grey dots), our mean and 95 % interval, the paper's number.

    Parameters
    ----------
    rows : sequence of dict
        ``label``, ``mean``, ``runs``, ``ci95`` (or None), ``paper`` (or None), top to bottom.
    path : str or path-like
        The PNG to write.
    title : str

    Returns
    -------
    pathlib.Path
    """
    figure = _new_figure(8.0, 1.3 + 0.45 * len(rows))
    axes = figure.add_subplot()
    seen = set()

    def once(label: str) -> str | None:
        # One legend entry per kind of mark, however many systems there are.
        if label in seen:
            return None
        seen.add(label)
        return label

    values = []
    for y, row in enumerate(reversed(rows)):
        # The runs as a strip just below the interval, which would otherwise hide them.
        axes.scatter(row["runs"], [y - 0.22] * len(row["runs"]), s=12, color=_RUNS, alpha=0.7, zorder=2,
                     label=once("single runs"))
        if row.get("ci95"):
            axes.hlines(y, *row["ci95"], color=_OURS, linewidth=2.2, zorder=3, label=once("ours: 95 % CI"))
        axes.plot(row["mean"], y, "o", color=_OURS, markersize=7, zorder=4, label=once("ours: mean"))
        if row.get("paper") is not None:
            axes.plot(row["paper"], y, "x", color=_PAPER, markersize=9, markeredgewidth=2.2, zorder=5,
                      label=once("paper"))
        values += list(row["runs"]) + [row["mean"]] + list(row.get("ci95") or []) + \
            ([row["paper"]] if row.get("paper") is not None else [])
    low = max(0.0, math.floor((min(values) - 0.05) * 10) / 10)
    axes.set_xlim(low, 1.0)
    axes.set_ylim(-0.6, len(rows) - 0.4)
    axes.set_yticks(range(len(rows)), labels=[row["label"] for row in reversed(rows)])
    axes.xaxis.set_major_formatter(lambda x, _: f"{100 * x:.0f} %")
    axes.set_xlabel("track accuracy on the test tracks")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        axes.set_title(title, fontsize=10)
    return save_png(figure, path)
