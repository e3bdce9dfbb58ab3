"""Reports of reproductions: Markdown, a self-contained HTML page, PNG figures and their numbers.

``genrekit reproduce`` trains the systems of a paper under its protocol and writes
``DIR/results.json`` (schema checked by :func:`validate_results`) next to the training run
directories ``DIR/runs/<system>/<run-id>/``. :func:`write_report` turns one such directory
into::

    OUT/report.md       the report, images linked from figures/
    OUT/report.html     the same report in one file: inline CSS, figures as base64 data URIs
    OUT/figures/*.png   accuracy.png (ours beside the paper), confusion-<system>.png,
                        curves-<system>.png (loss and accuracy per epoch, one thin line per run)
    OUT/figures.json    every number the report shows, at full precision, and what each figure plots

:func:`combine` puts several reproductions in one report: one table of all systems, then a
section per reproduction.

A report built from a ``quick`` budget says at its top, before any number, that the numbers
come from a cut-down run and are not comparable to the paper's.

    genrekit report DIR [DIR...] [--out OUT]
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, Union

from genrekit.errors import ConfigError
from genrekit.files import atomic_write, atomic_write_text
from genrekit.runs import RunDir

__all__ = ["RESULTS_FILE", "KINDS", "BUDGETS", "validate_results", "load_results", "write_report", "combine",
           "read_curves", "plot_confusion", "plot_curves", "plot_accuracy"]

#: The file a reproduction directory holds.
RESULTS_FILE = "results.json"
#: The kinds of system a reproduction compares.
KINDS = ("network", "classical", "fusion")
#: ``quick``: fewer runs and epochs than the paper; ``full``: the paper's protocol.
BUDGETS = ("quick", "full")

QUICK_WARNING = ("Quick budget: these numbers come from a cut-down run (fewer runs and epochs than the "
                 "paper's protocol) and are not comparable to the paper's numbers.")

# ----------------------------------------------------------------------------------------------
# Validation of results.json
# ----------------------------------------------------------------------------------------------

Check = Callable[[Any], Union[str, None]]  # None if the value is good, else what it must be


def _real(value: Any) -> bool:
    # bool is an int subclass; True is never an accuracy.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a non-empty string"


def _any_text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be an object"


def _fraction(value: Any) -> str | None:
    # Accuracies are fractions; a percentage (90.7) here would put the paper 100x off ours.
    return None if _real(value) and 0 <= value <= 1 else "must be a number from 0 to 1 (a fraction, not a percentage)"


def _non_negative(value: Any) -> str | None:
    return None if _real(value) and value >= 0 else "must be a number >= 0"


def _count(value: Any) -> str | None:
    return None if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else "must be an integer >= 0"


def _one_of(*options: str) -> Check:
    return lambda value: None if value in options else f"must be one of {', '.join(map(repr, options))}"


class _Validator:
    """Checks keys of nested objects and names the failing key by its path (``systems[1].accuracy.mean``)."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str, value: Any = ...) -> None:
        shown = "" if value is ... else f", got {_short(value)}"
        raise ConfigError(f"{self.source}: {where!r} {problem}{shown}")

    def field(self, container: dict, key: str, path: str, check: Check, *, required: bool = True,
              nullable: bool = False) -> Any:
        where = f"{path}.{key}" if path else key
        if key not in container:
            if required:
                self.fail(where, "is missing")
            return None
        value = container[key]
        if value is None:
            if nullable or not required:
                return None
            self.fail(where, "is null")
        problem = check(value)
        if problem:
            self.fail(where, problem, value)
        return value

    def items(self, container: dict, key: str, path: str, check: Check, *, length: int | None = None,
              nullable_items: bool = False, **options) -> list | None:
        """A list under ``key`` whose every element passes ``check``."""
        values = self.field(container, key, path, lambda v: None if isinstance(v, list) else "must be a list",
                            **options)
        if values is None:
            return None
        where = f"{path}.{key}" if path else key
        if length is not None and len(values) != length:
            self.fail(where, f"must have {length} entries (one per genre), has {len(values)}")
        for index, value in enumerate(values):
            if value is None and nullable_items:
                continue
            problem = check(value)
            if problem:
                self.fail(f"{where}[{index}]", problem, value)
        return values


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def validate_results(data: Any, source: str = RESULTS_FILE) -> None:
    """Check that ``data`` follows the ``results.json`` schema of ``genrekit reproduce``.

    Required: ``paper``, ``title``, ``citation``, ``command`` (strings); ``dataset`` (with
    ``name``); ``protocol`` (with ``name`` and ``split``); ``budget`` (``quick`` or ``full``);
    ``deviations`` (list of strings, may be empty); ``versions`` (object); ``genres``
    (distinct names); ``systems`` (a non-empty list). Each system needs ``name`` (distinct),
    ``model``, ``kind`` (``network``, ``classical`` or ``fusion``), ``accuracy`` with ``mean``
    and ``runs`` (fractions), ``confusion`` (genres x genres track counts, ``[true][predicted]``)
    and ``recall`` (one fraction or null per genre). ``paper_accuracy``, ``paper_note``,
    ``clip_accuracy``, ``accuracy.std``, ``accuracy.ci95``, ``accuracy.ci_method`` and
    ``run_dirs`` may be null or absent.

    Parameters
    ----------
    data : object
        The parsed JSON.
    source : str
        What to call the data in error messages (the file's path).

    Raises
    ------
    genrekit.errors.ConfigError
        Naming the first missing or bad key by its path, e.g. ``'systems[1].accuracy.mean' is missing``.
    """
    check = _Validator(source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must hold a JSON object, got {type(data).__name__}")
    for key in ("paper", "title", "citation", "command"):
        check.field(data, key, "", _text)
    dataset = check.field(data, "dataset", "", _mapping)
    check.field(dataset, "name", "dataset", _text)
    check.field(dataset, "tracks", "dataset", _count, required=False)
    for key in ("root", "description"):
        check.field(dataset, key, "dataset", _any_text, required=False)
    protocol = check.field(data, "protocol", "", _mapping)
    check.field(protocol, "name", "protocol", _text)
    check.field(protocol, "split", "protocol", _text)
    check.field(protocol, "runs", "protocol", _count, required=False)
    check.field(protocol, "description", "protocol", _any_text, required=False)
    check.field(data, "budget", "", _one_of(*BUDGETS))
    check.items(data, "deviations", "", _any_text)
    check.field(data, "versions", "", _mapping)
    genres = check.items(data, "genres", "", _text)
    if not genres:
        check.fail("genres", "must name at least one genre")
    if len(set(genres)) != len(genres):
        check.fail("genres", "must be distinct", genres)
    systems = check.items(data, "systems", "", _mapping)
    if not systems:
        check.fail("systems", "must hold at least one system")
    names = set()
    for index, system in enumerate(systems):
        _validate_system(check, system, f"systems[{index}]", len(genres))
        if system["name"] in names:
            check.fail(f"systems[{index}].name", "must be distinct from the other systems' names", system["name"])
        names.add(system["name"])


def _validate_system(check: _Validator, system: dict, path: str, n_genres: int) -> None:
    check.field(system, "name", path, _text)
    check.field(system, "model", path, _text)
    check.field(system, "kind", path, _one_of(*KINDS))
    check.field(system, "paper_accuracy", path, _fraction, required=False)
    check.field(system, "paper_note", path, _any_text, required=False)
    accuracy = check.field(system, "accuracy", path, _mapping)
    _validate_summary(check, accuracy, f"{path}.accuracy")
    interval = check.items(accuracy, "ci95", f"{path}.accuracy", _fraction, required=False)
    if interval is not None and (len(interval) != 2 or interval[0] > interval[1]):
        check.fail(f"{path}.accuracy.ci95", "must be [low, high] with low <= high", interval)
    check.field(accuracy, "ci_method", f"{path}.accuracy", _any_text, required=False)
    clip = check.field(system, "clip_accuracy", path, _mapping, required=False)
    if clip is not None:
        _validate_summary(check, clip, f"{path}.clip_accuracy")
    rows = check.items(system, "confusion", path, lambda v: None if isinstance(v, list) else "must be a list",
                       length=n_genres)
    for row_index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != n_genres:
            check.fail(f"{path}.confusion[{row_index}]", f"must be a list of {n_genres} counts (one per genre)", row)
        for column, value in enumerate(row):
            problem = _count(value)
            if problem:
                check.fail(f"{path}.confusion[{row_index}][{column}]", problem, value)
    check.items(system, "recall", path, _fraction, length=n_genres, nullable_items=True)
    check.items(system, "run_dirs", path, _text, required=False)


def _validate_summary(check: _Validator, summary: dict, path: str) -> None:
    """``{mean, std, runs}`` of an accuracy over runs."""
    check.field(summary, "mean", path, _fraction)
    check.field(summary, "std", path, _non_negative, required=False)
    runs = check.items(summary, "runs", path, _fraction)
    if not runs:
        check.fail(f"{path}.runs", "must hold the accuracy of at least one run")


def load_results(results_dir: str | os.PathLike) -> dict:
    """Read and validate ``results.json`` of a reproduction directory (or the file itself).

    Raises
    ------
    genrekit.errors.ConfigError
        If the file is missing, is not JSON, or breaks the schema (:func:`validate_results`).
    """
    path = Path(results_dir)
    if path.is_dir() or path.name != RESULTS_FILE:
        path = path / RESULTS_FILE
    if not path.is_file():
        raise ConfigError(f"{path} not found: a reproduction directory holds the {RESULTS_FILE} that "
                          f"`genrekit reproduce` writes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    validate_results(data, source=str(path))
    return data


# ----------------------------------------------------------------------------------------------
# Curves of the training runs
# ----------------------------------------------------------------------------------------------

def read_curves(path: str | os.PathLike) -> dict[str, list[float]]:
    """The columns of a run's ``curves.csv`` as lists of floats (an empty or bad cell is NaN).

    Returns
    -------
    dict of str to list of float
        ``epoch``, ``train_loss``, ``train_clip_accuracy``, ``valid_loss``, ``valid_clip_accuracy``,
        ``valid_track_accuracy``, ``seconds`` (whichever the file has).
    """
    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        rows = list(reader)
        names = reader.fieldnames or []
    return {name: [_float(row.get(name)) for row in rows] for name in names}


def _float(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        # A run without a validation set leaves the valid_* cells empty.
        return math.nan


# ----------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------

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
    # The object API with an Agg canvas: no pyplot state, no display, safe in worker threads.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda stream: figure.savefig(stream, format="png", dpi=_DPI))
    return path


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
    return _save(figure, path)


def plot_curves(runs: Sequence[tuple[str, dict[str, list[float]]]], path: str | os.PathLike,
                title: str = "") -> Path:
    """Draw training and validation curves: loss (left) and accuracy (right) per epoch, one thin line per run.

    Parameters
    ----------
    runs : sequence of (str, dict)
        ``(run name, columns of its curves.csv)`` (:func:`read_curves`).
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
    figure.suptitle(title or _plural(len(runs), "run"), fontsize=11)
    return _save(figure, path)


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
    return _save(figure, path)


# ----------------------------------------------------------------------------------------------
# A small document model, rendered to Markdown and to HTML from the same blocks
# ----------------------------------------------------------------------------------------------

@dataclass
class _Code:
    text: str


@dataclass
class _Strong:
    text: str


Inline = Union[str, _Code, _Strong, list]


@dataclass
class _Heading:
    level: int
    text: Inline


@dataclass
class _Paragraph:
    text: Inline


@dataclass
class _Warning:
    text: Inline


@dataclass
class _Table:
    header: list[Inline]
    rows: list[list[Inline]]
    numeric: set[int] = field(default_factory=set)  # columns aligned right


@dataclass
class _Image:
    path: str  # relative to the report's folder, forward slashes
    caption: str


@dataclass
class _Gallery:
    """Figures shown side by side in HTML (one after the other in Markdown)."""

    images: list[_Image]


@dataclass
class _CodeBlock:
    text: str


@dataclass
class _Bullets:
    items: list[Inline]


def _md_inline(text: Inline) -> str:
    if isinstance(text, list):
        return "".join(_md_inline(part) for part in text)
    if isinstance(text, _Code):
        return f"`{text.text}`"
    if isinstance(text, _Strong):
        return f"**{text.text}**"
    return text


def _markdown(blocks: list) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            lines += ["#" * block.level + " " + _md_inline(block.text), ""]
        elif isinstance(block, _Paragraph):
            lines += [_md_inline(block.text), ""]
        elif isinstance(block, _Warning):
            lines += ["> **WARNING** " + _md_inline(block.text), ""]
        elif isinstance(block, _Table):
            def cells(values):
                return "| " + " | ".join(_md_inline(v).replace("|", "\\|") for v in values) + " |"
            rule = ["---:" if i in block.numeric else "---" for i in range(len(block.header))]
            lines += [cells(block.header), "| " + " | ".join(rule) + " |"] + [cells(r) for r in block.rows] + [""]
        elif isinstance(block, (_Image, _Gallery)):
            for image in block.images if isinstance(block, _Gallery) else [block]:
                lines += [f"![{image.caption}]({image.path})", "", f"*{image.caption}*", ""]
        elif isinstance(block, _CodeBlock):
            lines += ["```sh", block.text, "```", ""]
        elif isinstance(block, _Bullets):
            lines += [f"- {_md_inline(item)}" for item in block.items] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _html_inline(text: Inline) -> str:
    if isinstance(text, list):
        return "".join(_html_inline(part) for part in text)
    if isinstance(text, _Code):
        return f"<code>{html.escape(text.text)}</code>"
    if isinstance(text, _Strong):
        return f"<strong>{html.escape(text.text)}</strong>"
    return html.escape(text)


_CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d1d1f; margin: 0;
       background: #fff; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.6em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
.warning { background: #fff4d6; border-left: 5px solid #d98e04; padding: 10px 14px; margin: 12px 0 18px;
           font-weight: 600; }
.table-wrap { overflow-x: auto; margin: 10px 0 16px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d8d8d8; padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: 600; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td { min-width: 3.5em; }
code { font: 12.5px/1.4 Menlo, Consolas, monospace; background: #f2f4f7; padding: 1px 4px; border-radius: 3px; }
pre { background: #f2f4f7; padding: 10px 14px; overflow-x: auto; border-radius: 4px; }
pre code { background: none; padding: 0; }
figure { margin: 14px 0 22px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #555; margin-top: 4px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 8px 20px; }
"""


def _html_figure(image: _Image, root: Path) -> str:
    data = base64.b64encode((root / image.path).read_bytes()).decode("ascii")
    caption = html.escape(image.caption)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _html(blocks: list, title: str, root: Path) -> str:
    """The report as one HTML file; images are read from ``root`` and embedded as data URIs."""
    body: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            body.append(f"<h{block.level}>{_html_inline(block.text)}</h{block.level}>")
        elif isinstance(block, _Paragraph):
            body.append(f"<p>{_html_inline(block.text)}</p>")
        elif isinstance(block, _Warning):
            body.append(f'<p class="warning">WARNING: {_html_inline(block.text)}</p>')
        elif isinstance(block, _Table):
            def row(tag, values):
                return "<tr>" + "".join(
                    f'<{tag}{" class=num" if i in block.numeric else ""}>{_html_inline(v)}</{tag}>'
                    for i, v in enumerate(values)) + "</tr>"
            body.append('<div class="table-wrap"><table><thead>' + row("th", block.header) + "</thead><tbody>"
                        + "".join(row("td", r) for r in block.rows) + "</tbody></table></div>")
        elif isinstance(block, _Image):
            body.append(_html_figure(block, root))
        elif isinstance(block, _Gallery):
            body.append('<div class="gallery">' + "".join(_html_figure(image, root) for image in block.images)
                        + "</div>")
        elif isinstance(block, _CodeBlock):
            body.append(f"<pre><code>{html.escape(block.text)}</code></pre>")
        elif isinstance(block, _Bullets):
            body.append("<ul>" + "".join(f"<li>{_html_inline(item)}</li>" for item in block.items) + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


# ----------------------------------------------------------------------------------------------
# Numbers as the report shows them
# ----------------------------------------------------------------------------------------------

def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _paper_pct(value: float | None) -> str:
    """A paper's number with the decimals it was given (61.28 %), at least one (85.0 %)."""
    if value is None:
        return "–"
    text = f"{100 * value:.2f}"
    return (text[:-1] if text.endswith("0") else text) + " %"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _mean_std(summary: dict | None) -> str:
    if not summary:
        return "–"
    spread = summary.get("std") is not None and len(summary["runs"]) > 1
    return _pct(summary["mean"]) + (f" ± {100 * summary['std']:.1f}" if spread else "")


def _interval(values: Sequence[float] | None) -> str:
    return "–" if not values else f"{100 * values[0]:.1f}–{100 * values[1]:.1f} %"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def _unique(name: str, taken: set[str]) -> str:
    candidate, index = name, 2
    while candidate in taken:
        candidate, index = f"{name}-{index}", index + 1
    taken.add(candidate)
    return candidate


def _jsonable(value: Any) -> Any:
    """NaN and infinities as null: figures.json must be strict JSON for any reader."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


# ----------------------------------------------------------------------------------------------
# One reproduction's content
# ----------------------------------------------------------------------------------------------

@dataclass
class _Reproduction:
    """A loaded reproduction directory and the names its figures get in the report."""

    data: dict
    directory: Path
    prefix: str  # prepended to figure names, so several reproductions can share a figures/ folder

    @property
    def quick(self) -> bool:
        return self.data["budget"] == "quick"

    def label(self) -> str:
        return f"{self.data['title']} ({self.data['budget']} budget)"

    def cuts(self) -> list[str]:
        """The deviations that cut a ``full`` protocol (``--runs``, ``--epochs``); empty for a whole one."""
        if self.quick:
            return []
        return [d for d in self.data.get("deviations", [])
                if "of the protocol's" in d or ("at most" in d and "epochs" in d)]

    def rows(self) -> list[dict]:
        """The numbers of the main table, one dict per system (also written to figures.json)."""
        data = self.data
        rows = []
        for system in data["systems"]:
            accuracy, paper = system["accuracy"], system.get("paper_accuracy")
            rows.append({
                "reproduction": data["paper"], "system": system["name"], "model": system["model"],
                "kind": system["kind"],
                "accuracy": {key: accuracy.get(key) for key in ("mean", "std", "ci95", "runs", "ci_method")},
                "clip_accuracy": ({key: system["clip_accuracy"].get(key) for key in ("mean", "std", "runs")}
                                  if system.get("clip_accuracy") else None),
                "paper_accuracy": paper, "paper_note": system.get("paper_note"),
                "difference": None if paper is None else accuracy["mean"] - paper,
                "protocol": data["protocol"]["name"], "split": data["protocol"]["split"],
                "dataset": data["dataset"]["name"], "dataset_tracks": data["dataset"].get("tracks"),
                "budget": data["budget"] + (", cut" if self.cuts() else ""),
            })
        return rows

    def curves(self, system: dict) -> tuple[list[tuple[str, dict]], list[str]]:
        """``(run name, columns)`` of every run dir with a curves.csv, and the run dirs without one."""
        found, missing = [], []
        for run_dir in system.get("run_dirs") or []:
            path = RunDir(self.directory / run_dir).curves_path
            if path.is_file():
                found.append((run_dir, read_curves(path)))
            else:
                missing.append(run_dir)
        return found, missing


def _table(rows: list[dict], with_reproduction: bool) -> _Table:
    """The main table: ours (mean ± std, 95 % CI) beside the paper, with protocol, dataset and budget."""
    header = (["reproduction"] if with_reproduction else []) + [
        "system", "ours (mean ± std)", "runs", "95 % CI", "paper", "ours − paper", "ours: clip acc.",
        "paper's setting", "protocol (split)", "dataset", "budget"]
    body = []
    for row in rows:
        dataset = row["dataset"] + (f" ({row['dataset_tracks']} tracks)" if row["dataset_tracks"] is not None else "")
        difference = "–" if row["difference"] is None else f"{100 * row['difference']:+.1f} pts"
        cells = [[_Strong(row["system"]), " ", _Code(row["model"]), f" ({row['kind']})"],
                 _mean_std(row["accuracy"]), str(len(row["accuracy"]["runs"])), _interval(row["accuracy"]["ci95"]),
                 _paper_pct(row["paper_accuracy"]), difference, _mean_std(row["clip_accuracy"]),
                 row["paper_note"] or "–",
                 _protocol(row["protocol"], row["split"]), dataset,
                 _Strong("quick") if row["budget"] == "quick" else row["budget"]]
        body.append(([_Code(row["reproduction"])] if with_reproduction else []) + cells)
    offset = 1 if with_reproduction else 0
    return _Table(header, body, numeric={offset + i for i in range(1, 7)})


def _ci_note(rows: list[dict]) -> _Paragraph:
    methods = {row["accuracy"]["ci_method"] for row in rows if row["accuracy"]["ci_method"]}
    if len(methods) == 1:
        how = f"95 % CI: {methods.pop()}."
    elif methods:
        how = "95 % CI: " + "; ".join(f"{row['system']}: {row['accuracy']['ci_method']}" for row in rows
                                      if row["accuracy"]["ci_method"]) + "."
    else:
        how = "No confidence interval method was recorded."
    return _Paragraph(f"Track accuracy on the test tracks, mean ± standard deviation over runs; clip accuracy "
                      f"likewise, for the systems that classify clips. {how} "
                      "Paper: the number the paper reports for its own setting (see \"paper's setting\").")


class _Builder:
    """Draws the figures of a report into OUT/figures and records what each plots (for figures.json)."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.figures: dict[str, dict] = {}
        self.taken: set[str] = set()

    def figure(self, name: str, draw: Callable[[Path], Path], data: dict) -> str:
        relative = "figures/" + _unique(_slug(name), self.taken) + ".png"
        draw(self.out_dir / relative)
        self.figures[relative] = data
        return relative

    def accuracy(self, name: str, rows: list[dict], with_reproduction: bool) -> _Image:
        points = [{"label": _figure_label(row, with_reproduction),
                   "mean": row["accuracy"]["mean"], "runs": row["accuracy"]["runs"],
                   "ci95": row["accuracy"]["ci95"], "paper": row["paper_accuracy"]} for row in rows]
        relative = self.figure(name, lambda path: plot_accuracy(points, path), {"kind": "accuracy", "systems": points})
        return _Image(relative, "Track accuracy: our runs (grey), our mean and 95 % CI (blue), the paper's "
                                "number (red cross).")

    def reproduction(self, rep: _Reproduction, level: int, with_table: bool) -> list:
        """Every section of one reproduction, headings starting at ``level``."""
        data, genres = rep.data, rep.data["genres"]
        rows = rep.rows()
        blocks: list = []
        if with_table:
            blocks += [_Heading(level, "Results"), _table(rows, with_reproduction=False), _ci_note(rows),
                       self.accuracy(f"{rep.prefix}accuracy", rows, with_reproduction=False)]

        blocks.append(_Heading(level, "Per-genre recall"))
        blocks.append(_Paragraph("Recall of each genre (correct / test tracks of that genre), from the confusion "
                                 "matrix summed over runs; – where the genre had no test track."))
        blocks.append(_Table(["genre"] + [s["name"] for s in data["systems"]],
                             [[genre] + [_pct(s["recall"][g]) for s in data["systems"]]
                              for g, genre in enumerate(genres)],
                             numeric=set(range(1, len(data["systems"]) + 1))))

        blocks.append(_Heading(level, "Confusion matrices"))
        matrices = []
        for system in data["systems"]:
            n_runs = len(system["accuracy"]["runs"])
            total = sum(map(sum, system["confusion"]))
            note = f"tracks, summed over {_plural(n_runs, 'run')}"
            title = f"{system['name']}: track accuracy {_pct(system['accuracy']['mean'])}"
            relative = self.figure(
                f"{rep.prefix}confusion-{system['name']}",
                lambda path, s=system, t=title, n=note: plot_confusion(s["confusion"], genres, path, t, n),
                {"kind": "confusion", "system": system["name"], "genres": genres, "matrix": system["confusion"],
                 "runs": n_runs, "tracks": total})
            matrices.append(_Image(relative, f"{system['name']}: rows true genre, columns predicted; {total} "
                                             f"test-track decisions summed over {_plural(n_runs, 'run')}."))
        blocks.append(_Gallery(matrices))

        blocks.append(_Heading(level, "Training curves"))
        for system in data["systems"]:
            runs, missing = rep.curves(system)
            if runs:
                relative = self.figure(
                    f"{rep.prefix}curves-{system['name']}",
                    lambda path, r=runs, s=system: plot_curves(r, path, f"{s['name']}: {_plural(len(r), 'run')}"),
                    {"kind": "curves", "system": system["name"], "runs": dict(runs)})
                blocks.append(_Image(relative, f"{system['name']}: loss and accuracy per epoch, one thin line per "
                                               "run (from each run's curves.csv)."))
            if missing or not runs:
                blocks.append(_Paragraph(_no_curves(system, missing)))

        blocks.append(_Heading(level, "Deviations from the paper"))
        blocks.append(_Bullets(list(data["deviations"])) if data["deviations"]
                      else _Paragraph("None recorded."))

        blocks.append(_Heading(level, "How this was produced"))
        blocks += [_Paragraph("Command:"), _CodeBlock(data["command"]),
                   _Table(["package", "version"], [[_Code(k), str(v)] for k, v in data["versions"].items()]),
                   _Paragraph(["Source: ", _Code(str(rep.directory / RESULTS_FILE)),
                               "; every number in this report is in ", _Code("figures.json"), "."])]
        return blocks


def _figure_label(row: dict, with_reproduction: bool) -> str:
    if not with_reproduction:
        return row["system"]
    return f"{row['reproduction']}{' (quick)' if row['budget'] == 'quick' else ''}: {row['system']}"


def _no_curves(system: dict, missing: list[str]) -> list:
    name = _Strong(system["name"])
    if not system.get("run_dirs"):
        return [name, f": no training curves (a {system['kind']} system with no run directory of its own)."]
    if len(missing) == len(system["run_dirs"]):
        why = " (classical baselines are fitted once, without epochs)" if system["kind"] == "classical" else ""
        return [name, f": no curves.csv in its run directories ({len(missing)}){why}."]
    return [name, f": no curves.csv in {len(missing)} of its {len(system['run_dirs'])} run directories: ",
            ", ".join(missing), "."]


def _protocol(name: str, split: str) -> Inline:
    """A protocol's name and its split spec, the spec alone where the name is the spec."""
    return _Code(split) if name == split else [name, " (", _Code(split), ")"]


def _then(description: str | None) -> str:
    """A free-text description after a line's facts, or the end of the sentence when there is none."""
    return f" — {description.strip()}" if description and description.strip() else "."


def _header(rep: _Reproduction) -> list:
    """Citation, dataset, protocol and budget lines, the quick-budget warning first of all."""
    data = rep.data
    dataset, protocol = data["dataset"], data["protocol"]
    blocks: list = [_Warning(QUICK_WARNING)] if rep.quick else []
    blocks.append(_Paragraph(data["citation"]))
    tracks = f", {dataset['tracks']} tracks" if dataset.get("tracks") is not None else ""
    root = [", at ", _Code(dataset["root"])] if dataset.get("root") else []
    blocks.append(_Paragraph([_Strong("Dataset:"), f" {dataset['name']}{tracks}", *root,
                              _then(dataset.get("description"))]))
    runs = f", {_plural(protocol['runs'], 'run')}" if protocol.get("runs") is not None else ""
    blocks.append(_Paragraph([_Strong("Protocol:"), " ", _protocol(protocol["name"], protocol["split"]),
                              runs, _then(protocol.get("description"))]))
    cuts = rep.cuts()
    blocks.append(_Paragraph([_Strong("Budget:"), " " + data["budget"]
                              + (" (cut-down: fewer runs and epochs than the paper)" if rep.quick
                                 else f", cut: {'; '.join(cuts)}" if cuts else " (the paper's protocol)") + "."]))
    return blocks


def _figures_json(reproductions: list[_Reproduction], builder: _Builder) -> dict:
    import genrekit

    return _jsonable({
        "generated_by": f"genrekit {genrekit.__version__}",
        "reproductions": [{
            **{key: rep.data[key] for key in ("paper", "title", "citation", "dataset", "protocol", "budget",
                                              "deviations", "command", "versions", "genres")},
            "source": str(rep.directory / RESULTS_FILE),
            "table": rep.rows(),
            "recall": {s["name"]: s["recall"] for s in rep.data["systems"]},
        } for rep in reproductions],
        "figures": builder.figures,
    })


def _write(out_dir: Path, title: str, blocks: list, reproductions: list[_Reproduction],
           builder: _Builder) -> dict[str, Path]:
    paths = {name: out_dir / name for name in builder.figures}
    for name, text in (("report.md", _markdown(blocks)), ("report.html", _html(blocks, title, out_dir)),
                       ("figures.json", json.dumps(_figures_json(reproductions, builder), indent=1,
                                                   ensure_ascii=False) + "\n")):
        paths[name] = atomic_write_text(out_dir / name, text)
    return paths


def write_report(results_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write the report of one reproduction: report.md, report.html, figures/*.png and figures.json.

    Layout: the title and, for a ``quick`` budget, a warning that the numbers are not comparable
    to the paper's; citation, dataset, protocol and budget; **Results** (per system ours as
    mean ± std over runs with its 95 % CI and clip accuracy, beside the paper's number, the
    difference, the paper's setting, protocol and split, dataset and budget; a figure of the
    same); **Per-genre recall** (genres x systems); **Confusion matrices** (one PNG per system);
    **Training curves** (one PNG per system that has curves.csv in its run directories);
    **Deviations from the paper**; **How this was produced** (command, versions, source).

    Parameters
    ----------
    results_dir : str or path-like
        A reproduction directory holding ``results.json`` (run directories relative to it).
    out_dir : str or path-like, optional
        Where to write; default ``results_dir``.

    Returns
    -------
    dict of str to pathlib.Path
        Every file written, keyed by its path relative to ``out_dir`` (``report.md``,
        ``report.html``, ``figures.json``, ``figures/confusion-net1.png``...).

    Raises
    ------
    genrekit.errors.ConfigError
        If ``results.json`` is missing or breaks the schema (:func:`validate_results`).
    """
    results_dir = Path(results_dir)
    if results_dir.name == RESULTS_FILE and results_dir.is_file():
        results_dir = results_dir.parent
    rep = _Reproduction(load_results(results_dir), results_dir, prefix="")
    out_dir = Path(out_dir) if out_dir is not None else results_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    builder = _Builder(out_dir)
    blocks = [_Heading(1, rep.data["title"]), *_header(rep), *builder.reproduction(rep, level=2, with_table=True)]
    return _write(out_dir, rep.data["title"], blocks, [rep], builder)


def combine(results_dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write one report of several reproductions side by side.

    Layout: a warning naming every ``quick`` reproduction; **All systems**, one table of every
    system of every reproduction (as in :func:`write_report`, with a reproduction column) and
    its figure; then a section per reproduction with its header lines, recall table, confusion
    matrices, curves, deviations and provenance.

    Parameters
    ----------
    results_dirs : sequence of str or path-like
        Reproduction directories, in the order the report shows them.
    out_dir : str or path-like
        Where to write report.md, report.html, figures/ and figures.json.

    Returns
    -------
    dict of str to pathlib.Path
        As :func:`write_report`.
    """
    if not results_dirs:
        raise ConfigError("combine needs at least one reproduction directory")
    taken: set[str] = set()
    reproductions = []
    for directory in results_dirs:
        directory = Path(directory)
        if directory.name == RESULTS_FILE and directory.is_file():
            directory = directory.parent
        data = load_results(directory)
        # Two reproductions of one paper (quick and full) must not overwrite each other's figures.
        reproductions.append(_Reproduction(data, directory, prefix=_unique(_slug(data["paper"]), taken) + "-"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    builder = _Builder(out_dir)
    title = "Reproductions: " + ", ".join(rep.data["paper"] for rep in reproductions)
    blocks: list = [_Heading(1, title)]
    quick = [rep.data["paper"] for rep in reproductions if rep.quick]
    if quick:
        blocks.append(_Warning(f"{QUICK_WARNING} (Quick budget: {', '.join(quick)}.)"))
    rows = [row for rep in reproductions for row in rep.rows()]
    blocks += [_Heading(2, "All systems"), _table(rows, with_reproduction=True), _ci_note(rows),
               builder.accuracy("accuracy", rows, with_reproduction=True)]
    for rep in reproductions:
        blocks += [_Heading(2, rep.label()), *_header(rep), *builder.reproduction(rep, level=3, with_table=False)]
    return _write(out_dir, title, blocks, reproductions, builder)
