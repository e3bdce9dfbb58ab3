"""Figures drawn with matplotlib's Agg backend, saved atomically as PNG.

Every module that draws (the report's figures, :mod:`genrekit.explain`) makes its figure with
:func:`new_figure` and writes it with :func:`save_png`:

- the object API on an Agg canvas: no pyplot state, no display, safe in worker threads, and
  matplotlib is imported only when a figure is drawn;
- the PNG is written under a temporary name and renamed into place
  (:func:`genrekit.files.atomic_write`), so a failed or interrupted save leaves the old file
  or none, never a partial PNG.

>>> figure = new_figure(4.0, 3.0)                                    # doctest: +SKIP
>>> figure.add_subplot().plot([0, 1], [1, 0])                        # doctest: +SKIP
>>> save_png(figure, "out/line.png")                                 # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from genrekit.files import atomic_write

__all__ = ["new_figure", "save_png", "DEFAULT_DPI"]

#: Dots per inch of a figure unless its caller asks for others.
DEFAULT_DPI = 80


def new_figure(width: float, height: float, *, dpi: float = DEFAULT_DPI, layout: str | None = None):
    """A matplotlib figure on an Agg canvas.

    Parameters
    ----------
    width, height : float
        Size in inches; the PNG is ``width * dpi`` x ``height * dpi`` pixels.
    dpi : float
        Dots per inch, used by :func:`save_png` as well.
    layout : str, optional
        matplotlib's layout engine (``"constrained"``, ``"tight"``), or None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure, path: str | os.PathLike) -> Path:
    """Write a figure as a PNG at its own dpi, atomically; parent folders are created.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    path : str or path-like

    Returns
    -------
    pathlib.Path
        ``path``. If drawing fails, ``path`` is untouched (an older file stays) and no
        temporary file is left.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda stream: figure.savefig(stream, format="png", dpi=figure.dpi))
