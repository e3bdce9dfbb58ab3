"""A catalogue in Parquet parts: written by many workers at once, merged into the SQLite catalogue after.

One SQLite file has one writer, the driver, which commits about 5,000 files/s (docs/scale.md). Past
that, ``genrekit tag LIBRARY --ray ADDRESS --out results.parquet`` has the workers write the rows
themselves: a folder of Parquet files (*parts*), each the rows of one block of files, with the
catalogue's columns (:data:`genrekit.tagger.COLUMNS`; probabilities and tags as JSON text, as in
SQLite). ``genrekit tag --merge results.parquet --db catalogue.sqlite`` loads them into a catalogue
(:meth:`genrekit.tagger.Catalogue.merge`).

The guarantees of the single-machine tagger, kept with parts:

- **Atomic parts.** A part is written to a hidden temporary file and renamed into place: a part that
  is there is whole; a worker killed while writing leaves only a ``.tmp-*`` file, removed by the next
  run.
- **No duplicates.** A part's name is a hash of its files' paths, so a block that Ray runs again (its
  worker was lost after writing) replaces its own part instead of adding one; a path found twice
  anyway counts once, with its latest ``tagged_at`` (:func:`read_rows`, and the merge).
- **Resume.** :func:`tag_to_parts` skips the files the folder already holds with the same size,
  modification time and model (failed ones too, unless ``retry_failed``): a run killed at any moment
  and started again classifies only the rest.

Parquet needs ``pyarrow``, which the Ray extra installs (``pip install 'genrekit[ray]'``).

    >>> from genrekit.catalogue_parts import merge                     # doctest: +SKIP
    >>> merge("results.parquet", "catalogue.sqlite").merged            # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from genrekit.errors import ConfigError, GenrekitError
from genrekit.tagger import COLUMNS, Catalogue, FileIdentity, TagSummary, updating

__all__ = ["require_pyarrow", "write_part", "part_files", "iter_rows", "read_rows", "tag_to_parts", "merge", "MergeSummary"]

#: Parquet types of the catalogue's columns (:data:`genrekit.tagger.COLUMNS`).
TYPES = {"path": "string", "size": "int64", "mtime_ns": "int64", "content_hash": "string", "status": "string",
         "genre": "string", "probabilities": "string", "model_id": "string", "seconds": "float64",
         "error": "string", "tagged_at": "string", "attempts": "int64", "written_genre": "string",
         "write_note": "string", "tags": "string"}


def require_pyarrow():
    """The ``pyarrow`` module, or a :class:`~genrekit.errors.ConfigError` saying what to install."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ConfigError("Parquet parts need pyarrow, which is not installed here: pip install 'genrekit[ray]'") \
            from None
    return pyarrow


def _schema():
    pa = require_pyarrow()
    return pa.schema([(column, getattr(pa, TYPES[column])()) for column in COLUMNS])


def write_part(rows: list[dict], out: str | os.PathLike) -> Path | None:
    """Write catalogue rows as one part of the folder ``out`` (created), atomically; ``None`` for no rows.

    The part is named by a hash of its rows' paths: the same block of files written again replaces it.
    """
    if not rows:
        return None
    import pyarrow.parquet as pq

    pa = require_pyarrow()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1("\0".join(sorted(row["path"] for row in rows)).encode("utf-8", "surrogateescape"))
    part = out / f"part-{name.hexdigest()[:24]}.parquet"
    temporary = out / f".tmp-{part.stem}-{os.getpid()}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=_schema()), temporary)
    os.replace(temporary, part)
    return part


def part_files(out: str | os.PathLike) -> list[Path]:
    """The parts of a folder, by name; a missing folder has none."""
    out = Path(out)
    return sorted(out.glob("part-*.parquet")) if out.is_dir() else []


def iter_rows(out: str | os.PathLike, columns: list[str] | None = None) -> Iterator[dict]:
    """The rows of every part, part by part (a path written twice comes twice; see :func:`read_rows`).

    Raises
    ------
    GenrekitError
        A part that is not Parquet (named, with what to do).
    """
    import pyarrow.parquet as pq

    require_pyarrow()
    wanted = None if columns is None else sorted(set(columns) | {"path", "tagged_at"})
    for part in part_files(out):
        try:
            rows = pq.read_table(part, columns=wanted).to_pylist()
        except Exception as exc:  # pyarrow's errors for a file that is not a Parquet table of these columns
            raise GenrekitError(f"{part}: not a readable part ({str(exc).splitlines()[0]}); delete it and run "
                                "`genrekit tag --out` again to classify its files again") from None
        yield from rows


def read_rows(out: str | os.PathLike, columns: list[str] | None = None) -> dict[str, dict]:
    """One row per path (the latest ``tagged_at``), by path: ``columns`` (all by default) and ``tagged_at``."""
    latest: dict[str, dict] = {}
    for row in iter_rows(out, columns):
        known = latest.get(row["path"])
        if known is None or row["tagged_at"] > known["tagged_at"]:
            latest[row["path"]] = row
    return latest


