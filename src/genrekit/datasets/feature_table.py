"""``gtzan-features``: a table of per-track features of GTZAN (one row per track), no audio.

The table this is made for is ``features_30_sec.csv``, published with the Kaggle "GTZAN Dataset -
Music Genre Classification" (2020): all 1,000 tracks, computed with librosa from the real
22,050 Hz WAVs (``../shared/data/gtzan-kaggle-features``). Any CSV with a file-name column
(``filename``, ``file``, ``path`` or ``track``) and the 57 feature columns of the ``kaggle``
preset (:data:`COLUMNS`; other columns are ignored) is read the same way.

- Track ids are the file names without the extension (``blues.00000.wav`` -> ``blues.00000``),
  so the GTZAN splits (``holdout``, ``kfold``, the artist-filtered lists) apply unchanged.
- The genre is the ``label`` column when there is one, else the id's prefix; the genres are
  GTZAN's ten when every label is one of them.
- ``jazz.00054``, whose WAV is damaged in the common copy (``gtzan`` skips it there), has a
  row in the Kaggle table (its ``length``, 662,112 samples, says it was computed from another
  copy): the row is kept, as the ``.au`` layout keeps the track. It is on the filtered train list.
- Each track's features are ``[57, 1]`` float32 (one column: the whole excerpt), the output of
  the ``kaggle`` preset, which computes the same columns from audio; so a classical model trained
  on the table classifies new audio (``genrekit predict --model RUN_DIR song.wav``).

One row per track: a per-segment table (``features_3_sec.csv``, file names ``blues.00000.0.wav``)
is refused with a clear error.
"""

from __future__ import annotations

import csv
import math
import os
import re
from pathlib import Path

import numpy as np

from genrekit.datasets.base import Track
from genrekit.datasets.gtzan_coarse_mel import PrecomputedCollection
from genrekit.datasets.gtzan_genre import GENRES
from genrekit.errors import DatasetError

__all__ = ["FILE_NAME", "NAME_COLUMNS", "COLUMNS", "DESCRIPTORS", "table_columns", "track_id", "feature_table"]

#: The frame-level descriptors of the table, in its column order (each gives ``_mean`` and ``_var``),
#: with ``tempo`` after ``perceptr`` and the MFCCs after it.
DESCRIPTORS = ("chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff", "zero_crossing_rate",
               "harmony", "perceptr")


def table_columns(n_mfcc: int = 20) -> tuple[str, ...]:
    """The table's feature columns in its order: ``chroma_stft_mean`` ... ``tempo``, ``mfcc1_mean`` ..."""
    names = [f"{d}_{stat}" for d in DESCRIPTORS for stat in ("mean", "var")] + ["tempo"]
    return tuple(names + [f"mfcc{i}_{stat}" for i in range(1, n_mfcc + 1) for stat in ("mean", "var")])


#: The 57 feature columns of ``features_30_sec.csv`` (all but ``filename``, ``length`` and ``label``),
#: which the ``kaggle`` feature preset computes from audio (:mod:`genrekit.features.kaggle`).
COLUMNS = table_columns()

#: The file looked for when the root is a folder.
FILE_NAME = "features_30_sec.csv"
#: Columns that may hold the file name, in the order they are looked for.
NAME_COLUMNS = ("filename", "file", "path", "track")
_SEGMENTED = re.compile(r"^[a-z]+\.\d{5}\.\d+$")


def _table_path(root: str | os.PathLike) -> Path:
    path = Path(root).expanduser()
    if path.is_dir():
        path = path / FILE_NAME
    if not path.is_file():
        raise DatasetError(f"{path} not found: the gtzan-features dataset is a CSV table of per-track features, "
                           f"e.g. {FILE_NAME} of the Kaggle GTZAN dataset (../shared/data/gtzan-kaggle-features/); "
                           "give the file or its folder with --root")
    return path


def track_id(name: str) -> str:
    """A track's id from its file name: the base name without its audio extension."""
    base = os.path.basename(name.strip())
    stem, extension = os.path.splitext(base)
    return stem if extension.lower() in (".wav", ".au", ".mp3", ".flac", ".ogg") else base


def feature_table(root: str | os.PathLike, name: str = "gtzan-features") -> PrecomputedCollection:
    """Load a per-track feature table.

    Parameters
    ----------
    root : path
        The CSV file, or the folder holding ``features_30_sec.csv``.
    name : str
        The collection's name.

    Returns
    -------
    PrecomputedCollection
        Tracks by id (path ``<csv>#<id>``), ``features`` ``[57, 1]`` float32 in the order of
        :data:`COLUMNS`, ``spec == "kaggle"``.

    Raises
    ------
    DatasetError
        The file is missing or not such a table: no file-name column, a missing feature column,
        a value that is not a finite number (row and column named), two rows of one track.
    """
    path = _table_path(root)
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a readable CSV table ({exc})") from None
    id_column = next((c for c in NAME_COLUMNS if c in header), None)
    if id_column is None:
        raise DatasetError(f"{path}: no file-name column; the table needs one of {', '.join(NAME_COLUMNS)} "
                           f"(its columns: {', '.join(header[:8])}{' ...' if len(header) > 8 else ''})")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DatasetError(f"{path}: missing feature column(s) {', '.join(missing[:6])}"
                           f"{' ...' if len(missing) > 6 else ''}; gtzan-features reads the 57 columns of the Kaggle "
                           "GTZAN table (genrekit.datasets.feature_table.COLUMNS)")
    if not rows:
        raise DatasetError(f"{path}: the table has no rows")
    tracks, features = [], {}
    for line, row in enumerate(rows, start=2):
        tid = track_id(row[id_column] or "")
        if not tid:
            raise DatasetError(f"{path}, line {line}: empty {id_column}")
        if _SEGMENTED.match(tid):
            raise DatasetError(f"{path}: {row[id_column]!r} is a segment of a track (a per-segment table such as "
                               "features_3_sec.csv); gtzan-features reads one row per track (features_30_sec.csv)")
        if tid in features:
            raise DatasetError(f"{path}, line {line}: a second row for track {tid!r}; one row per track")
        features[tid] = np.array([[_number(row[c], path, line, c)] for c in COLUMNS], dtype=np.float32)
        genre = (row.get("label") or tid.split(".")[0]).strip()
        tracks.append(Track(tid, f"{path}#{tid}", genre))
    labels = sorted({t.genre for t in tracks})
    genres = GENRES if set(labels) <= set(GENRES) else tuple(labels)
    return PrecomputedCollection(name, str(path), tuple(tracks), genres, features=features, spec="kaggle")


def _number(text: str | None, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise DatasetError(f"{path}, line {line}, column {column}: {text!r} is not a finite number; fix or drop "
                           "the row")
    return value
