"""A file of any length as a sequence of fixed-length feature windows, in bounded memory.

The networks here were trained on 30 s GTZAN excerpts, each featurised on its own (for
the ``coarse_mel`` representation even the dB scale is relative to the excerpt). A
recording of any length is therefore read in blocks of ``window_seconds`` and each block
is featurised like one excerpt: an hour-long file never holds more than two blocks of
audio in memory. The last block, when shorter than half a window, joins the window before
it (so a 30.01 s GTZAN excerpt is one window, exactly as in training, and every window is
long enough to classify).

Used by :mod:`genrekit.inference` (also in worker processes, so this module imports no
torch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from genrekit import audio
from genrekit.errors import FeatureError, reason
from genrekit.features.extraction import SILENCE_DB
from genrekit.features.specs import FeatureSpec, get

__all__ = ["Window", "DEFAULT_WINDOW_SECONDS", "SILENCE_DB", "windows", "file_windows", "read_windows"]

#: Length of the excerpts the bundled model was trained on (GTZAN: 30 s).
DEFAULT_WINDOW_SECONDS = 30.0


@dataclass
class Window:
    """One window of a recording.

    Attributes
    ----------
    start : float
        Seconds from the start of the file.
    seconds : float
        Audio seconds in the window.
    features : np.ndarray [shape=(bands, frames)], float32
    """

    start: float
    seconds: float
    features: np.ndarray


def windows(y: np.ndarray, sr: int, spec: FeatureSpec | str,
            window_seconds: float = DEFAULT_WINDOW_SECONDS) -> Iterator[Window]:
    """Feature windows of a signal already in memory (``y`` at ``spec.sr``; see :func:`file_windows`)."""
    spec = get(spec)
    if sr != spec.sr:
        y = audio.resample(np.asarray(y, dtype=np.float32), sr, spec.sr)
    size = int(round(window_seconds * spec.sr))
    return _cut(iter([y[i:i + size] for i in range(0, max(1, y.shape[0]), size)]), spec, size, "array")


def file_windows(path: str | os.PathLike, spec: FeatureSpec | str,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS) -> Iterator[Window]:
    """Decode ``path`` block by block and yield its feature windows.

    Raises
    ------
    AudioError
        The file cannot be decoded (raised when the damage is reached).
    FeatureError
        The file is silent, or too short for ``spec`` (:meth:`FeatureSpec.check_length`: under half
        a clip, or under one clip with the ``"reject"`` policy; raised at the end).
    """
    spec = get(spec)
    size = int(round(window_seconds * spec.sr))
    return _cut(audio.stream(path, sr=spec.sr, block_seconds=window_seconds), spec, size, str(path))


def read_windows(path: str | os.PathLike, spec: FeatureSpec | str,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS) -> list[Window] | str:
    """All windows of a file as a list, or the reason it failed (what a worker process sends back)."""
    try:
        return list(file_windows(path, spec, window_seconds))
    except Exception as exc:  # an exotic file must not stop a batch
        return reason(exc, path)


def _blocks_of(blocks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Re-cut a stream of blocks of any lengths into blocks of exactly ``size`` (the last shorter)."""
    pending: list[np.ndarray] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += block.shape[0]
        while held >= size:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield joined[:size]
            rest = joined[size:]
            pending, held = ([rest] if rest.shape[0] else []), rest.shape[0]
    if held:
        yield np.concatenate(pending) if len(pending) > 1 else pending[0]


def _cut(blocks: Iterator[np.ndarray], spec: FeatureSpec, size: int, name: str) -> Iterator[Window]:
    loud, start, pending = False, 0, None

    def window(samples: np.ndarray) -> Window:
        spec.check_length(spec.n_frames(samples.shape[0]), name, samples.shape[0] / spec.sr)  # as extraction
        return Window(start / spec.sr, samples.shape[0] / spec.sr, spec.compute(samples))

    for block in _blocks_of(blocks, size):
        loud = loud or not audio.is_silent(block, SILENCE_DB)
        if pending is not None:
            if block.shape[0] < size // 2:
                # Only the last block can be short: a tail under half a window joins the window before
                # it (a GTZAN excerpt of 30.01 s is one window, featurised exactly as one excerpt).
                pending = np.concatenate([pending, block])
                continue
            yield window(pending)
            start += pending.shape[0]
        pending = block
    if pending is None:
        raise FeatureError(f"{name}: empty: no audio samples; check the file")
    if not loud:
        raise FeatureError(f"{name}: silent (peak below {SILENCE_DB:.0f} dBFS): there is nothing to classify; "
                           "check that the file is the recording you meant")
    yield window(pending)
