"""From a dataset and a feature preset to the track arrays a model trains on.

This is the one place where datasets, splits and features meet: :func:`prepare` loads the
dataset a :class:`~genrekit.training.TrainConfig` names, computes (or reads from the cache)
its features, splits it at track level, and returns the train / validation / test
:class:`TrackData`. Collections that carry their own features
(``coarse-mel``) skip the extraction. Tracks whose features fail are reported and left
out, never fatal.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from genrekit import datasets, features
from genrekit.datasets import PrecomputedCollection, splits
from genrekit.errors import ConfigError, DatasetError
from genrekit.runs import feature_spec

__all__ = ["TrackData", "Prepared", "load_collection", "track_features", "prepare"]


@dataclass
class TrackData:
    """The feature arrays and labels of a set of tracks.

    Attributes
    ----------
    ids : list of str
    features : list of np.ndarray [shape=(bands, n_frames)], float32
        At least one clip long (shorter tracks are padded by the clip policy).
    labels : np.ndarray [shape=(n_tracks,)], int64
    """

    ids: list[str]
    features: list[np.ndarray]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Prepared:
    """Arrays ready for :func:`genrekit.training.fit`."""

    genres: list[str]
    train: TrackData
    valid: TrackData
    test: TrackData
    frames: int
    hop: int
    context: dict = field(default_factory=dict)


def load_collection(dataset: str, root=None, options: dict | None = None):
    """``genrekit.datasets.load`` with the training config's names."""
    return datasets.load(dataset, root, **(options or {}))


def track_features(collection, spec: features.FeatureSpec, cache=None, workers=None,
                   progress: bool = True) -> tuple[dict[str, np.ndarray], list]:
    """Feature arrays by track id, and the failures (``genrekit.features.Failure``)."""
    if isinstance(collection, PrecomputedCollection):
        held = features.get(collection.spec)
        if spec.kind == held.kind:
            return {track: spec.conform(values) for track, values in collection.features.items()}, []
        derives_from = getattr(spec, "derives_from", None)  # a spec made from the held arrays
        if derives_from and features.get(derives_from).kind == held.kind:
            return _derived_features(collection, spec, cache, progress), []
        raise ConfigError(f"the {collection.name} dataset holds only {collection.spec} features, not "
                          f"{spec.name} ({spec.kind}); use --features {collection.spec} or a preset made "
                          f"from it ({', '.join(_derived(collection.spec)) or 'none'})")
    arrays, report = features.load_features(collection, spec, cache=cache, workers=workers, progress=progress)
    if report.failed and progress:
        print(report.summary(), file=sys.stderr)
    return arrays, list(report.failed)


def _derived_features(collection, spec: features.FeatureSpec, cache, progress: bool) -> dict[str, np.ndarray]:
    """A derived spec's features of a collection's held arrays, cached per track (a musicnn embedding of
    639 coarse-mel tracks is minutes of CPU)."""
    from genrekit.progress import Progress

    store = features.FeatureCache(cache, spec)
    out = {}
    with Progress(len(collection.tracks), f"features {spec.name}", enabled=progress) as bar:
        for track in collection.tracks:
            values = store.get(track.path)
            if values is None:
                values = spec.from_source(collection.features[track.id])
                store.put(track.path, values)
            out[track.id] = values
            bar.advance()
    return out


def _derived(name: str) -> list[str]:
    """Presets that can be made from a data set's ``name`` arrays."""
    return [p for p, spec in features.PRESETS.items() if getattr(spec, "derives_from", None) == name]


def prepare(config, progress: bool = True) -> Prepared:
    """Dataset + features + split for a resolved :class:`~genrekit.training.TrainConfig`."""
    collection = load_collection(config.dataset, config.root, config.dataset_options)
    spec = feature_spec(config.features, config.clip_frames, config.clip_hop)
    arrays, failed = track_features(collection, spec, config.cache, config.workers, progress)
    usable = [t for t in collection if t.id in arrays]
    if not usable:
        raise DatasetError(f"no track of {collection.name} at {collection.root} has usable features")
    all_splits = splits.parse(config.split, usable, config.seed)
    if not 0 <= config.split_index < len(all_splits):
        raise ConfigError(f"split {config.split!r} has {len(all_splits)} part(s); split_index "
                          f"{config.split_index} is out of range")
    split = all_splits[config.split_index]
    index = {g: i for i, g in enumerate(collection.genres)}

    def data(tracks) -> TrackData:
        return TrackData([t.id for t in tracks], [arrays[t.id] for t in tracks],
                         np.array([index[t.genre] for t in tracks], dtype=np.int64))

    context = {"split": split.name, "features": spec.name, "dataset_root": collection.root,
               "failed_tracks": [str(f) for f in failed], "split_sizes": {k: len(v) for k, v in split.parts.items()}}
    return Prepared(list(collection.genres), data(split.train), data(split.valid), data(split.test),
                    spec.clip.frames, spec.clip.hop, context)
