"""What the explanations feed a trained model: a run's own data split, another dataset, or files.

A run directory (:func:`genrekit.runs.load_run`) records the dataset, split and feature
preset it was trained on; :func:`run_data` prepares the same tracks again (through
:func:`genrekit.data.prepare`, so the feature cache is shared with training), optionally with
another dataset or split. :func:`file_data` computes the run's features for audio files.
:func:`track_clips` cuts tracks into clips, at most ``limit`` of them drawn at random.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from genrekit import data
from genrekit.data import TrackData
from genrekit.errors import ConfigError, FeatureError
from genrekit.features import clip_frames, compute_features
from genrekit.runs import run_spec
from genrekit.training import TrainConfig

__all__ = ["file_data", "run_data", "track_clips"]


def run_data(config: dict, *, dataset: str | None = None, root: str | os.PathLike | None = None,
             options: dict | None = None, split: str | None = None, split_index: int | None = None,
             cache: str | os.PathLike | None = None, progress: bool = False) -> data.Prepared:
    """The train / valid / test tracks of a run's split (or of another dataset / split).

    Parameters
    ----------
    config : dict
        A run's resolved configuration (second value of :func:`genrekit.runs.load_run`).
    dataset, root, options
        Another dataset (as ``genrekit train --dataset --root``); default the run's.
    split, split_index
        Another split spec; default the run's.
    cache : path-like, optional
        Feature cache folder.
    progress : bool

    Returns
    -------
    genrekit.data.Prepared
        Features of the run's preset and clip grid.
    """
    values = {k: v for k, v in config.items() if k != "genres"}
    if dataset is not None:
        values.update(dataset=dataset, root=str(root) if root is not None else None, dataset_options=options or {})
    elif root is not None:
        values["root"] = str(root)
    if split is not None:
        values.update(split=split, split_index=0)
    if split_index is not None:
        values["split_index"] = split_index
    if cache is not None:
        values["cache"] = str(cache)
    return data.prepare(TrainConfig.from_dict(values).resolved(), progress=progress)


def file_data(paths: Sequence[str | os.PathLike], config: dict):
    """The run's features for audio files (label -1: unknown).

    Returns
    -------
    genrekit.data.TrackData
        ``ids`` are the paths as given.

    Raises
    ------
    AudioError, FeatureError
        For a file that cannot be decoded, or is silent.
    """
    if not paths:
        raise ConfigError("no audio files given")
    spec = run_spec(config)
    arrays = [compute_features(path, spec) for path in paths]
    return TrackData([str(p) for p in paths], arrays, np.full(len(paths), -1, dtype=np.int64))


def track_clips(tracks, frames: int, hop: int, *, limit: int | None = None, seed: int = 0,
                cut: Callable[..., np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clips of every track, or ``limit`` of them drawn at random (without replacement).

    Parameters
    ----------
    tracks : genrekit.data.TrackData
    frames, hop : int
        Clip length and hop (ignored when ``cut`` is given).
    limit : int, optional
    seed : int
    cut : callable, optional
        ``cut(features, name=...) -> [n, bands, frames]``; default the ``frames`` / ``hop``
        grid, tracks shorter than one clip rejected.

    Returns
    -------
    clips : np.ndarray [shape=(n_clips, bands, frames)], float32
    track : np.ndarray [shape=(n_clips,)], int
        Index of each clip's track in ``tracks``.
    labels : np.ndarray [shape=(n_clips,)], int

    Raises
    ------
    FeatureError
        If no track is as long as one clip.
    """
    if cut is None:
        def cut(values, name=None):
            return clip_frames(values, frames, hop, short="reject", name=name)
    views, short = [], []
    for name, values in zip(tracks.ids, tracks.features):
        try:
            views.append(cut(values, name=name))
        except FeatureError as exc:
            views.append(None)
            short.append(str(exc))
    index = [(t, c) for t, view in enumerate(views) if view is not None for c in range(len(view))]
    if not index:
        raise FeatureError(short[0] if len(short) == 1 else
                           f"no track is long enough for one clip ({len(short)} too short; first: {short[0]})")
    if limit is not None and len(index) > limit:
        chosen = np.sort(np.random.default_rng(seed).choice(len(index), limit, replace=False))
        index = [index[i] for i in chosen]
    clips = np.stack([views[t][c] for t, c in index]).astype(np.float32)
    track = np.array([t for t, _ in index], dtype=np.int64)
    return clips, track, np.asarray(tracks.labels)[track]
