"""Cutting frame-level features into fixed-length clips.

Every paper here classifies short clips and aggregates them to a track decision:
128 frames (about 3 s) for Yang & Zhang and Senac, 256 frames (3 s) for Dong. A clip
never spans two tracks; tracks shorter than one clip follow an explicit policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genrekit.errors import ConfigError, FeatureError

__all__ = ["ClipSpec", "SHORT_POLICIES", "n_clips", "clip_starts", "clip_frames", "random_clip"]

#: What to do with a track shorter than one clip: pad it to one clip, or reject it.
SHORT_POLICIES = ("pad", "reject")


@dataclass(frozen=True)
class ClipSpec:
    """How a track's frames are cut into clips.

    Attributes
    ----------
    frames : int
        Clip length in frames.
    hop : int
        Frames between the starts of consecutive clips (``hop < frames`` overlaps them).
    short : {"pad", "reject"}
        Tracks shorter than one clip are padded at the end to one clip (with the track's
        minimum value, i.e. silence on a log scale) or rejected with a :class:`FeatureError`.
    """

    frames: int
    hop: int
    short: str = "pad"

    def __post_init__(self):
        if self.frames < 1 or self.hop < 1:
            raise ConfigError(f"clip frames and hop must be positive, got frames={self.frames}, hop={self.hop}")
        if self.short not in SHORT_POLICIES:
            raise ConfigError(f"short-track policy must be one of {SHORT_POLICIES}, got {self.short!r}")


def n_clips(n_frames: int, frames: int, hop: int) -> int:
    """Number of whole clips in ``n_frames`` frames: ``1 + (n_frames - frames) // hop`` (0 if too short)."""
    return 0 if n_frames < frames else 1 + (n_frames - frames) // hop


def clip_starts(n_frames: int, frames: int, hop: int) -> np.ndarray:
    """First frame of each whole clip, ``np.ndarray [shape=(n_clips,)], int64``."""
    return np.arange(n_clips(n_frames, frames, hop), dtype=np.int64) * hop


def _pad(features: np.ndarray, frames: int, short: str, name: str | None) -> np.ndarray:
    length = features.shape[-1]
    if length >= frames:
        return features
    if short == "reject":
        what = f"{name}: " if name else ""
        raise FeatureError(f"{what}the track has {length} frames, fewer than one clip of {frames}; "
                           "use a longer recording, or the short-track policy 'pad' to pad it")
    fill = features.min() if features.size else 0.0
    return np.pad(features, [(0, 0)] * (features.ndim - 1) + [(0, frames - length)], constant_values=fill)


def clip_frames(features: np.ndarray, frames: int, hop: int, short: str = "pad",
                name: str | None = None) -> np.ndarray:
    """Cut a track's features into clips.

    Parameters
    ----------
    features : np.ndarray [shape=(bands, n_frames)]
    frames : int
        Clip length.
    hop : int
        Clip hop. Frames after the last whole clip are not used.
    short : {"pad", "reject"}
        Policy for ``n_frames < frames``: pad to one clip, or raise.
    name : str, optional
        The track, for the error message.

    Returns
    -------
    np.ndarray [shape=(n_clips, bands, frames)]
        A read-only view into ``features`` where no padding was needed; copy it before writing.

    Raises
    ------
    FeatureError
        If the track is shorter than one clip and ``short == "reject"``.
    """
    if features.ndim != 2:
        raise FeatureError(f"expected features of shape (bands, frames), got {features.shape}")
    if short not in SHORT_POLICIES:
        raise ConfigError(f"short-track policy must be one of {SHORT_POLICIES}, got {short!r}")
    features = _pad(features, frames, short, name)
    windows = np.lib.stride_tricks.sliding_window_view(features, frames, axis=1)[:, ::hop]
    return windows.transpose(1, 0, 2)


def random_clip(features: np.ndarray, frames: int, rng: np.random.Generator, short: str = "pad",
                name: str | None = None) -> np.ndarray:
    """One clip at a uniformly random start (Dong 2018: a fresh random 3 s crop per epoch).

    Returns
    -------
    np.ndarray [shape=(bands, frames)], a view
    """
    features = _pad(features, frames, short, name)
    start = int(rng.integers(0, features.shape[-1] - frames + 1))
    return features[:, start:start + frames]
