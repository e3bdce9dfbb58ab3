"""``genrekit predict`` and ``genrekit export``: classify files, and export models.

    genrekit predict song.mp3 ~/Music "live/*.flac"            # a table on stdout
    genrekit predict ~/Music --format json > genres.json      # [{"path", "genre", "probabilities"} ...]
    genrekit predict long_mix.wav --timeline --segment-seconds 30
    genrekit predict song.mp3 --tags --top-tags 8             # and musicnn's MSD tags (rock, 80s, ...)
    genrekit predict ~/Music --min-confidence 0.5             # "unknown" when the best genre is under 50 %
    genrekit predict song.mp3 --aggregation vote              # each clip votes, whatever the model's own rule
    genrekit predict ~/Music --ray auto --format csv          # on Ray (this machine, or a cluster's HOST:PORT)
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

from genrekit.aggregation import RULES
from genrekit.apps.options import finite
from genrekit.files import printable

__all__ = ["predict", "export", "render", "load_classifier", "OutputFormat", "MIN_CONFIDENCE", "TAGS", "TOP_TAGS", "RAY",
           "RAY_ACTORS"]


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class Backend(str, Enum):
    torch = "torch"
    onnx = "onnx"


#: The clip-to-track rules (:data:`genrekit.aggregation.RULES`) as choices.
Rule = Enum("Rule", {rule: rule for rule in RULES}, type=str)


_MODEL = typer.Option(None, "--model", "-m", help="A run directory, a model file (.pt) or an ONNX file "
                                                  "or a bundled model's name (default: genrekit-musicnn-v3; genrekit-coarse-mel-v2).")


#: ``--min-confidence``, shared by predict, tag and serve.
MIN_CONFIDENCE = typer.Option(None, "--min-confidence", callback=finite(at_least=0.0, at_most=1.0),
                              help="Answer 'unknown' as the genre when the most probable genre's probability "
                                   "is below P (0 to 1); the probabilities are still reported.")
#: ``--tags``, shared by predict and tag.
TAGS = typer.Option(False, "--tags", help="Also give musicnn's Million Song Dataset tags (rock, 80s, "
                    "female vocalists, ...): the mean over the file's 3 s patches. Reads each file again.")
TOP_TAGS = typer.Option(5, "--top-tags", min=1, max=50, help="Tags shown per file in a table with --tags "
                        "(JSON and CSV give all 50).")
#: ``--ray`` and ``--ray-actors``, shared by predict and tag (:mod:`genrekit.scale`).
RAY = typer.Option(None, "--ray", metavar="auto|local|HOST:PORT",
                   help="Classify on a Ray cluster: auto (RAY_ADDRESS, else a cluster started on this machine with "
                        "`ray start --head`, else a local Ray instance), local, or the head's HOST:PORT. Needs "
                        "pip install 'genrekit[ray]'; see docs/scale.md.")
RAY_ACTORS = typer.Option(None, "--ray-actors", min=1, help="With --ray: actors, each loading the model once (on "
                          "CPUs each decodes and scores with one CPU; default one per CPU of the cluster; with "
                          "GPUs, scoring actors, default one per GPU).")


def load_classifier(model: str | None, ray: str | None, ray_actors: int | None, workers: int | None = None,
                    **options):
    """The classifier a command asked for: :func:`genrekit.inference.load_model`'s, or with ``--ray`` a
    :class:`genrekit.scale.RayClassifier` (the same ``predict``, run on the cluster)."""
    from genrekit.inference import load_model

    if ray is None:
        if ray_actors is not None:
            raise typer.BadParameter("--ray-actors is for --ray; add --ray auto (or the cluster's HOST:PORT)",
                                     param_hint="--ray-actors")
        return load_model(model, workers=workers, **options)
    from genrekit.scale import RayClassifier

    return RayClassifier(model, address=ray, actors=ray_actors, **options)


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
    aggregation: Optional[Rule] = typer.Option(None, "--aggregation", help="How a file's clip probabilities "
                                               "become its genre and probabilities (default: the rule the model "
                                               "was evaluated with, stored in its run, model file or ONNX file)."),
    tags: bool = TAGS,
    top_tags: int = TOP_TAGS,
    min_confidence: Optional[float] = MIN_CONFIDENCE,
    ray: Optional[str] = RAY,
    ray_actors: Optional[int] = RAY_ACTORS,
) -> None:
    """Classify audio files by genre with the bundled model (or --model).

    Files that cannot be classified are reported with the reason and skipped; the exit
    status is 1 only when no file could be classified (or none matched).
    """
    from genrekit.paths import expand_paths

    files = expand_paths(paths)
    if not files:
        typer.echo(f"error: no audio files in {', '.join(paths)}; give files, folders holding audio files "
                   "(.wav .flac .ogg .mp3 .au .aiff) or glob patterns", err=True)
        raise typer.Exit(1)
    classifier = load_classifier(model, ray, ray_actors, workers, backend=backend.value,
                                 rule=aggregation.value if aggregation is not None else None)
    predictions = classifier.predict(files, timeline=timeline, segment_seconds=segment_seconds,
                                     progress=sys.stderr.isatty())
    if tags:
        from genrekit.tags import Tagger

        tagger = Tagger()
        for prediction in predictions:
            tagger.add_tags(prediction)
    for prediction in predictions:
        prediction.apply_min_confidence(min_confidence)
    sys.stdout.write(render(predictions, output.value, top, timeline, top_tags))
    failed = [p for p in predictions if not p.ok]
    for prediction in failed:
        typer.echo(printable(f"skipped {prediction.path}: {prediction.error}"), err=True)
    if failed:
        typer.echo(f"classified {len(predictions) - len(failed)} of {len(predictions)} files; "
                   f"{len(failed)} could not be read (listed above)", err=True)
    if len(failed) == len(predictions):
        raise typer.Exit(1)


def render(predictions, output: str = "table", top: int | None = None, timeline: bool = False,
           top_tags: int = 5) -> str:
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
    top_tags : int
        Tags shown per file in a table, when the predictions carry tags (a ``tags`` column); JSON
        has them all as ``tags``, CSV one ``tag:NAME`` column per tag.
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
    return _table(predictions, top or 3, timeline, top_tags)


def _table(predictions, top: int, timeline: bool, top_tags: int = 5) -> str:
    from genrekit.tags import top_tags as best_tags

    ok = [p for p in predictions if p.ok]
    names = {id(p): printable(str(p.path)) for p in ok}  # one line per file, whatever its name holds
    width = max([len(name) for name in names.values()] + [4])
    tagged = any(p.tags is not None for p in ok)
    bests = {id(p): "  ".join(f"{genre} {q:.0%}" for genre, q in p.top(top)) for p in ok}
    best_width = max([len(b) for b in bests.values()] + [5]) if tagged else 0
    lines = [f"{'file':{width}s}  {'genre':10s}  {f'top {top}':{best_width}s}" + ("  tags" if tagged else "")]
    for prediction in ok:
        line = f"{names[id(prediction)]:{width}s}  {prediction.genre:10s}  {bests[id(prediction)]:{best_width}s}"
        if tagged:
            line += "  " + ", ".join(f"{tag} {q:.0%}" for tag, q in best_tags(prediction.tags or {}, top_tags))
        lines.append(line.rstrip())
        for segment in (prediction.timeline or []) if timeline else []:
            lines.append(f"{'':{width}s}    {_clock(segment.start)}-{_clock(segment.end)}  {segment.genre:10s} "
                         f"{segment.probabilities[segment.genre]:.0%}")
    return "\n".join(lines) + "\n"


def _csv(predictions, timeline: bool) -> str:
    genres = next((list(p.probabilities) for p in predictions if p.ok), [])
    tags = next((list(p.tags) for p in predictions if p.ok and p.tags is not None), [])
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["path", "genre", *genres, "seconds", *(["timeline"] if timeline else []),
                     *(f"tag:{t}" for t in tags), "error"])
    for p in predictions:
        row = [p.path, p.genre or "", *(f"{p.probabilities[g]:.6f}" if p.ok else "" for g in genres),
               f"{p.seconds:.3f}" if p.ok else ""]
        if timeline:
            row.append(" ".join(f"{s.start:.1f}-{s.end:.1f}:{s.genre}" for s in p.timeline or []))
        row.extend(f"{p.tags[t]:.6f}" if p.ok and p.tags else "" for t in tags)
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
