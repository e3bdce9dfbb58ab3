"""``genrekit tag``: a SQLite catalogue of a music library's genres, and on request the files' own tags.

    genrekit tag ~/Music --db music.sqlite                # classify; run again later: only what changed
    genrekit tag ~/Music --db music.sqlite --write-tags   # also write the genre into the files' tags
    genrekit tag --report --db music.sqlite               # genre counts, models, failures with reasons
    genrekit tag ~/Music --db music.sqlite --tags         # also store musicnn's MSD tags (column tags)
    genrekit tag ~/Music --db music.sqlite --min-confidence 0.5   # genre 'unknown' under 50 %
    genrekit tag ~/Music --db music.sqlite --ray auto      # classify on Ray; this process writes the catalogue
    genrekit tag /nfs/music --ray HEAD:6379 --out /nfs/results.parquet   # the workers write Parquet parts
    genrekit tag --merge /nfs/results.parquet --db music.sqlite          # ... loaded into a catalogue

A thin call into :func:`genrekit.tagger.tag_library`, :func:`genrekit.tagger.report` and, for Parquet
parts, :func:`genrekit.catalogue_parts.tag_to_parts` and :func:`genrekit.catalogue_parts.merge`.
Exits 1 when the library has audio files but none of them could be classified, else 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from genrekit.apps.predict_cmd import MIN_CONFIDENCE, RAY, RAY_ACTORS, load_classifier

__all__ = ["tag"]


def tag(
    library: Optional[Path] = typer.Argument(None, metavar="LIBRARY_DIR",
                                             help="The music folder, searched recursively for audio files."),
    db: Optional[Path] = typer.Option(None, "--db", help="The catalogue's SQLite file (created if missing)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="A run directory, model file (.pt) or ONNX "
                                        "file (default: the bundled model)."),
    write_tags: bool = typer.Option(False, "--write-tags", help="Also write the genre into the files' own tags "
                                    "(GENRE / ID3 TCON), through a checked copy and an atomic rename."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Classify again files that failed before."),
    show_report: bool = typer.Option(False, "--report", help="Summarise the catalogue: genre counts, models, "
                                     "failures (after tagging, when LIBRARY_DIR is given)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", min=1, help="Decoding processes "
                                          "(default: one per CPU)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    tags: bool = typer.Option(False, "--tags", help="Also store musicnn's Million Song Dataset tags of each "
                              "file in the catalogue (column tags, JSON); files tagged without them are "
                              "classified again."),
    min_confidence: Optional[float] = MIN_CONFIDENCE,
    ray: Optional[str] = RAY,
    ray_actors: Optional[int] = RAY_ACTORS,
    parts: Optional[Path] = typer.Option(None, "--out", help="With --ray: the workers write the rows as Parquet "
                                         "parts into this folder (e.g. results.parquet) instead of this process "
                                         "into --db; resumable; load them with --merge. See docs/scale.md."),
    merge: Optional[Path] = typer.Option(None, "--merge", help="Load the Parquet parts of a folder written with "
                                         "--out into the catalogue --db."),
) -> None:
    """Tag a music library into a SQLite catalogue; resumes, and re-tags only what changed."""
    from genrekit import tagger

    _check_options(library, db, show_report, parts, merge, ray, write_tags, tags)
    out: dict = {}
    summary = None
    if merge is not None:
        from genrekit.catalogue_parts import merge as merge_parts

        merged = merge_parts(merge, db)
        out["merge"] = vars(merged)
        if not as_json:
            typer.echo(merged.summary())
    if library is not None and parts is not None:
        from genrekit.catalogue_parts import tag_to_parts

        classifier = load_classifier(model, ray, ray_actors, workers)
        summary = tag_to_parts(library, parts, classifier, retry_failed=retry_failed, progress=True,
                               min_confidence=min_confidence)
        out["tag"] = summary.to_dict()
        if not as_json:
            typer.echo(summary.summary())
    elif library is not None:
        classifier = load_classifier(model, ray, ray_actors, workers)
        musicnn_tagger = None
        if tags:
            from genrekit.tags import Tagger

            musicnn_tagger = Tagger()
        summary = tagger.tag_library(library, db, classifier, write_tags=write_tags, progress=True,
                                     retry_failed=retry_failed, tagger=musicnn_tagger,
                                     min_confidence=min_confidence)
        out["tag"] = summary.to_dict()
        if not as_json:
            typer.echo(summary.summary())
    if show_report:
        catalogue = tagger.report(db)
        out["report"] = catalogue.to_dict()
        if not as_json:
            typer.echo(catalogue.summary())
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    if summary is not None and summary.nothing_classified:
        raise typer.Exit(1)


def _check_options(library, db, show_report: bool, parts, merge, ray, write_tags: bool, tags: bool) -> None:
    """Refuse a combination of options that does not make one job, naming what to give instead."""
    if parts is not None:
        if library is None:
            raise typer.BadParameter("--out needs LIBRARY_DIR (the library whose rows the workers write)",
                                     param_hint="--out")
        if ray is None:
            raise typer.BadParameter("--out is for --ray (the workers write the parts); add --ray auto or the "
                                     "cluster's HOST:PORT, or tag into --db without --out", param_hint="--out")
        if db is not None or merge is not None or show_report:
            raise typer.BadParameter("--out writes Parquet parts instead of a catalogue; drop --db, --merge and "
                                     "--report, and afterwards load the parts with "
                                     "`genrekit tag --merge PARTS --db FILE`", param_hint="--out")
        if write_tags or tags:
            raise typer.BadParameter("--write-tags and --tags need the catalogue written here; tag into --db "
                                     "without --out for them", param_hint="--out")
    elif library is None and not show_report and merge is None:
        raise typer.BadParameter("give LIBRARY_DIR to tag a library, --merge PARTS to load Parquet parts, or "
                                 "--report to summarise the catalogue", param_hint="LIBRARY_DIR")
    elif db is None:
        raise typer.BadParameter("give the catalogue's file with --db FILE (or --out PARTS with --ray)",
                                 param_hint="--db")
