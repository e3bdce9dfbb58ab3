"""Features: specs with the papers' presets, clip slicing, an on-disk cache, parallel extraction.

>>> from genrekit import datasets, features
>>> tracks = datasets.folder("my-music")                          # doctest: +SKIP
>>> report = features.extract(tracks, "yang2019", cache="cache")  # doctest: +SKIP
>>> print(report.summary())                                       # doctest: +SKIP
"""

from genrekit.features.cache import FeatureCache, default_root
from genrekit.features.clips import ClipSpec, clip_frames, n_clips, random_clip
from genrekit.features.extraction import ExtractionReport, Failure, compute_features, extract, load_features
from genrekit.features.specs import (PRESETS, FeatureSpec, LogMelSpec, StftSpec, SummarySpec, from_dict, get,
                                     names, register)
# After specs: registers the "senac2017_music" preset (Senac et al. 2017's music-feature map).
from genrekit.features import music
from genrekit.features.music import MusicFeatureMap
# Registers "musicnn" (musicnn's own input) and "musicnn_coarse" (the same made from coarse-mel).
from genrekit.features import musicnn_input
# Registers "kaggle": the Kaggle GTZAN feature table's columns computed from audio.
from genrekit.features import kaggle

__all__ = [
    "PRESETS", "ClipSpec", "ExtractionReport", "Failure", "FeatureCache", "FeatureSpec", "LogMelSpec",
    "MusicFeatureMap", "StftSpec", "SummarySpec", "clip_frames", "compute_features", "default_root", "extract", "from_dict",
    "get", "kaggle", "load_features", "music", "musicnn_input", "n_clips", "names", "random_clip", "register",
]
