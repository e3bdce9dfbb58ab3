"""GTZAN genre collection: index, both common on-disk layouts, and known faults.

G. Tzanetakis and P. Cook, "Musical genre classification of audio signals",
IEEE Trans. Speech and Audio Processing 10(5), 2002. 1000 excerpts of about 30 s,
100 per genre, 22050 Hz mono 16-bit.

Two layouts are in circulation and both are recognised:

- the original archive: ``genres/<genre>/<genre>.000NN.au`` (Sun/NeXT .au);
- the common WAV re-encoding: ``genres_original/<genre>/<genre>.000NN.wav``, in which
  ``jazz.00054.wav`` is damaged and cannot be decoded. Such files are reported in
  ``.skipped`` with the reason and left out, never a crash.

Users bring their own copy; genrekit never downloads GTZAN. See B. L. Sturm, "An
analysis of the GTZAN music genre dataset" (2012) for its faults (repeats, mislabels,
distortions); :func:`genrekit.datasets.splits.filtered` gives the artist-filtered split
that avoids them.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from genrekit.audio import SUPPORTED_EXTENSIONS
from genrekit.datasets.base import Skipped, Track, TrackCollection, probe
from genrekit.errors import DatasetError

__all__ = ["GENRES", "TRACKS_PER_GENRE", "LAYOUTS", "expected_ids", "find_genre_root", "gtzan", "DatasetWarning"]

#: GTZAN's ten genres, in the order every genrekit model outputs them (alphabetical, as the archive).
GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
#: Tracks per genre in the complete collection.
TRACKS_PER_GENRE = 100
#: Folder names that hold the genre folders, in the order they are looked for.
LAYOUTS = ("genres", "genres_original", os.path.join("Data", "genres_original"))

_NAME = re.compile(r"^(?P<genre>[a-z]+)\.(?P<number>\d{5})$")


class DatasetWarning(UserWarning):
    """A dataset was read but is incomplete (missing or unreadable tracks)."""


def expected_ids() -> list[str]:
    """The 1000 track ids of the complete collection, ``blues.00000`` ... ``rock.00099``."""
    return [f"{g}.{n:05d}" for g in GENRES for n in range(TRACKS_PER_GENRE)]


def find_genre_root(root: str | os.PathLike) -> Path:
    """Find the folder that holds the ten genre folders.

    ``root`` may be that folder itself, or a folder containing one of :data:`LAYOUTS`.

    Raises
    ------
    DatasetError
        If no candidate holds any genre folder.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"GTZAN root {root} does not exist or is not a folder")
    candidates = [root] + [root / layout for layout in LAYOUTS]
    for candidate in candidates:
        if candidate.is_dir() and any((candidate / g).is_dir() for g in GENRES):
            return candidate
    raise DatasetError(
        f"no GTZAN genre folders under {root}: expected genres/<genre>/<genre>.000NN.au "
        "(original archive) or genres_original/<genre>/<genre>.000NN.wav (WAV re-encoding), "
        "or the genre folders directly"
    )


def gtzan(root: str | os.PathLike, strict: bool = False) -> TrackCollection:
    """Index a GTZAN copy.

    Parameters
    ----------
    root : str or path-like
        The folder holding ``genres/`` or ``genres_original/`` (or the genre folders).
    strict : bool
        Raise instead of warn when tracks are missing or unreadable.

    Returns
    -------
    TrackCollection
        Readable tracks in id order, ``genres == GENRES``; ``.skipped`` lists files that are
        present but unreadable (with reasons) and ``.missing`` the expected ids not found.

    Raises
    ------
    DatasetError
        If no genre folder is found, no track is readable, or (``strict``) the copy is incomplete.

    Warns
    -----
    DatasetWarning
        When the copy is incomplete and ``strict`` is False.
    """
    genre_root = find_genre_root(root)
    tracks: list[Track] = []
    skipped: list[Skipped] = []
    found: set[str] = set()
    for genre in GENRES:
        folder = genre_root / genre
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in SUPPORTED_EXTENSIONS or path.name.startswith("."):
                continue
            match = _NAME.match(path.stem)
            if not match or match.group("genre") != genre:
                continue
            track_id = path.stem
            if track_id in found:
                skipped.append(Skipped(str(path), f"a second file for {track_id}; the first one is used"))
                continue
            found.add(track_id)
            reason = probe(path)
            if reason is not None:
                skipped.append(Skipped(str(path), reason))
            else:
                tracks.append(Track(track_id, str(path.resolve()), genre))
    missing = tuple(i for i in expected_ids() if i not in found)
    if not tracks:
        raise DatasetError(f"no readable GTZAN track under {genre_root}"
                           + (f" ({len(skipped)} unreadable)" if skipped else ""))
    collection = TrackCollection("gtzan", str(genre_root), tuple(tracks), GENRES, tuple(skipped), missing)
    if missing or skipped:
        message = (f"GTZAN at {genre_root}: {len(tracks)} of {len(expected_ids())} tracks usable; "
                   f"{len(missing)} missing, {len(skipped)} unreadable (see .missing and .skipped)")
        if strict:
            raise DatasetError(message + "\n" + collection.summary())
        warnings.warn(message, DatasetWarning, stacklevel=2)
    return collection
