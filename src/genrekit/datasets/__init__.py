"""Datasets: track records, collections and splits.

- :func:`gtzan` - the GTZAN collection in either common layout (see :mod:`.gtzan_genre`);
- :func:`folder` - any folder with one sub-folder per genre (:mod:`.genre_folders`);
- :func:`synthetic` - generated audio for tests and the demo (see :mod:`.synthesis`);
- :func:`coarse_mel` - precomputed coarse log-mel arrays of real GTZAN tracks, no audio
  (:mod:`.gtzan_coarse_mel`);
- :func:`feature_table` - a per-track feature table of GTZAN, e.g. the Kaggle ``features_30_sec.csv``
  of all 1,000 tracks, no audio (:mod:`.feature_table`);
- :mod:`.splits` - track-level holdout, k-fold and the artist-filtered GTZAN split;
- :func:`load` - one of the above by name, as the command line uses them.
"""

from __future__ import annotations

from genrekit.datasets import splits
from genrekit.datasets.base import Skipped, Track, TrackCollection
from genrekit.datasets.gtzan_coarse_mel import PrecomputedCollection, coarse_mel
from genrekit.datasets.feature_table import feature_table
from genrekit.datasets.genre_folders import folder
from genrekit.datasets.gtzan_genre import GENRES, DatasetWarning, gtzan
from genrekit.errors import ConfigError

__all__ = ["GENRES", "DatasetWarning", "PrecomputedCollection", "Skipped", "Track", "TrackCollection",
           "coarse_mel", "feature_table", "folder", "gtzan", "synthetic", "splits", "load", "NAMES", "PRECOMPUTED"]

#: Dataset names :func:`load` accepts.
NAMES = ("gtzan", "folder", "synthetic", "coarse-mel", "gtzan-features")
#: The datasets that hold features instead of audio, and the feature preset they hold.
PRECOMPUTED = {"coarse-mel": "coarse_mel", "gtzan-features": "kaggle"}


def synthetic(n_per_genre: int = 10, seconds: float = 30.0, seed: int = 0, root=None, sr: int = 22050,
              layout: str = "folder", fmt: str = "wav") -> TrackCollection:
    """:func:`genrekit.datasets.synthesis.synthetic`, imported when first used (the synthesiser is large, and
    reading a dataset or classifying a file never needs it)."""
    from genrekit.datasets.synthesis import synthetic as make

    return make(n_per_genre, seconds, seed, root, sr, layout, fmt)


def load(name: str, root=None, **options) -> TrackCollection:
    """A collection by name: ``load("gtzan", root)``, ``load("folder", root)``, ``load("coarse-mel", root)``,
    ``load("gtzan-features", root)``,
    ``load("synthetic", root=None, n_per_genre=10, seconds=30.0, seed=0)``.

    Raises
    ------
    ConfigError
        For an unknown name, or a missing ``root`` where one is needed.
    """
    if name == "synthetic":
        return synthetic(root=root, **options)
    if name not in NAMES:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")
    if root is None:
        raise ConfigError(f"dataset {name!r} needs a root folder (--root PATH)")
    if name == "coarse-mel":
        return coarse_mel(root)
    if name == "gtzan-features":
        return feature_table(root)
    return gtzan(root, **options) if name == "gtzan" else folder(root, **options)
