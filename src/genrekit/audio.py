"""Decode any audio file to mono float32 at a target sampling rate.

This is the only module that touches audio files. Everything above it (datasets,
features, inference) receives ``np.ndarray [shape=(n,), dtype=float32]`` signals
at a known rate, or an :class:`~genrekit.errors.AudioError` that names the file
and says what was wrong with it.

Decoding is done by libsndfile (through ``soundfile``), which reads WAV, FLAC,
OGG/Vorbis, MP3, Sun/NeXT ``.au`` (GTZAN's original format) and AIFF without any
external program. Resampling is done by soxr (``soxr.resample``, "HQ" quality).

Examples
--------
>>> y = load("blues.00000.au")                 # doctest: +SKIP
>>> y.dtype, y.shape                           # doctest: +SKIP
(dtype('float32'), (661794,))
>>> for block in stream("a-long-mix.flac", block_seconds=60):   # doctest: +SKIP
...     ...                                    # 60 s at a time, bounded memory
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import soxr

from genrekit.errors import AudioError

__all__ = [
    "AudioError",
    "AudioInfo",
    "SUPPORTED_EXTENSIONS",
    "DEFAULT_SR",
    "info",
    "load",
    "stream",
    "resample",
    "to_mono",
    "is_silent",
]

#: GTZAN's sampling rate (Tzanetakis & Cook 2002), and the rate every paper here works at.
DEFAULT_SR = 22050

#: File extensions genrekit looks for when it walks a folder. Decoding does not depend on the
#: extension (libsndfile reads the header), this list only decides which files are candidates.
SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".au", ".snd", ".aiff", ".aif")

_FORMATS_HINT = (
    "genrekit reads WAV, FLAC, OGG/Vorbis, MP3, AU and AIFF; "
    "convert other formats first, e.g. `ffmpeg -i FILE FILE.wav`"
)
# libsndfile logs a header whose declared data length is longer than the file as
# "data : 88200 (should be 44078)" (WAV) or "Data Size : 88200 (should be 44088)" (AU).
_TRUNCATED_HEADER = re.compile(r"data(?: size)?\s*:\s*(\d+)\s*\(should be (\d+)\)", re.IGNORECASE)
# A decoded stream shorter than the header says by more than this is truncated. Compressed
# formats (MP3) only estimate their length from the header, hence the tolerance.
_SHORTFALL_FRACTION = 0.01
_SHORTFALL_SECONDS = 0.5


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, read without decoding the samples.

    Attributes
    ----------
    path : str
    sr : int
        Native sampling rate in Hz.
    channels : int
    frames : int
        Number of samples per channel (an estimate for MP3).
    format : str
        Container, e.g. ``"WAV"``, ``"AU"``, ``"MP3"``.
    subtype : str
        Sample encoding, e.g. ``"PCM_16"``.
    """

    path: str
    sr: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sr


def _check_file(path: Path) -> None:
    """Raise AudioError for a path that cannot hold audio at all."""
    if not path.exists():
        raise AudioError(path, "file not found; check the path and that the drive is mounted")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "the file is empty (0 bytes); copy or download it again")


def _open_error(path: Path, exc: Exception) -> AudioError:
    message = str(exc).split(": ", 1)[-1].strip() or type(exc).__name__
    # For an existing regular file (checked before), libsndfile's "does not exist or is not a
    # regular file" means that no decoder recognised its content (e.g. text named .mp3).
    unrecognised = ("not recognised", "unknown format", "not a regular file")
    if any(phrase in message.lower() for phrase in unrecognised):
        return AudioError(path, f"not a recognised audio file ({message}); {_FORMATS_HINT}")
    return AudioError(path, f"the file is damaged and cannot be decoded ({message}); replace it")


