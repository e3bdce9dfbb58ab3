"""Tag a music library: a SQLite catalogue of every track's genre, resumable and incremental.

:func:`tag_library` walks a folder, classifies each audio file with a
:class:`~genrekit.inference.Classifier` and stores per track its genre, probabilities, the
model that produced them and the file's identity in a :class:`Catalogue` (one SQLite file).
Each finished file is committed in its own transaction as soon as it is classified, so a
killed run loses at most the files in flight, and running the same command again:

- skips a file whose identity is unchanged and that was classified by the same model;
- classifies again a file that changed, and every file when the model changed;
- classifies files it has not seen, and forgets files that are gone from the folder;
- leaves files that failed alone (their reasons are kept) unless asked to retry them.

A file's identity is its size, its modification time (ns) and a hash of its content. The
hash is SHA-1 over the size, the first MiB and the last MiB of the file, not over the whole
file: it is only read when the size or time differ from the catalogue's, to tell a file that
was merely touched or copied (same content: nothing to do) from one that was re-encoded or
replaced (classify again). Any re-encoding changes the first and last MiB (headers, the
first and last frames); reading 2 MiB instead of a whole 30-100 MB FLAC keeps a scan of a
million-track library on a network drive cheap. Files of up to 2 MiB are hashed whole.

With ``write_tags=True`` the genre is also written into the files' own tags through a checked
temporary copy and an atomic rename (:mod:`genrekit.filetags`); the new identity is stored,
so the next run does not mistake the tagged file for a changed one. Files whose format has
no writable tags (``.au``) get a note in the catalogue instead.

Examples
--------
>>> summary = tag_library("~/Music", "catalogue.sqlite")    # doctest: +SKIP
>>> print(summary.summary())                                # doctest: +SKIP
>>> print(report("catalogue.sqlite").summary())             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import sqlite3
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from genrekit.audio import check_file, open_regular
from genrekit.errors import AudioError, GenrekitError, disk_full_as_error, reason
from genrekit.files import printable

__all__ = ["Catalogue", "FileIdentity", "TrackRecord", "TagSummary", "CatalogueReport", "tag_library", "report",
           "updating", "look_at", "catalogue_row", "COLUMNS", "SCHEMA_VERSION", "IDENTITY"]

#: Version of the catalogue's tables, stored in its ``meta`` table; bump it with a migration
#: (:data:`_MIGRATIONS`). 2: the ``tags`` column.
SCHEMA_VERSION = 2
#: How a file's identity is computed (stored in the catalogue's ``meta`` table).
IDENTITY = "size + mtime_ns + sha1(size, first MiB, last MiB)"
#: Bytes hashed at each end of a file.
HASH_BYTES = 1 << 20
#: What a person keeps when the catalogue's disk fills up (each file is its own transaction).
_KEPT = "every file classified so far is kept in the catalogue, and the next run goes on from there"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tracks (
    id            INTEGER PRIMARY KEY,
    path          TEXT NOT NULL UNIQUE,   -- absolute path
    size          INTEGER NOT NULL,       -- bytes
    mtime_ns      INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,          -- see IDENTITY; '' when the file could not be read
    status        TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    genre         TEXT,                   -- NULL when failed
    probabilities TEXT,                   -- JSON object genre -> probability; NULL when failed
    model_id      TEXT NOT NULL,
    seconds       REAL,                   -- audio seconds classified
    error         TEXT,                   -- why it failed, and what to do
    tagged_at     TEXT NOT NULL,          -- UTC, ISO 8601, when it was last classified
    attempts      INTEGER NOT NULL,       -- how many times it has been classified
    written_genre TEXT,                   -- the genre written into the file's own tags, if any
    write_note    TEXT,                   -- why the genre could not be written into the file
    tags          TEXT                    -- JSON object musicnn tag -> probability (tag --tags); else NULL
);
CREATE INDEX IF NOT EXISTS tracks_status ON tracks (status);
"""
#: What brings a catalogue of schema version ``v - 1`` to ``v``: ``{v: SQL}``.
_MIGRATIONS = {2: "ALTER TABLE tracks ADD COLUMN tags TEXT"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


# File identity --------------------------------------------------------------------------------
def content_hash(path: str | os.PathLike, size: int) -> str:
    """SHA-1 over ``size``, the first and the last :data:`HASH_BYTES` of a file (all of a small file).

    Only a regular file is opened (:func:`genrekit.audio.open_regular`): a named pipe or a device
    raises :class:`~genrekit.errors.AudioError` instead of blocking or being read forever.
    """
    digest = hashlib.sha1(str(size).encode())
    fd, _ = open_regular(path)
    with os.fdopen(fd, "rb") as stream:
        digest.update(stream.read(HASH_BYTES))
        if size > HASH_BYTES:
            stream.seek(max(HASH_BYTES, size - HASH_BYTES))
            digest.update(stream.read(HASH_BYTES))
    return digest.hexdigest()


def _with_problems(lines: list[str], failed, tag_notes) -> str:
    """A summary's lines, then one line per failed file and per tag not written; control characters in
    file names escaped, so a newline in a name stays in its line."""
    lines = lines + [f"  failed: {path}: {reason}" for path, reason in failed]
    lines += [f"  tag not written: {path}: {reason}" for path, reason in tag_notes]
    return "\n".join(printable(line) for line in lines)


def _problems_as_dicts(data: dict, failed_key: str, failed, tag_notes) -> dict:
    """``data`` with its (path, reason) pairs as JSON objects."""
    data[failed_key] = [{"path": p, "error": r} for p, r in failed]
    data["tag_notes"] = [{"path": p, "note": r} for p, r in tag_notes]
    return data


@dataclass(frozen=True)
class FileIdentity:
    """What tells one version of a file from another: size, modification time and content hash."""

    size: int
    mtime_ns: int
    content_hash: str

    @classmethod
    def of(cls, path: str | os.PathLike, stat: os.stat_result | None = None) -> "FileIdentity":
        """The identity of a file now (``stat`` if already taken).

        Raises :class:`~genrekit.errors.AudioError` for anything but a non-empty regular file
        (checked without opening it), ``OSError`` if it cannot be read.
        """
        stat = stat or check_file(path)
        return cls(stat.st_size, stat.st_mtime_ns, content_hash(path, stat.st_size))

    @classmethod
    def unreadable(cls, path: str | os.PathLike) -> "FileIdentity":
        """The identity of a file that cannot be read: its status (of the link itself when it is a
        broken symbolic link) and no content hash, so that an unchanged failure is not tried again."""
        for status in (os.stat, os.lstat):
            try:
                found = status(path)
            except OSError:
                continue
            return cls(found.st_size, found.st_mtime_ns, "")
        return cls(0, 0, "")

    def differs(self, other: "FileIdentity") -> bool:
        """True when the content may differ: other hashes, or for unreadable files another status."""
        if self.content_hash and other.content_hash:
            return self.content_hash != other.content_hash
        return self != other

    def same_stat(self, stat: os.stat_result) -> bool:
        return (self.size, self.mtime_ns) == (stat.st_size, stat.st_mtime_ns)


# The catalogue --------------------------------------------------------------------------------
@dataclass
class TrackRecord:
    """One row of the catalogue (see the column comments of the schema)."""

    path: str
    identity: FileIdentity
    status: str
    genre: str | None
    probabilities: dict[str, float]
    model_id: str
    seconds: float | None
    error: str | None
    tagged_at: str
    attempts: int
    written_genre: str | None
    write_note: str | None
    tags: dict[str, float] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "TrackRecord":
        return cls(row["path"], FileIdentity(row["size"], row["mtime_ns"], row["content_hash"]), row["status"],
                   row["genre"], json.loads(row["probabilities"] or "{}"), row["model_id"], row["seconds"],
                   row["error"], row["tagged_at"], row["attempts"], row["written_genre"], row["write_note"],
                   json.loads(row["tags"]) if row["tags"] is not None else None)


def _prefix_clause(under: str | os.PathLike | None) -> tuple[str, tuple]:
    """SQL condition and parameters selecting the paths below a folder (all paths for ``None``)."""
    if under is None:
        return "1", ()
    prefix = os.path.join(os.path.abspath(under), "")
    return "substr(path, 1, ?) = ?", (len(prefix), prefix)


def _catalogue_path(path: str | os.PathLike) -> Path:
    """A catalogue's file name, refused when it names a folder or its folder does not exist (a typo
    in ``--db`` must not create a tree of folders)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise GenrekitError(f"{path}: is a folder; give a file name for the catalogue, e.g. "
                            f"{path / 'catalogue.sqlite'}")
    folder = path.parent
    if not folder.is_dir():
        raise GenrekitError(f"{path}: the folder {folder} does not exist; create it first "
                            f"(mkdir -p {shlex.quote(str(folder))}) or give another --db")
    return path


@contextmanager
def updating(db: str | os.PathLike) -> Iterator[None]:
    """Hold the catalogue's update lock: an exclusive ``flock`` on ``<db>.lock`` that holds the pid.

    Two runs tagging into one catalogue at once would each classify everything; the second one
    is refused at once. The lock goes with the process (a killed run leaves no stale lock);
    the ``.lock`` file stays next to the catalogue.

    Raises
    ------
    GenrekitError
        Another process holds the lock; the message names its pid.
    """
    path = _catalogue_path(db)
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise GenrekitError(f"catalogue {path} is being updated by another genrekit tag (pid {holder}); "
                                "wait for it to finish or use another --db") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


#: The columns of a catalogue row, as :func:`catalogue_row` gives them (``id`` is SQLite's).
COLUMNS = ("path", "size", "mtime_ns", "content_hash", "status", "genre", "probabilities", "model_id", "seconds",
           "error", "tagged_at", "attempts", "written_genre", "write_note", "tags")
def _upsert(attempts: str, only_if: str = "") -> str:
    """SQL that inserts a row (named parameters :data:`COLUMNS`) or replaces the row of its path, its
    ``attempts`` becoming ``attempts`` (an SQL expression), when ``only_if`` (an SQL condition) holds."""
    return f"""INSERT INTO tracks ({", ".join(COLUMNS)}) VALUES ({", ".join(":" + c for c in COLUMNS)})
    ON CONFLICT (path) DO UPDATE SET
        {", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in ("path", "attempts"))},
        attempts = {attempts}{f" WHERE {only_if}" if only_if else ""}"""


#: Insert a row, or replace the row of its path and count one more attempt (a file classified here).
_RECORD = _upsert("tracks.attempts + 1")
#: Insert a row, or replace the row of its path only with a newer one, adding their attempts (rows
#: classified elsewhere: merging twice, or older rows after newer ones, changes nothing).
_MERGE = _upsert("tracks.attempts + excluded.attempts", only_if="excluded.tagged_at > tracks.tagged_at")


def catalogue_row(path: str | os.PathLike, identity: FileIdentity, model_id: str, prediction,
                  written_genre: str | None = None, write_note: str | None = None) -> dict:
    """One catalogue row (:data:`COLUMNS`) for a file's classification, a
    :class:`~genrekit.inference.Prediction`: probabilities and tags as JSON rounded to 6 decimals,
    ``tagged_at`` now, one attempt."""
    ok = prediction.error is None
    probabilities = json.dumps({k: round(v, 6) for k, v in prediction.probabilities.items()}) if ok else None
    tags = getattr(prediction, "tags", None)
    tags = json.dumps({k: round(v, 6) for k, v in tags.items()}) if ok and tags is not None else None
    return {"path": os.path.abspath(path), "size": identity.size, "mtime_ns": identity.mtime_ns,
            "content_hash": identity.content_hash, "status": "ok" if ok else "failed",
            "genre": prediction.genre if ok else None, "probabilities": probabilities, "model_id": model_id,
            "seconds": prediction.seconds if ok else None, "error": prediction.error, "tagged_at": _now(),
            "attempts": 1, "written_genre": written_genre, "write_note": write_note, "tags": tags}


class Catalogue:
    """A SQLite file holding one row per track (see the module docstring).

    The database runs in WAL mode with ``synchronous=NORMAL``: every committed transaction
    survives a killed process, and a reader (``genrekit tag --report``) never blocks the
    tagger.

    Parameters
    ----------
    path : str or path-like
        The SQLite file; created unless ``create`` is False (its folder must exist).
    create : bool
        Create a new catalogue when the file does not exist.

    Raises
    ------
    GenrekitError
        The file is missing (``create=False``), its folder is missing, it is not SQLite, is
        another program's database, or was written by a newer genrekit.
    """

    def __init__(self, path: str | os.PathLike, create: bool = True):
        self.path = _catalogue_path(path)
        if not self.path.exists() and not create:
            raise GenrekitError(f"{self.path}: no such catalogue; create it with "
                                f"`genrekit tag LIBRARY_DIR --db {self.path}`")
        self._db = sqlite3.connect(str(self.path), timeout=60.0)
        self._db.row_factory = sqlite3.Row
        try:
            with disk_full_as_error(self.path, _KEPT):
                self._open()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise GenrekitError(f"{self.path}: not a usable catalogue ({exc}); give another --db file") from None
        except GenrekitError:
            self._db.close()
            raise

    def _open(self) -> None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "meta" not in tables:
            raise GenrekitError(f"{self.path}: an SQLite database of another program, not a genrekit catalogue; "
                                "give another --db file")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        if not tables:
            self._db.executescript(_SCHEMA)
        with self._db:
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                     [("schema_version", str(SCHEMA_VERSION)), ("identity", IDENTITY),
                                      ("created_at", _now())])
                meta = {"schema_version": str(SCHEMA_VERSION)}
        version = int(meta.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise GenrekitError(f"{self.path}: catalogue schema {version} was written by a newer genrekit "
                                f"(this one reads {SCHEMA_VERSION}); upgrade genrekit")
        self._migrate(version)

    def _migrate(self, version: int) -> None:
        """Bring a catalogue of an older schema up to :data:`SCHEMA_VERSION`, one step per transaction."""
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._db:
                self._db.execute(_MIGRATIONS[target])
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(target),))

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self):
        """One transaction; a full disk rolls it back and raises :class:`~genrekit.errors.DiskFullError`."""
        with disk_full_as_error(self.path, _KEPT), self._db:
            yield

    def __enter__(self) -> "Catalogue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM tracks").fetchone()[0]

    # Reading ---------------------------------------------------------------------------------
    def get(self, path: str | os.PathLike) -> TrackRecord | None:
        """The record of a file (by its absolute path), or ``None``."""
        row = self._db.execute("SELECT * FROM tracks WHERE path = ?", (os.path.abspath(path),)).fetchone()
        return TrackRecord.from_row(row) if row else None

    def records(self, under: str | os.PathLike | None = None) -> dict[str, TrackRecord]:
        """Records by path, of the files below a folder (all of them for ``None``)."""
        where, args = _prefix_clause(under)
        return {row["path"]: TrackRecord.from_row(row)
                for row in self._db.execute(f"SELECT * FROM tracks WHERE {where} ORDER BY path", args)}

    def counts(self, under: str | os.PathLike | None = None) -> dict[str, int]:
        """Tracks per status (``ok``, ``failed``) below a folder."""
        where, args = _prefix_clause(under)
        found = dict(self._db.execute(f"SELECT status, count(*) FROM tracks WHERE {where} GROUP BY status", args))
        return {"ok": found.get("ok", 0), "failed": found.get("failed", 0)}

    def tally(self, column: str, status: str | None = None) -> dict[str, int]:
        """Tracks per value of a column (``"genre"``, ``"model_id"``, ...), most common first, NULL left out;
        only those of one ``status`` if given."""
        if column not in ("genre", "model_id", "status", "written_genre"):
            raise ValueError(f"cannot tally the column {column!r}")
        rows = self._db.execute(f"SELECT {column}, count(*) AS n FROM tracks WHERE ? IS NULL OR status = ? "
                                f"GROUP BY {column} ORDER BY n DESC, {column}", (status, status))
        return {row[0]: row[1] for row in rows if row[0] is not None}

    def notes(self, column: str) -> list[tuple[str, str]]:
        """(path, text) of the tracks with an ``"error"`` or a ``"write_note"``, by path."""
        if column not in ("error", "write_note"):
            raise ValueError(f"no notes in the column {column!r}")
        return [tuple(row) for row in
                self._db.execute(f"SELECT path, {column} FROM tracks WHERE {column} IS NOT NULL ORDER BY path")]

    # Writing (one transaction per call) ----------------------------------------------------------
    def record(self, path: str | os.PathLike, identity: FileIdentity, model_id: str, prediction,
               written_genre: str | None = None, write_note: str | None = None) -> None:
        """Store the classification of a file (a :class:`~genrekit.inference.Prediction`), replacing
        any earlier one and counting the attempt."""
        row = catalogue_row(path, identity, model_id, prediction, written_genre, write_note)
        with self._transaction():
            self._db.execute(_RECORD, row)

    def merge(self, rows: Iterable[dict], batch: int = 10_000) -> int:
        """Load rows written elsewhere (:func:`catalogue_row`'s, e.g. the Parquet parts of
        ``genrekit tag --ray --out``), one transaction per ``batch`` rows.

        A row replaces the catalogue's row of its path only when it was classified later
        (``tagged_at``), and adds its attempts to that row's: merging the same rows twice, or
        older rows after newer ones, changes nothing. Returns the rows taken.
        """
        before, pending = self._db.total_changes, []
        for row in rows:
            pending.append(row)
            if len(pending) >= batch:
                self._merge_batch(pending)
        self._merge_batch(pending)
        return self._db.total_changes - before

    def _merge_batch(self, pending: list[dict]) -> None:
        with self._transaction():
            self._db.executemany(_MERGE, pending)
        pending.clear()

    def set_identity(self, path: str | os.PathLike, identity: FileIdentity) -> None:
        """Store a new identity of a file whose content is known to be the same (touched, tagged)."""
        with self._transaction():
            self._db.execute("UPDATE tracks SET size = ?, mtime_ns = ?, content_hash = ? WHERE path = ?",
                             (identity.size, identity.mtime_ns, identity.content_hash, os.path.abspath(path)))

    def set_written(self, path: str | os.PathLike, identity: FileIdentity, written_genre: str | None,
                    write_note: str | None) -> None:
        """Store the outcome of writing the genre into a file's tags, and the file's new identity."""
        with self._transaction():
            self._db.execute("UPDATE tracks SET size = ?, mtime_ns = ?, content_hash = ?, written_genre = ?, "
                             "write_note = ? WHERE path = ?",
                             (identity.size, identity.mtime_ns, identity.content_hash, written_genre, write_note,
                              os.path.abspath(path)))

    def remove(self, paths: Iterable[str]) -> int:
        """Forget files; returns how many rows were deleted."""
        with self._transaction():
            return self._db.executemany("DELETE FROM tracks WHERE path = ?", [(p,) for p in paths]).rowcount


# Tagging a library ------------------------------------------------------------------------------
@dataclass
class TagSummary:
    """What one :func:`tag_library` run did.

    Attributes
    ----------
    root, db, model_id : str
    files : int
        Audio files found in the library.
    new, changed, new_model, retried, for_tags : int
        Files classified because they were not in the catalogue, their identity changed, an
        earlier model classified them, they had failed and ``retry_failed`` was set, or tags were
        asked for and the catalogue has none for them.
    skipped : int
        Files left alone (unchanged, same model; earlier failures unless retried).
    removed : int
        Catalogue rows forgotten because their file is gone from the library.
    classified : int
        Files classified successfully in this run.
    failed : list of (path, reason)
        Files that failed in this run.
    tagged_files : int
        Files that carry their genre in their own tags after this run's writes.
    tag_notes : list of (path, reason)
        Files whose tags could not be written in this run.
    ok_total, failed_total : int
        Tracks of this library in the catalogue after the run, classified and failed.
    """

    root: str
    db: str
    model_id: str
    files: int = 0
    new: int = 0
    changed: int = 0
    new_model: int = 0
    retried: int = 0
    for_tags: int = 0
    skipped: int = 0
    removed: int = 0
    classified: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    tagged_files: int = 0
    tag_notes: list[tuple[str, str]] = field(default_factory=list)
    ok_total: int = 0
    failed_total: int = 0

    @property
    def nothing_classified(self) -> bool:
        """True when the library has files but none of them has a genre in the catalogue."""
        return self.files > 0 and self.ok_total == 0

    def summary(self) -> str:
        """A few lines for people."""
        lines = [f"tagged {self.root} into {self.db} with model {self.model_id}",
                 f"  {self.files} files: {self.new} new, {self.changed} changed, {self.new_model} for a new model, "
                 f"{self.retried} retried, " + (f"{self.for_tags} for their tags, " if self.for_tags else "") +
                 f"{self.skipped} unchanged (skipped); "
                 f"{self.removed} gone from disk (forgotten)",
                 f"  classified {self.classified}, failed {len(self.failed)}; the catalogue holds "
                 f"{self.ok_total} tracks of this library with a genre and {self.failed_total} failed"]
        if self.tagged_files or self.tag_notes:
            lines.append(f"  wrote the genre into {self.tagged_files} files' tags, {len(self.tag_notes)} not written")
        return _with_problems(lines, self.failed, self.tag_notes)

    def to_dict(self) -> dict:
        return _problems_as_dicts(asdict(self), "failed", self.failed, self.tag_notes)


def _write_tag(path: str, genre: str, identity: FileIdentity,
               summary: TagSummary) -> tuple[str | None, str | None, FileIdentity]:
    """Put ``genre`` into a file's tags unless it is there; (written genre, note, the file's identity now)."""
    from genrekit.filetags import read_genre, write_genre

    try:
        if read_genre(path) != genre:
            write_genre(path, genre)
            identity = FileIdentity.of(path)
    except (GenrekitError, OSError) as exc:  # TagError, or AudioError: no longer a regular file
        note = getattr(exc, "reason", None) or reason(exc, path)
        summary.tag_notes.append((path, note))
        return None, note, identity
    summary.tagged_files += 1
    return genre, None, identity


def tag_library(root: str | os.PathLike, db: str | os.PathLike, classifier=None, write_tags: bool = False,
                progress: bool = False, retry_failed: bool = False, tagger=None,
                min_confidence: float | None = None) -> TagSummary:
    """Classify the audio files below ``root`` into the catalogue ``db``; resumable and incremental.

    Parameters
    ----------
    root : str or path-like
        The library: a folder searched recursively for audio files
        (:data:`genrekit.audio.SUPPORTED_EXTENSIONS`, hidden files and folders excluded).
    db : str or path-like
        The catalogue's SQLite file (created if missing).
    classifier : Classifier, optional
        Default: the bundled model (:func:`genrekit.inference.load_model`). Anything with a ``model_id``
        and the Classifier's ``predict(paths, progress=..., on_result=...)`` serves, e.g. a
        :class:`genrekit.scale.RayClassifier` (classification on a Ray cluster; this process stays the
        catalogue's one writer, so resuming and re-tagging work the same).
    write_tags : bool
        Also write each genre into the file's own tags (never done by default).
    progress : bool
        Show a progress bar on standard error.
    retry_failed : bool
        Classify again files that failed before and have not changed, and (with
        ``write_tags``) try again to write the tags that could not be written.
    tagger : genrekit.tags.Tagger, optional
        Also store musicnn's tags of each classified file (the ``tags`` column); files classified
        earlier without tags are classified again.
    min_confidence : float, optional
        Store the genre ``unknown`` when the most probable genre is below this probability
        (:meth:`~genrekit.inference.Prediction.genre_or_unknown`); ``unknown`` is never written into a
        file's own tags.

    Returns
    -------
    TagSummary

    Raises
    ------
    GenrekitError
        ``root`` is not a folder, ``db`` is not a usable catalogue or its folder is missing, or
        another run is updating ``db`` (see :func:`updating`). A file that cannot be classified
        never raises: it is stored as failed with the reason.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise GenrekitError(f"{root}: no such folder; give the folder that holds your music")
    from genrekit.inference import check_min_confidence

    check_min_confidence(min_confidence)
    if classifier is None:
        from genrekit.inference import load_model

        classifier = load_model()
    with updating(db):
        return _tag(root, db, classifier, write_tags, progress, retry_failed, tagger, min_confidence)


def _tag(root: Path, db, classifier, write_tags: bool, progress: bool, retry_failed: bool, tagger=None,
         min_confidence: float | None = None) -> TagSummary:
    from genrekit.paths import audio_files

    files = [os.path.abspath(p) for p in audio_files(root)]
    summary = TagSummary(str(root), str(db), classifier.model_id, files=len(files))
    with Catalogue(db) as catalogue:
        known = catalogue.records(under=root)
        summary.removed = catalogue.remove(sorted(set(known) - set(files)))
        todo, retag = _plan(files, known, catalogue, classifier.model_id, write_tags, retry_failed, summary,
                            tagger is not None)
        _classify(todo, catalogue, classifier, write_tags, progress, summary, tagger, min_confidence)
        for record in retag:
            written, note, identity = _write_tag(record.path, record.genre, record.identity, summary)
            catalogue.set_written(record.path, identity, written, note)
        totals = catalogue.counts(under=root)
    summary.ok_total, summary.failed_total = totals["ok"], totals["failed"]
    return summary


def look_at(path: str, record: TrackRecord | None = None, retry_failed: bool = False) -> tuple[FileIdentity, str | None]:
    """A library file's identity now, and why it cannot be classified (``None`` when it can be read).

    Nothing but a regular file is opened (a named pipe would block the scan, a device would be
    read forever), and the content hash is read only when size or time differ from the record's.
    """
    try:
        status = check_file(path)
        if record is not None and record.identity.same_stat(status) \
                and (record.identity.content_hash or not retry_failed):
            return record.identity, None  # the usual case on a re-run: nothing is read
        return FileIdentity.of(path, status), None
    except AudioError as exc:  # missing, a broken or looping link, not a regular file, empty
        return FileIdentity.unreadable(path), exc.reason
    except OSError as exc:
        return FileIdentity.unreadable(path), reason(exc, path)


def _plan(files: list[str], known: dict[str, TrackRecord], catalogue: Catalogue, model_id: str, write_tags: bool,
          retry_failed: bool, summary: TagSummary,
          tags: bool = False) -> tuple[dict[str, FileIdentity], list[TrackRecord]]:
    """Sort the library's files into those to classify (with their identity now) and those to skip.

    Returns the files to classify and, with ``write_tags``, the skipped records whose genre is
    not yet in the file's tags. A file that cannot be read is stored as failed here, once: the
    next run skips it until its status changes (or ``retry_failed``).
    """
    from genrekit.inference import UNKNOWN, Prediction

    todo: dict[str, FileIdentity] = {}
    retag: list[TrackRecord] = []
    for path in files:
        record = known.get(path)
        identity, unreadable = look_at(path, record, retry_failed)
        if record is None:
            summary.new += 1
        elif identity.differs(record.identity):
            summary.changed += 1
        elif record.model_id != model_id:
            summary.new_model += 1
        elif not record.ok and retry_failed:
            summary.retried += 1
        elif tags and record.ok and record.tags is None:
            summary.for_tags += 1
        else:
            summary.skipped += 1
            if identity != record.identity:  # touched or copied: same content, new time
                catalogue.set_identity(path, identity)
                record.identity = identity
            if write_tags and record.ok and record.genre != UNKNOWN and record.written_genre != record.genre \
                    and (record.write_note is None or retry_failed):
                retag.append(record)
            continue
        if unreadable is not None:
            catalogue.record(path, identity, model_id, Prediction(path, error=unreadable))
            summary.failed.append((path, unreadable))
            continue
        todo[path] = identity
    return todo, retag


def _classify(todo: dict[str, FileIdentity], catalogue: Catalogue, classifier, write_tags: bool, progress: bool,
              summary: TagSummary, tagger=None, min_confidence: float | None = None) -> None:
    """Classify files, committing each one (and writing its tag) as soon as it is done."""
    from genrekit.inference import UNKNOWN

    paths = list(todo)

    def commit(index: int, prediction) -> None:
        path = paths[index]
        identity, written, note = todo[path], None, None
        if tagger is not None:
            tagger.add_tags(prediction)
        prediction.apply_min_confidence(min_confidence)
        if prediction.ok:
            summary.classified += 1
            if write_tags and prediction.genre != UNKNOWN:
                written, note, identity = _write_tag(path, prediction.genre, identity, summary)
        else:
            summary.failed.append((path, prediction.error))
        catalogue.record(path, identity, classifier.model_id, prediction, written, note)

    if paths:
        classifier.predict(paths, progress=progress, on_result=commit)


# The report -------------------------------------------------------------------------------------
@dataclass
class CatalogueReport:
    """A catalogue's contents in brief.

    Attributes
    ----------
    db : str
    tracks, ok, failed : int
    genres : dict
        Genre -> tracks, most common first.
    models : dict
        Model id -> tracks it classified (or failed on).
    failures : list of (path, reason)
    tagged_files : int
        Tracks whose genre was written into their own tags.
    tag_notes : list of (path, reason)
        Tracks whose tags could not be written.
    """

    db: str
    tracks: int
    ok: int
    failed: int
    genres: dict[str, int]
    models: dict[str, int]
    failures: list[tuple[str, str]]
    tagged_files: int
    tag_notes: list[tuple[str, str]]

    def summary(self) -> str:
        """A few lines for people."""
        width = max((len(g) for g in self.genres), default=0)
        lines = [f"catalogue {self.db}: {self.tracks} tracks, {self.ok} with a genre, {self.failed} failed"]
        lines.extend(f"  {genre:{width}s} {n:6d}  {n / max(self.ok, 1):6.1%}" for genre, n in self.genres.items())
        lines.extend(f"  model {model}: {n} tracks" for model, n in self.models.items())
        if self.tagged_files or self.tag_notes:
            lines.append(f"  genre written into {self.tagged_files} files' tags, {len(self.tag_notes)} not written")
        return _with_problems(lines, self.failures, self.tag_notes)

    def to_dict(self) -> dict:
        return _problems_as_dicts(asdict(self), "failures", self.failures, self.tag_notes)


def report(db: str | os.PathLike) -> CatalogueReport:
    """Summarise a catalogue: genre counts, models, failures with their reasons, tag-writing notes.

    Raises
    ------
    GenrekitError
        ``db`` does not exist or is not a genrekit catalogue.
    """
    with Catalogue(db, create=False) as catalogue:
        counts = catalogue.counts()
        return CatalogueReport(str(db), len(catalogue), counts["ok"], counts["failed"],
                               genres=catalogue.tally("genre", "ok"), models=catalogue.tally("model_id"),
                               failures=catalogue.notes("error"),
                               tagged_files=sum(catalogue.tally("written_genre").values()),
                               tag_notes=catalogue.notes("write_note"))
