"""Any folder with one sub-folder per genre.

``root/<genre>/**/<file>`` with any genre names and any supported audio format
(:data:`genrekit.audio.SUPPORTED_EXTENSIONS`); files in nested folders belong to the genre
of their top-level folder. Hidden files (``.DS_Store``, ``._name`` AppleDouble files) and
files with other extensions are ignored; audio files that cannot be decoded are listed in
``.skipped`` with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

from genrekit.datasets.base import Skipped, Track, TrackCollection, probe
from genrekit.errors import DatasetError
from genrekit.paths import audio_files

__all__ = ["folder"]


def folder(root: str | os.PathLike, genres: list[str] | tuple[str, ...] | None = None,
           name: str = "folder") -> TrackCollection:
    """Index a folder-per-genre tree.

    Parameters
    ----------
    root : str or path-like
    genres : sequence of str, optional
        The label set and its order. By default, the sub-folders' names, sorted. When
        given, sub-folders not in it are ignored and it may name genres with no folder.
    name : str
        The collection's name.

    Returns
    -------
    TrackCollection
        Track ids are ``<genre>/<path below the genre folder, without extension>``.

    Raises
    ------
    DatasetError
        If ``root`` is not a folder, has no genre sub-folder, or holds no readable audio.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root} does not exist or is not a folder")
    subfolders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    label_set = tuple(genres) if genres is not None else tuple(subfolders)
    if not label_set:
        raise DatasetError(f"{root} has no sub-folders: expected one sub-folder per genre, "
                           "e.g. root/jazz/*.mp3, root/rock/*.flac")
    tracks, skipped, seen = [], [], set()
    for genre in label_set:
        genre_dir = root / genre
        if not genre_dir.is_dir():
            continue
        for path in audio_files(genre_dir):
            reason = probe(path)
            if reason is not None:
                skipped.append(Skipped(str(path), reason))
                continue
            track_id = f"{genre}/{path.relative_to(genre_dir).with_suffix('').as_posix()}"
            if track_id in seen:
                skipped.append(Skipped(str(path), f"another file already has the id {track_id!r} "
                                                  "(same name, other extension); rename one"))
                continue
            seen.add(track_id)
            tracks.append(Track(track_id, str(path.resolve()), genre))
    if not tracks:
        raise DatasetError(f"no readable audio file under {root} in the genre folders "
                           f"{list(label_set)}" + (f" ({len(skipped)} unreadable)" if skipped else ""))
    return TrackCollection(name, str(root), tuple(tracks), label_set, tuple(skipped))
