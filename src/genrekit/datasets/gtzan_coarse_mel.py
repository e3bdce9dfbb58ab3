"""``gtzan-coarse-mel``: coarse 8-bit log-mel arrays of 639 real GTZAN tracks, no audio.

The arrays (``V``, uint8 ``[639, 128, 387]``) were recovered from published spectrogram
images of GTZAN; their README gives the recipe that computes the same arrays from audio,
implemented as the ``coarse_mel`` feature preset
(:class:`genrekit.features.specs.CoarseMelSpec`). The tracks are those of the
artist-filtered train (442; ``jazz.00054`` has no image) and valid (197) lists; the test
list is deliberately not included.

Values are read as dB, ``-80 + 80 * V / 255`` (the README's formula: exact up to the
8-bit step when the clip reaches the 80 dB floor, which most do). The images stretched each
clip between its quietest cell and its maximum; a clip whose quietest cell lies above the
floor (no level 0 among its columns: 76 of the 639) has an unknown floor ``m`` in
(-80, 0) and true values ``m * (1 - V / 255)``: :func:`reaches_floor` tells the two apart and
:func:`with_floor` re-reads an array with another floor (for training on the plausible
readings, as the bundled models are: ``docs/models.md``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrekit.datasets.base import Track, TrackCollection
from genrekit.datasets.gtzan_genre import GENRES
from genrekit.errors import DatasetError

__all__ = ["FILE_NAME", "FLOOR_DB", "PrecomputedCollection", "coarse_mel", "to_db", "reaches_floor", "with_floor",
           "floor_readings"]

FILE_NAME = "gtzan_coarse_mel_dev.npz"
#: The floor of the images' colour scale (the README): level 0 is -80 dB when the clip reaches it.
FLOOR_DB = -80.0


@dataclass(frozen=True)
class PrecomputedCollection(TrackCollection):
    """A collection whose features come with it instead of being computed from audio.

    Attributes
    ----------
    features : dict of str to np.ndarray [shape=(bands, frames)]
        By track id.
    spec : str
        The feature preset these arrays are (e.g. ``"coarse_mel"``).
    parts : dict of str to str
        The list each track comes from (``"train"`` / ``"valid"``), when the data says.
    """

    features: dict = field(default_factory=dict, repr=False, compare=False)
    spec: str = ""
    parts: dict = field(default_factory=dict, repr=False, compare=False)

    def subset(self, tracks) -> "PrecomputedCollection":
        base = super().subset(tracks)
        return PrecomputedCollection(base.name, base.root, base.tracks, base.genres,
                                     features={t.id: self.features[t.id] for t in base.tracks},
                                     spec=self.spec, parts={t.id: self.parts.get(t.id) for t in base.tracks})


def to_db(levels: np.ndarray) -> np.ndarray:
    """8-bit colour levels -> dB: ``-80 + 80 * V / 255``, float32."""
    return (np.float32(FLOOR_DB) + np.float32(-FLOOR_DB / 255.0) * levels.astype(np.float32)).astype(np.float32)


def reaches_floor(db: np.ndarray) -> bool:
    """Whether an array (read by :func:`to_db`) has a cell at the -80 dB floor, so its reading is exact; an array
    without one comes from a clip whose quietest cell was above the floor, by an unknown amount."""
    return bool(np.asarray(db).min() <= FLOOR_DB)


def with_floor(db: np.ndarray, floor: float) -> np.ndarray:
    """An array read by :func:`to_db` re-read as if its level 0 were ``floor`` dB (in (-80, 0)):
    ``floor * (1 - V / 255)``, i.e. the -80 dB reading scaled by ``floor / -80``.

    Parameters
    ----------
    db : np.ndarray [shape=(128, columns)], float32, -80..0
    floor : float

    Returns
    -------
    np.ndarray [shape=(128, columns)], float32, floor..0
    """
    return (np.asarray(db, dtype=np.float32) * np.float32(floor / FLOOR_DB)).astype(np.float32)


def coarse_mel(root: str | os.PathLike) -> PrecomputedCollection:
    """Load the coarse-mel arrays.

    Parameters
    ----------
    root : path
        The folder holding ``gtzan_coarse_mel_dev.npz``, or that file.

    Returns
    -------
    PrecomputedCollection
        639 tracks (ids ``blues.00000`` ...), ``genres == GENRES``, ``features`` in dB
        ``[128, 387]``, ``spec == "coarse_mel"``, ``parts`` from the file's ``split`` array.
    """
    path = Path(root).expanduser()
    if path.is_dir():
        path = path / FILE_NAME
    if not path.is_file():
        raise DatasetError(f"{path} not found: the coarse-mel dataset is the file {FILE_NAME} "
                           "(../shared/data/gtzan-coarse-mel/ in the project's shared folder)")
    try:
        with np.load(path, allow_pickle=False) as data:
            levels, names, genres, parts = data["V"], data["names"], data["genres"], data["split"]
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path} is not a coarse-mel file (arrays V, names, genres, split): {exc}") from None
    tracks, features, part_of = [], {}, {}
    for i, (name, genre, part) in enumerate(zip(names.tolist(), genres.tolist(), parts.tolist())):
        tracks.append(Track(name, f"{path}#{name}", genre))
        features[name] = to_db(levels[i])
        part_of[name] = part
    return PrecomputedCollection("coarse-mel", str(path), tuple(tracks), GENRES,
                                 features=features, spec="coarse_mel", parts=part_of)


def floor_readings(collection: PrecomputedCollection, floors) -> PrecomputedCollection:
    """The tracks whose arrays do not reach the floor, each read with every floor of ``floors``
    (:func:`with_floor`): what training on the plausible readings adds to the arrays as they are read.

    Returns
    -------
    PrecomputedCollection
        Track ``NAME@FLOORdB`` (e.g. ``country.00003@-72dB``, path ``...#country.00003@-72dB``) per track
        and floor, with its track's genre and part.
    """
    tracks, features, parts = [], {}, {}
    for track in collection.tracks:
        db = collection.features[track.id]
        if reaches_floor(db):
            continue
        for floor in floors:
            reading = Track(f"{track.id}@{floor:g}dB", f"{track.path}@{floor:g}dB", track.genre)
            tracks.append(reading)
            features[reading.id] = with_floor(db, floor)
            parts[reading.id] = collection.parts.get(track.id)
    return PrecomputedCollection(f"{collection.name} floor readings", collection.root, tuple(tracks),
                                 collection.genres, features=features, spec=collection.spec, parts=parts)