def tag_to_parts(root: str | os.PathLike, out: str | os.PathLike, classifier, retry_failed: bool = False,
                 progress: bool = False, min_confidence: float | None = None) -> TagSummary:
    """Classify the audio files below ``root`` on a Ray cluster into the parts of ``out``; resumable.

    Parameters
    ----------
    root : str or path-like
        The library (searched as :func:`genrekit.tagger.tag_library` does).
    out : str or path-like
        The parts' folder (``results.parquet``), on storage every node can write.
    classifier : genrekit.scale.RayClassifier
        Anything with ``model_id`` and ``write_parts(paths, out, progress=, min_confidence=)`` yielding
        ``(path, ok, error)`` per file, ``ok`` None for a file written into no part.
    retry_failed, progress, min_confidence
        As :func:`~genrekit.tagger.tag_library`.

    Returns
    -------
    TagSummary
        ``db`` is ``out``; ``removed`` is 0 (parts are never rewritten: a file gone from the library
        keeps its row until the merged catalogue's next ``genrekit tag``).
    """
    from genrekit.paths import audio_files

    root = Path(root).expanduser()
    if not root.is_dir():
        raise GenrekitError(f"{root}: no such folder; give the folder that holds your music")
    out = Path(out).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise GenrekitError(f"{out}: not a folder; --out names a folder of Parquet parts, e.g. results.parquet")
    for leftover in out.glob(".tmp-*") if out.is_dir() else []:  # a killed worker's unfinished part
        leftover.unlink(missing_ok=True)
    files = [os.path.abspath(p) for p in audio_files(root)]
    summary = TagSummary(str(root), str(out), classifier.model_id, files=len(files))
    done = read_rows(out, ["size", "mtime_ns", "model_id", "status"])
    todo = []
    for path in files:
        row = done.get(path)
        if row is None:
            summary.new += 1
        elif not _same_file(path, row):
            summary.changed += 1
        elif row["model_id"] != classifier.model_id:
            summary.new_model += 1
        elif row["status"] != "ok" and retry_failed:
            summary.retried += 1
        else:
            summary.skipped += 1
            continue
        todo.append(path)
    below = os.path.join(str(root.absolute()), "")
    status = {path: row["status"] for path, row in done.items() if path.startswith(below)}  # the parts' now
    if todo:
        for path, ok, error in classifier.write_parts(todo, out, progress=progress, min_confidence=min_confidence):
            if ok:
                summary.classified += 1
            else:
                summary.failed.append((path, error))
            if ok is not None:  # written into a part (None: the job did not return it)
                status[path] = "ok" if ok else "failed"
    summary.ok_total = sum(value == "ok" for value in status.values())
    summary.failed_total = len(status) - summary.ok_total
    return summary


def _same_file(path: str, row: dict) -> bool:
    """Size and modification time as recorded (of the link itself for a broken link, as the tagger records)."""
    now = FileIdentity.unreadable(path)  # status only, no content hash
    return (now.size, now.mtime_ns) == (row["size"], row["mtime_ns"])


@dataclass
class MergeSummary:
    """What :func:`merge` did: ``parts`` read, ``rows`` in them, ``merged`` rows that were new to the
    catalogue or newer than its row, ``tracks`` in the catalogue after."""

    out: str
    db: str
    parts: int
    rows: int
    merged: int
    tracks: int

    def summary(self) -> str:
        return (f"merged {self.out} into {self.db}: {self.parts} parts, {self.rows} rows, {self.merged} new or "
                f"newer than the catalogue's; the catalogue holds {self.tracks} tracks")


def merge(out: str | os.PathLike, db: str | os.PathLike) -> MergeSummary:
    """Load the parts of ``out`` into the catalogue ``db`` (created if missing), under its update lock.

    Merging is idempotent: a row replaces the catalogue's row of its path only when it is newer
    (:meth:`~genrekit.tagger.Catalogue.merge`).

    Raises
    ------
    GenrekitError
        ``out`` holds no parts, a part is unreadable, ``db`` is not a catalogue or is being updated.
    """
    require_pyarrow()
    out = Path(out).expanduser()
    parts = part_files(out)
    if not parts:
        raise GenrekitError(f"{out}: no Parquet parts here (part-*.parquet); write them with "
                            "`genrekit tag LIBRARY_DIR --ray ADDRESS --out` first")
    with updating(db), Catalogue(db) as catalogue:
        rows = 0

        def counted() -> Iterator[dict]:
            nonlocal rows
            for row in iter_rows(out):
                rows += 1
                yield row

        merged = catalogue.merge(counted())  # streamed part by part: a row per path is never held at once
        return MergeSummary(str(out), str(db), len(parts), rows, merged, len(catalogue))
