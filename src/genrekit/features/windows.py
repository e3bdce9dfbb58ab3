"""A file of any length as a sequence of fixed-length feature windows, in bounded memory.

The networks here were trained on 30 s GTZAN excerpts, each featurised on its own (for
the ``coarse_mel`` representation even the dB scale is relative to the excerpt). A
recording of any length is therefore read in blocks of ``window_seconds`` and each block
is featurised like one excerpt: an hour-long file never holds more than two blocks of
audio in memory. The last block, when shorter than half a window, joins the window before
it (so a 30.01 s GTZAN excerpt is one window, exactly as in training, and every window is
long enough to classify).

Windows are cut from the music, not from the file: the signal is read through
:class:`genrekit.trim.Trimmed` (DC offset removed, silence before and after the music dropped), so
the first window starts where the music does, and a song with two seconds of silence before it
is cut into the same windows as without (:attr:`Window.start` stays the time in the file).

Used by :mod:`genrekit.inference` (also in worker processes, so this module imports no
torch).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from genrekit import audio
from genrekit.errors import FeatureError, reason
from genrekit.features.extraction import SILENCE_DB
from genrekit.features.specs import FeatureSpec, get
from genrekit.trim import LONGEST_PAUSE_SECONDS, Trimmed

__all__ = ["Window", "DEFAULT_WINDOW_SECONDS", "PHASED_SECONDS", "MAX_PHASES", "SILENCE_DB", "windows", "file_windows",
           "read_windows", "phases_for"]

#: Length of the excerpts the bundled model was trained on (GTZAN: 30 s).
DEFAULT_WINDOW_SECONDS = 30.0
#: A recording with less music than this is read at several phases of a coarse spec's column grid
#: (``CoarseMelSpec.phase``), ``ceil(PHASED_SECONDS / seconds)`` of them, at most :data:`MAX_PHASES`, and its
#: clips of all phases are combined: one 77.5 ms column catches a drum hit or misses it depending on where the
#: music starts, which moved a 30 s excerpt's probabilities by up to 0.25 when it started 23 ms later; a longer
#: recording averages over enough columns at one phase.
PHASED_SECONDS = 120.0
MAX_PHASES = 4


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
    y = np.asarray(y, dtype=np.float32)
    if sr != spec.sr:
        y = audio.resample(y, sr, spec.sr)
    size = int(round(window_seconds * spec.sr))
    return _cut(iter([y[i:i + size] for i in range(0, y.shape[0], size)]), spec, size, "array")


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
    seconds = audio.info(path).duration if hasattr(spec, "phase") else None
    return _cut(audio.stream(path, sr=spec.sr, block_seconds=window_seconds), spec, size, str(path), seconds)


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


def phases_for(spec: FeatureSpec, seconds: float) -> int:
    """How many column phases a recording of ``seconds`` of music is read at: enough for
    :data:`PHASED_SECONDS` of music in all, at most :data:`MAX_PHASES`; 1 for a spec without phases."""
    if not hasattr(spec, "phase"):
        return 1
    return int(min(MAX_PHASES, max(1, math.ceil(PHASED_SECONDS / max(seconds, 1e-9) - 1e-9))))


def _audio_windows(music: Iterable[np.ndarray], size: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, samples)`` of each window of ``size`` samples; a last one under half a window joins the one
    before it (a GTZAN excerpt of 30.01 s is one window, featurised exactly as one excerpt)."""
    start, pending = 0, None
    for block in _blocks_of(iter(music), size):
        if pending is not None:
            if block.shape[0] < size // 2:  # only the last block can be short
                pending = np.concatenate([pending, block])
                continue
            yield start, pending
            start += pending.shape[0]
        pending = block
    if pending is not None:
        yield start, pending


def _cut(blocks: Iterator[np.ndarray], spec: FeatureSpec, size: int, name: str,
         seconds: float | None = None) -> Iterator[Window]:
    """Windows of the music in ``blocks``; ``seconds``: the recording's length from its header, when known (a
    recording a minute longer than :data:`PHASED_SECONDS` is read at one phase without waiting for its end)."""
    music = Trimmed(blocks, spec.sr, remove_dc=spec.removes_dc)
    loud, held, held_samples = False, [], 0
    phases = 1 if seconds is not None and seconds >= PHASED_SECONDS + LONGEST_PAUSE_SECONDS else None

    def featurised(start: int, samples: np.ndarray, phases: int) -> Iterator[Window]:
        spec.check_length(spec.n_frames(samples.shape[0]), name, samples.shape[0] / spec.sr)  # as extraction
        computed = spec.compute_phases(samples, phases) if phases > 1 else [spec.compute(samples)]
        for values in computed:
            yield Window((music.lead + start) / spec.sr, samples.shape[0] / spec.sr, values)

    found = 0
    for start, samples in _audio_windows(music, size):
        found += 1
        loud = loud or not audio.is_silent(samples, SILENCE_DB)
        if phases is not None:
            yield from featurised(start, samples, phases)
            continue
        # Until the music is known to be PHASED_SECONDS long, its windows wait: a shorter recording is read at
        # several phases, which depends on its length (at most PHASED_SECONDS of audio held, and only for
        # recordings under PHASED_SECONDS + LONGEST_PAUSE_SECONDS).
        held.append((start, samples))
        held_samples += samples.shape[0]
        if held_samples >= PHASED_SECONDS * spec.sr:
            phases = 1
            for window in held:
                yield from featurised(*window, phases)
            held = []
    if not found:
        raise FeatureError(f"{name}: empty: no audio samples; check the file")
    if not loud:
        raise FeatureError(f"{name}: silent (peak below {SILENCE_DB:.0f} dBFS): there is nothing to classify; "
                           "check that the file is the recording you meant")
    if phases is None:
        phases = phases_for(spec, held_samples / spec.sr)
        for window in held:
            yield from featurised(*window, phases)
