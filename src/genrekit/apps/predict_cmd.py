"""``genrekit predict`` and ``genrekit export``: classify files, and export models.

    genrekit predict song.mp3 ~/Music "live/*.flac"            # a table on stdout
    genrekit predict ~/Music --format json > genres.json      # [{"path", "genre", "probabilities"} ...]
    genrekit predict long_mix.wav --timeline --segment-seconds 30
    genrekit export runs/net --onnx net.onnx                  # and/or --out net.pt

Both are thin calls into :mod:`genrekit.inference` and :mod:`genrekit.export`. ``predict``
loads the model once, reports files it cannot classify (by name, with the reason) and goes
on; it exits 1 only when no file could be classified.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from genrekit.apps.options import finite
from genrekit.files import printable

__all__ = ["predict", "export", "render", "OutputFormat"]


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class Backend(str, Enum):
    torch = "torch"
    onnx = "onnx"


_MODEL = typer.Option(None, "--model", "-m", help="A run directory, a model file (.pt) or an ONNX file "
                                                  "(default: the bundled coarse-mel model).")


def predict(
    paths: list[str] = typer.Argument(..., help="Audio files, folders (searched recursively) or glob patterns "
                                                "(quote them: \"music/**/*.mp3\")."),
    model: Optional[str] = _MODEL,
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, json (a list with "
                                        "path, genre, probabilities per file, or path and error) or csv."),
    top: Optional[int] = typer.Option(None, "--top", "-k", min=1, help="Show the K most probable genres "
                                      "(table: default 3; json: adds a 'top' list)."),
    timeline: bool = typer.Option(False, "--timeline", help="Also give the genre of every segment of each file."),
    segment_seconds: float = typer.Option(10.0, "--segment-seconds", callback=finite(at_least=0.5),
                                          help="Segment length of --timeline, in seconds (at least 0.5)."),
    backend: Backend = typer.Option(Backend.torch, "--backend", help="Run the network with torch or onnx "
                                    "(ONNX Runtime)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", min=1, help="Decoding processes "
                                          "(default: one per CPU; 1 decodes in this process)."),
) -> None:
    """Classify audio files by genre with the bundled model (or --model).

    Files that cannot be classified are reported with the reason and skipped; the exit
    status is 1 only when no file could be classified (or none matched).
    """
    from genrekit.inference import expand_paths, load_model

    files = expand_paths(paths)
    if not files:
        typer.echo(f"error: no audio files in {', '.join(paths)}; give files, folders holding audio files "
                   "(.wav .flac .ogg .mp3 .au .aiff) or glob patterns", err=True)
        raise typer.Exit(1)
    classifier = load_model(model, backend=backend.value, workers=workers)
    predictions = classifier.predict(files, timeline=timeline, segment_seconds=segment_seconds,
                                     progress=sys.stderr.isatty())
    sys.stdout.write(render(predictions, output.value, top, timeline))
    failed = [p for p in predictions if not p.ok]
    for prediction in failed:
        typer.echo(printable(f"skipped {prediction.path}: {prediction.error}"), err=True)
    if failed:
        typer.echo(f"classified {len(predictions) - len(failed)} of {len(predictions)} files; "
                   f"{len(failed)} could not be read (listed above)", err=True)
    if len(failed) == len(predictions):
        raise typer.Exit(1)


def render(predictions, output: str = "table", top: int | None = None, timeline: bool = False) -> str:
    """Predictions as the text ``genrekit predict`` prints.

    Parameters
    ----------
    predictions : list of Prediction
    output : {"table", "json", "csv"}
    top : int, optional
        Genres shown per file in a table (default 3); in JSON, adds ``top``: ``[[genre, p], ...]``.
        A table shows control characters in file names escaped (``\\n``), one line per file;
        JSON and CSV keep the names as they are (both quote them).
    timeline : bool
        Include each file's timeline (table: one line per segment; csv: a ``timeline`` column
        of ``START-END:GENRE`` items).
    """
    if output == "json":
        items = []
        for prediction in predictions:
            item = prediction.to_dict()
            if top and prediction.ok:
                item["top"] = [[genre, round(p, 6)] for genre, p in prediction.top(top)]
            items.append(item)
        return json.dumps(items, indent=2) + "\n"
    if output == "csv":
        return _csv(predictions, timeline)
    return _table(predictions, top or 3, timeline)


def _table(predictions, top: int, timeline: bool) -> str:
    ok = [p for p in predictions if p.ok]
    names = {id(p): printable(str(p.path)) for p in ok}  # one line per file, whatever its name holds
    width = max([len(name) for name in names.values()] + [4])
    lines = [f"{'file':{width}s}  {'genre':10s}  top {top}"]
    for prediction in ok:
        best = "  ".join(f"{genre} {p:.0%}" for genre, p in prediction.top(top))
        lines.append(f"{names[id(prediction)]:{width}s}  {prediction.genre:10s}  {best}")
        for segment in (prediction.timeline or []) if timeline else []:
            lines.append(f"{'':{width}s}    {_clock(segment.start)}-{_clock(segment.end)}  {segment.genre:10s} "
                         f"{segment.probabilities[segment.genre]:.0%}")
    return "\n".join(lines) + "\n"


def _csv(predictions, timeline: bool) -> str:
    genres = next((list(p.probabilities) for p in predictions if p.ok), [])
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["path", "genre", *genres, "seconds", *(["timeline"] if timeline else []), "error"])
    for p in predictions:
        row = [p.path, p.genre or "", *(f"{p.probabilities[g]:.6f}" if p.ok else "" for g in genres),
               f"{p.seconds:.3f}" if p.ok else ""]
        if timeline:
            row.append(" ".join(f"{s.start:.1f}-{s.end:.1f}:{s.genre}" for s in p.timeline or []))
        writer.writerow(row + [p.error or ""])
    return stream.getvalue()


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def export(
    source: Optional[str] = typer.Argument(None, help="A run directory or model file (.pt) of a network "
                                                      "(default: the bundled model)."),
    onnx: Optional[Path] = typer.Option(None, "--onnx", help="Write an ONNX file (genres, feature spec and "
                                        "card in its metadata)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write a genrekit model file (.pt) "
                                       "that `genrekit predict --model` loads."),
) -> None:
    """Export a trained network: an ONNX file (--onnx) and/or a genrekit model file (--out)."""
    from genrekit.export import export_onnx
    from genrekit.inference import load_model

    if onnx is None and out is None:
        raise typer.BadParameter("say what to write: --onnx OUT.onnx and/or --out OUT.pt", param_hint="--onnx")
    classifier = load_model(source)
    classifier.require_torch("exported")
    for path, write in ((out, classifier.save), (onnx, lambda p: export_onnx(classifier, p))):
        if path is not None:
            write(path)
            typer.echo(f"wrote {path}")