def _ogg_is_complete(path: Path) -> bool:
    """True when the file's last Ogg page is whole and carries the end-of-stream flag.

    An Ogg stream cut short decodes without complaint up to the cut, so the length in its
    header cannot reveal it; the missing end-of-stream page (RFC 3533, sec. 6) does.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - 65536))
        tail = handle.read()
    start = tail.rfind(b"OggS")
    if start < 0 or len(tail) - start < 27:
        return False
    header_type, n_segments = tail[start + 5], tail[start + 26]
    table_end = start + 27 + n_segments
    if len(tail) < table_end:
        return False
    body = sum(tail[start + 27:table_end])
    return bool(header_type & 0x04) and len(tail) >= table_end + body


def info(path: str | os.PathLike) -> AudioInfo:
    """Read a file's header.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    AudioInfo

    Raises
    ------
    AudioError
        If the file is missing, empty, not audio, has no samples, or its header
        declares more audio than the file holds (a truncated copy).
    """
    path = Path(path)
    _check_file(path)
    try:
        raw = sf.info(str(path))
    except (RuntimeError, sf.SoundFileError, ValueError) as exc:
        raise _open_error(path, exc) from None
    if raw.frames <= 0 or raw.samplerate <= 0:
        raise AudioError(path, "the file holds no audio samples (zero length); replace it")
    match = _TRUNCATED_HEADER.search(raw.extra_info or "")
    if match:
        declared, present = int(match.group(1)), int(match.group(2))
        if present < declared * (1 - _SHORTFALL_FRACTION):
            raise AudioError(
                path,
                f"the file is truncated: its header declares {declared} bytes of audio "
                f"but only {present} are present; copy or download it again",
            )
    if raw.format == "OGG" and not _ogg_is_complete(path):
        raise AudioError(path, "the file is truncated: its last Ogg page is cut off or missing "
                               "(no end-of-stream mark); copy or download it again")
    return AudioInfo(str(path), int(raw.samplerate), int(raw.channels), int(raw.frames),
                     str(raw.format), str(raw.subtype))


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average channels.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (n, channels)]

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    if y.ndim == 1:
        return y
    if y.shape[1] == 1:
        return y[:, 0]
    return y.mean(axis=1, dtype=np.float32)


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample with soxr ("HQ"); a no-op when the rates are equal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (n, channels)]
    orig_sr, target_sr : int

    Returns
    -------
    np.ndarray [shape=(round(n * target_sr / orig_sr),) or (..., channels)], float32
    """
    if orig_sr == target_sr:
        return np.asarray(y, dtype=np.float32)
    return soxr.resample(np.asarray(y, dtype=np.float32), orig_sr, target_sr, quality="HQ")


def is_silent(y: np.ndarray, threshold_db: float = -80.0) -> bool:
    """True when the signal's peak is below ``threshold_db`` dB full scale (or it is empty)."""
    if y.size == 0:
        return True
    peak = float(np.max(np.abs(y)))
    return peak <= 10.0 ** (threshold_db / 20.0)


def _shortfall_error(path: Path, wanted: int, got: int, sr: int) -> AudioError | None:
    missing = wanted - got
    if missing > max(_SHORTFALL_FRACTION * wanted, _SHORTFALL_SECONDS * sr):
        return AudioError(
            path,
            f"the file is truncated or corrupted: expected {wanted / sr:.2f} s of audio "
            f"but only {got / sr:.2f} s could be decoded; copy or download it again",
        )
    return None


