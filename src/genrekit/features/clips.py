"""Cutting frame-level features into fixed-length clips.

Every paper here classifies short clips and aggregates them to a track decision:
128 frames (about 3 s) for Yang & Zhang and Senac, 256 frames (3 s) for Dong. A clip
never spans two tracks; tracks shorter than one clip follow an explicit policy, and
tracks shorter than half a clip are refused under every policy (:func:`check_length`,
the one rule that extraction, ``genrekit predict``, ``tag`` and ``serve`` share).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genrekit.errors import ConfigError, FeatureError

__all__ = ["ClipSpec", "SHORT_POLICIES", "MIN_CLIP_FRACTION", "min_frames", "check_length", "n_clips",
           "clip_starts", "clip_frames", "random_clip"]

#: What to do with a track shorter than one clip: pad it to one clip, or reject it.
SHORT_POLICIES = ("pad", "reject")
#: The shortest track accepted under any policy, as a fraction of one clip: padding a shorter one
#: would make a clip mostly of padding, which no model here was trained on (GTZAN's tracks are
#: 30 s, ten clips and more).
MIN_CLIP_FRACTION = 0.5


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


def min_frames(frames: int, short: str = "pad") -> int:
    """The fewest frames a track may have for clips of ``frames`` frames: one clip under
    ``"reject"``, :data:`MIN_CLIP_FRACTION` of one under ``"pad"``."""
    return frames if short == "reject" else max(1, math.ceil(MIN_CLIP_FRACTION * frames))


def _length(n_frames: int, hop_seconds: float | None) -> str:
    if hop_seconds is None or not math.isfinite(hop_seconds):
        return f"{n_frames} frames"
    return f"{n_frames * hop_seconds:.2f} s"


def check_length(n_frames: int, frames: int, short: str = "pad", name: str | None = None,
                 hop_seconds: float | None = None, seconds: float | None = None) -> None:
    """Refuse a track too short to be cut into clips of ``frames`` frames.

    The one rule for short input, whatever reads it (extraction, prediction of files, arrays and
    uploads): a track shorter than half a clip (:data:`MIN_CLIP_FRACTION`) is always refused; one of
    half a clip or more but shorter than one clip is padded to one clip under ``"pad"`` and refused
    under ``"reject"``.

    Parameters
    ----------
    n_frames : int
        The track's length in frames.
    frames : int
        Clip length in frames.
    short : {"pad", "reject"}
    name : str, optional
        The track, for the message.
    hop_seconds : float, optional
        Seconds per frame, to give the lengths in seconds.
    seconds : float, optional
        The track's audio length, for the message (else estimated from the frames).

    Raises
    ------
    FeatureError
    """
    least = min_frames(frames, short)
    if n_frames >= least:
        return
    what = f"{name}: " if name else ""
    has = f"{seconds:.2f} s of audio" if seconds is not None else _length(n_frames, hop_seconds)
    if short == "reject":
        raise FeatureError(f"{what}too short: {has}, fewer than one clip of {_length(frames, hop_seconds)}; "
                           "use a longer recording, or the short-track policy 'pad' to pad it")
    raise FeatureError(f"{what}too short: {has}; genrekit needs at least {_length(least, hop_seconds)} "
                       f"(half a clip) to classify a recording; use a longer one")


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
    check_length(length, frames, short, name)
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
        Policy for ``n_frames < frames``: pad to one clip, or raise (see :func:`check_length`).
    name : str, optional
        The track, for the error message.

    Returns
    -------
    np.ndarray [shape=(n_clips, bands, frames)]
        A read-only view into ``features`` where no padding was needed; copy it before writing.

    Raises
    ------
    FeatureError
        If the track is shorter than half a clip, or than one clip and ``short == "reject"``.
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
