"""Track records and track collections, the currency of every layer above.

A :class:`Track` is one labelled audio file; a :class:`TrackCollection` is an ordered,
immutable list of tracks that also remembers which files were found but could not be
used (``.skipped``, with reasons) and, for datasets with a known index such as GTZAN,
which expected tracks were not found at all (``.missing``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Iterator, Sequence

import numpy as np

from genrekit import audio
from genrekit.errors import AudioError, DatasetError
from genrekit.files import printable

__all__ = ["Track", "Skipped", "TrackCollection", "probe"]


@dataclass(frozen=True)
class Track:
    """One labelled audio file.

    Attributes
    ----------
    id : str
        Unique within its collection, e.g. ``"blues.00000"`` (GTZAN) or ``"blues/my song"``.
    path : str
        Absolute path of the audio file.
    genre : str
        The label.
    """

    id: str
    path: str
    genre: str

    @cached_property
    def duration(self) -> float:
        """Length in seconds, read lazily from the file header."""
        return audio.info(self.path).duration

    def audio(self, sr: int | None = audio.DEFAULT_SR, **kwargs) -> np.ndarray:
        """Decode the track: ``genrekit.audio.load(self.path, sr, **kwargs)``."""
        return audio.load(self.path, sr=sr, **kwargs)


@dataclass(frozen=True)
class Skipped:
    """A file that was found but left out of a collection, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def probe(path: str | os.PathLike) -> str | None:
    """Return why a file cannot be used as audio, or ``None`` when its header reads fine."""
    try:
        audio.info(path)
    except AudioError as exc:
        return exc.reason
    return None


@dataclass(frozen=True)
class TrackCollection(Sequence[Track]):
    """An ordered, immutable collection of tracks.

    Attributes
    ----------
    name : str
        What the collection is, e.g. ``"gtzan"``, ``"folder"``, ``"synthetic"``.
    root : str
        The folder it was read from.
    tracks : tuple of Track
    genres : tuple of str
        The label set in model output order. May contain genres with no track (e.g. a
        partial GTZAN copy still has GTZAN's ten genres).
    skipped : tuple of Skipped
        Files found but unusable (unreadable, truncated, ...), with reasons.
    missing : tuple of str
        Ids the dataset's index expects that were not found on disk.
    """

    name: str
    root: str
    tracks: tuple[Track, ...]
    genres: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()
    missing: tuple[str, ...] = ()
    _by_id: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        by_id = {}
        for track in self.tracks:
            if track.id in by_id:
                raise DatasetError(f"{self.name}: two files have the track id {track.id!r}: "
                                   f"{by_id[track.id].path} and {track.path}")
            if track.genre not in self.genres:
                raise DatasetError(f"{self.name}: track {track.id!r} has genre {track.genre!r}, "
                                   f"which is not one of {list(self.genres)}")
            by_id[track.id] = track
        object.__setattr__(self, "_by_id", by_id)

    # Sequence protocol -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tracks)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.subset(self.tracks[index])
        return self.tracks[index]

    def __iter__(self) -> Iterator[Track]:
        return iter(self.tracks)

    def __contains__(self, item) -> bool:
        key = item.id if isinstance(item, Track) else item
        return key in self._by_id

    # Lookups -----------------------------------------------------------------------
    def by_id(self, track_id: str) -> Track:
        """The track with this id; raises ``KeyError`` naming the id otherwise."""
        try:
            return self._by_id[track_id]
        except KeyError:
            raise KeyError(f"no track {track_id!r} in {self.name} collection at {self.root}") from None

    def genre_index(self, genre: str) -> int:
        """Position of ``genre`` in :attr:`genres` (the model output index)."""
        return self.genres.index(genre)

    def labels(self) -> np.ndarray:
        """Genre index of each track, ``np.ndarray [shape=(len(self),)], int64``."""
        index = {g: i for i, g in enumerate(self.genres)}
        return np.array([index[t.genre] for t in self.tracks], dtype=np.int64)

    def counts(self) -> dict[str, int]:
        """Number of tracks per genre, in :attr:`genres` order."""
        counts = {g: 0 for g in self.genres}
        for track in self.tracks:
            counts[track.genre] += 1
        return counts

    def subset(self, tracks: Iterable[Track | str]) -> "TrackCollection":
        """A collection of some of these tracks (given as tracks or ids), same genres."""
        chosen = tuple(t if isinstance(t, Track) else self.by_id(t) for t in tracks)
        return TrackCollection(self.name, self.root, chosen, self.genres)

    def summary(self) -> str:
        """A few lines for people: size, per-genre counts, skipped and missing files."""
        lines = [f"{self.name} at {self.root}: {len(self)} tracks in {len(self.genres)} genres"]
        lines.append("  " + ", ".join(f"{g} {n}" for g, n in self.counts().items()))
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} unreadable file(s):")
            lines.extend(f"    {printable(str(s))}" for s in self.skipped)
        if self.missing:
            shown = ", ".join(self.missing[:10]) + (" ..." if len(self.missing) > 10 else "")
            lines.append(f"  missing {len(self.missing)} expected track(s): {shown}")
        return "\n".join(lines)