def load(
    path: str | os.PathLike,
    sr: int | None = DEFAULT_SR,
    mono: bool = True,
    offset: float = 0.0,
    duration: float | None = None,
) -> np.ndarray:
    """Decode a file (or a part of it) to float32 samples in [-1, 1].

    Parameters
    ----------
    path : str or path-like
        WAV, FLAC, OGG/Vorbis, MP3, AU or AIFF; the format is read from the header.
    sr : int or None
        Target sampling rate in Hz (resampled with soxr). ``None`` keeps the file's
        native rate, which :func:`info` reports.
    mono : bool
        Average the channels. With ``mono=False`` the result has one row per channel.
    offset : float
        Start reading this many seconds into the file (only the needed part is decoded).
    duration : float or None
        Read at most this many seconds.

    Returns
    -------
    np.ndarray [shape=(n,)] if ``mono`` else [shape=(channels, n)], dtype float32

    Raises
    ------
    AudioError
        Missing, empty, zero-length, not audio, truncated or otherwise undecodable
        files; an ``offset`` beyond the end; non-finite samples.

    See Also
    --------
    stream : the same, block by block, for files too long to hold in memory.
    """
    path = Path(path)
    meta = info(path)
    if offset < 0 or (duration is not None and duration <= 0):
        raise AudioError(path, f"invalid range offset={offset} duration={duration}; both must be positive")
    start = int(round(offset * meta.sr))
    if start >= meta.frames:
        raise AudioError(path, f"offset {offset:.2f} s is beyond the end of the file ({meta.duration:.2f} s)")
    wanted = meta.frames - start
    if duration is not None:
        wanted = min(wanted, int(round(duration * meta.sr)))
    try:
        with sf.SoundFile(str(path)) as handle:
            if start:
                handle.seek(start)
            y = handle.read(wanted, dtype="float32", always_2d=True)
    except (RuntimeError, sf.SoundFileError, ValueError) as exc:
        raise AudioError(
            path, f"decoding failed partway ({str(exc).split(': ', 1)[-1]}); "
            "the file is probably truncated or corrupted: replace it"
        ) from None
    if y.shape[0] == 0:
        raise AudioError(path, "the file holds no audio samples (zero length); replace it")
    error = _shortfall_error(path, wanted, y.shape[0], meta.sr)
    if error is not None:
        raise error
    if not np.isfinite(y).all():
        raise AudioError(path, "the file contains NaN or infinite samples; re-export it")
    y = to_mono(y) if mono else y
    if sr is not None:
        y = resample(y, meta.sr, sr)
    return np.ascontiguousarray(y.T if y.ndim == 2 else y, dtype=np.float32)


def stream(
    path: str | os.PathLike,
    sr: int | None = DEFAULT_SR,
    block_seconds: float = 30.0,
    mono: bool = True,
) -> Iterator[np.ndarray]:
    """Decode a file block by block, resampling as it goes, in bounded memory.

    Blocks are contiguous: concatenated they equal ``load(path, sr, mono)`` up to the
    resampler's edge handling (soxr's streaming mode, so no seams at block borders).

    Parameters
    ----------
    path : str or path-like
    sr : int or None
        Target rate; ``None`` keeps the native rate.
    block_seconds : float
        Length of each block read from the file (output blocks are this long at the
        target rate, except the last).
    mono : bool

    Yields
    ------
    np.ndarray [shape=(n,)] or [shape=(channels, n)], float32

    Raises
    ------
    AudioError
        As :func:`load`; a file that breaks partway raises after the blocks before it.
    """
    path = Path(path)
    meta = info(path)
    if block_seconds <= 0:
        raise AudioError(path, f"block_seconds must be positive, got {block_seconds}")
    block = max(1, int(round(block_seconds * meta.sr)))
    channels = 1 if mono else meta.channels
    resampler = None
    if sr is not None and sr != meta.sr:
        resampler = soxr.ResampleStream(meta.sr, sr, channels, dtype="float32", quality="HQ")
    decoded = 0
    try:
        with sf.SoundFile(str(path)) as handle:
            while True:
                y = handle.read(block, dtype="float32", always_2d=True)
                last = y.shape[0] < block
                decoded += y.shape[0]
                if not np.isfinite(y).all():
                    raise AudioError(path, "the file contains NaN or infinite samples; re-export it")
                y = to_mono(y) if mono else y
                if resampler is not None:
                    y = resampler.resample_chunk(y, last=last)
                if y.shape[0]:
                    yield np.ascontiguousarray(y.T if y.ndim == 2 else y, dtype=np.float32)
                if last:
                    break
    except (RuntimeError, sf.SoundFileError, ValueError) as exc:
        raise AudioError(
            path, f"decoding failed partway ({str(exc).split(': ', 1)[-1]}); "
            "the file is probably truncated or corrupted: replace it"
        ) from None
    if decoded == 0:
        raise AudioError(path, "the file holds no audio samples (zero length); replace it")
    error = _shortfall_error(path, meta.frames, decoded, meta.sr)
    if error is not None:
        raise error
