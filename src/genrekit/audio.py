"""Decode any audio file to mono float32 at a target sampling rate.

This is the only module that touches audio files. Everything above it (datasets,
features, inference) receives ``np.ndarray [shape=(n,), dtype=float32]`` signals
at a known rate, or an :class:`~genrekit.errors.AudioError` that names the file
and says what was wrong with it.

Decoding is done by libsndfile (through ``soundfile``), which reads WAV, FLAC,
OGG/Vorbis, MP3, Sun/NeXT ``.au`` (GTZAN's original format) and AIFF without any
external program. Resampling is done by soxr (``soxr.resample``, "HQ" quality).

Only regular files are read: a path is checked with ``stat`` before it is opened
(:func:`check_file`), so a named pipe, a socket or a device is refused by name instead of
hanging the reader or touching the device. libsndfile is handed an open descriptor,
never the path, so paths of any length the system allows decode (libsndfile itself
refuses paths of 1024 bytes or more).

Examples
--------
>>> y = load("blues.00000.au")                 # doctest: +SKIP
>>> y.dtype, y.shape                           # doctest: +SKIP
(dtype('float32'), (661794,))
>>> for block in stream("a-long-mix.flac", block_seconds=60):   # doctest: +SKIP
...     ...                                    # 60 s at a time, bounded memory
"""

from __future__ import annotations

import errno
import os
import re
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import soxr

from genrekit.errors import AudioError, os_reason

__all__ = [
    "AudioError",
    "AudioInfo",
    "SUPPORTED_EXTENSIONS",
    "check_file",
    "open_regular",
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


_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _refuse_status(path: Path, status: os.stat_result) -> None:
    """Raise AudioError unless ``status`` is that of a regular file that holds something."""
    if stat.S_ISDIR(status.st_mode):
        raise AudioError(path, "is a folder, not an audio file")
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(status.st_mode)), "an unknown kind of file")
        raise AudioError(path, f"not a regular file ({kind}); genrekit reads audio only from regular files, "
                               "never from pipes, sockets or devices")
    if status.st_size == 0:
        raise AudioError(path, "the file is empty (0 bytes); copy or download it again")


def _stat_error(path: Path, exc: OSError) -> AudioError:
    if exc.errno == errno.ENOENT and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return AudioError(path, f"a broken symbolic link: its target {target} does not exist; "
                                "fix or remove the link")
    return AudioError(path, os_reason(exc))


def check_file(path: str | os.PathLike) -> os.stat_result:
    """Check, without opening it, that a path is a regular, non-empty file (following symbolic links).

    Opening is what hangs on a named pipe with no writer and what has side effects on a
    device, so anything that is not a regular file is refused from its ``stat`` alone.

    Returns
    -------
    os.stat_result
        The file's status.

    Raises
    ------
    AudioError
        Missing (or a broken symbolic link), a symbolic link loop, not permitted, a folder,
        not a regular file (FIFO, socket, character or block device), or empty.
    """
    path = Path(path)
    try:
        status = os.stat(path)
    except OSError as exc:
        raise _stat_error(path, exc) from None
    _refuse_status(path, status)
    return status


def open_regular(path: str | os.PathLike) -> tuple[int, os.stat_result]:
    """A read-only descriptor of a regular file (checked by :func:`check_file` first), and its status.

    ``O_NONBLOCK`` keeps a file swapped for a named pipe after the check from blocking the open,
    and the descriptor's own ``fstat`` catches the swap. The caller closes the descriptor.

    Raises
    ------
    AudioError
        As :func:`check_file`, or the file cannot be opened (permissions).
    """
    path = Path(path)
    check_file(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _stat_error(path, exc) from None
    try:
        status = os.fstat(fd)
        _refuse_status(path, status)  # the file may have been swapped since the check
    except BaseException:
        os.close(fd)
        raise
    return fd, status


def _libsndfile_message(exc: Exception) -> str:
    # soundfile says "Error opening 3: Format not recognised." for descriptor 3
    return str(exc).split(": ", 1)[-1].strip() or type(exc).__name__


def _not_the_files_fault(path: Path, message: str) -> AudioError | None:
    """libsndfile's errors that say nothing about the content (reading failed, memory ran out)."""
    if any(phrase in message.lower() for phrase in ("system error", "malloc", "internal error")):
        return AudioError(path, f"could not be read ({message}); check the drive and the free memory, "
                                "then try again")
    return None


def _open_error(path: Path, exc: Exception) -> AudioError:
    """Why libsndfile could not open a regular file it was handed by descriptor (so it has read its content)."""
    message = _libsndfile_message(exc)
    if any(phrase in message.lower() for phrase in ("not recognised", "unknown format", "not a regular file")):
        return AudioError(path, f"not a recognised audio file ({message}); {_FORMATS_HINT}")
    return _not_the_files_fault(path, message) or AudioError(
        path, f"the file is damaged and cannot be decoded ({message}); replace it")


def _ogg_is_complete(fd: int, size: int) -> bool:
    """True when the file's last Ogg page is whole and carries the end-of-stream flag.

    An Ogg stream cut short decodes without complaint up to the cut, so the length in its
    header cannot reveal it; the missing end-of-stream page (RFC 3533, sec. 6) does.
    """
    start_at = max(0, size - 65536)
    tail = os.pread(fd, size - start_at, start_at)
    start = tail.rfind(b"OggS")
    if start < 0 or len(tail) - start < 27:
        return False
    header_type, n_segments = tail[start + 5], tail[start + 26]
    table_end = start + 27 + n_segments
    if len(tail) < table_end:
        return False
    body = sum(tail[start + 27:table_end])
    return bool(header_type & 0x04) and len(tail) >= table_end + body


def _checked_header(path: Path, handle: sf.SoundFile, fd: int, size: int) -> AudioInfo:
    """The header of an open file, after the checks for no samples and truncation."""
    if handle.frames <= 0 or handle.samplerate <= 0:
        raise AudioError(path, "the file holds no audio samples (zero length); replace it")
    match = _TRUNCATED_HEADER.search(handle.extra_info or "")
    if match:
        declared, present = int(match.group(1)), int(match.group(2))
        if present < declared * (1 - _SHORTFALL_FRACTION):
            raise AudioError(
                path,
                f"the file is truncated: its header declares {declared} bytes of audio "
                f"but only {present} are present; copy or download it again",
            )
    if handle.format == "OGG" and not _ogg_is_complete(fd, size):
        raise AudioError(path, "the file is truncated: its last Ogg page is cut off or missing "
                               "(no end-of-stream mark); copy or download it again")
    return AudioInfo(str(path), int(handle.samplerate), int(handle.channels), int(handle.frames),
                     str(handle.format), str(handle.subtype))


@contextmanager
def _decoder(path: Path) -> Iterator[tuple[sf.SoundFile, AudioInfo]]:
    """An open decoder of a checked regular file, and its checked header.

    libsndfile gets the file's descriptor, never its path: it refuses paths of 1024 bytes or
    more ("Supplied filename too long"), which a few nested folders with non-Latin names reach.
    """
    fd, status = open_regular(path)
    try:
        try:
            handle = sf.SoundFile(fd, closefd=False)
        except (RuntimeError, sf.SoundFileError, ValueError) as exc:
            raise _open_error(path, exc) from None
        with handle:
            yield handle, _checked_header(path, handle, fd, status.st_size)
    finally:
        os.close(fd)


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
        If the file is missing, not a regular file, empty, not audio, has no samples, or
        its header declares more audio than the file holds (a truncated copy).
    """
    with _decoder(Path(path)) as (_, meta):
        return meta


#: Where each channel of a 5.1 file sits: WAV (WAVE_FORMAT_EXTENSIBLE's default mask), FLAC and AIFF put the LFE
#: fourth; Vorbis (its specification, section 4.3.9) puts the centre second and the LFE last.
_SURROUND_ORDER = {"OGG": ("FL", "FC", "FR", "BL", "BR", "LFE")}
_SURROUND_DEFAULT = ("FL", "FR", "FC", "LFE", "BL", "BR")
#: Down-mix gains (ITU-R BS.775): fronts 1, centre and surrounds 1/sqrt(2) (-3 dB), the LFE left out (it holds
#: the effects' low end, not the music's mix; players and Dolby's default down-mix leave it out too).
_DOWNMIX = {"FL": 1.0, "FR": 1.0, "FC": 0.5 ** 0.5, "BL": 0.5 ** 0.5, "BR": 0.5 ** 0.5, "LFE": 0.0}


def to_mono(y: np.ndarray, container: str | None = None) -> np.ndarray:
    """Mix channels down to one.

    Two channels (or any count but six) are averaged. Six channels are 5.1 and are down-mixed as players do
    (ITU-R BS.775: the centre and surrounds at -3 dB, the LFE channel left out), in the channel order of the
    ``container`` (:attr:`AudioInfo.format`: Ogg Vorbis orders them differently from WAV and FLAC).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (n, channels)]
    container : str, optional

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    if y.ndim == 1:
        return y
    if y.shape[1] == 1:
        return y[:, 0]
    if y.shape[1] == 6:
        gains = np.array([_DOWNMIX[c] for c in _SURROUND_ORDER.get(container or "", _SURROUND_DEFAULT)],
                         dtype=np.float32)
        return (y @ (gains / gains.sum())).astype(np.float32)
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


def _partway_error(path: Path, exc: Exception) -> AudioError:
    """A decoder that opened the file and failed while reading samples: its content is bad, unless
    libsndfile says that reading itself failed."""
    message = _libsndfile_message(exc)
    return _not_the_files_fault(path, message) or AudioError(
        path, f"decoding failed partway ({message}); the file is probably truncated or corrupted: replace it")


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
    with _decoder(path) as (handle, meta):
        if not (offset >= 0 and (duration is None or duration > 0)):
            raise AudioError(path, f"invalid range offset={offset} duration={duration}; both must be positive")
        start = int(round(offset * meta.sr))
        if start >= meta.frames:
            raise AudioError(path, f"offset {offset:.2f} s is beyond the end of the file ({meta.duration:.2f} s)")
        wanted = meta.frames - start
        if duration is not None:
            wanted = min(wanted, int(round(duration * meta.sr)))
        try:
            if start:
                handle.seek(start)
            y = handle.read(wanted, dtype="float32", always_2d=True)
        except (RuntimeError, sf.SoundFileError, ValueError) as exc:
            raise _partway_error(path, exc) from None
    if y.shape[0] == 0:
        raise AudioError(path, "the file holds no audio samples (zero length); replace it")
    error = _shortfall_error(path, wanted, y.shape[0], meta.sr)
    if error is not None:
        raise error
    if not np.isfinite(y).all():
        raise AudioError(path, "the file contains NaN or infinite samples; re-export it")
    y = to_mono(y, meta.format) if mono else y
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
    decoded = 0
    with _decoder(path) as (handle, meta):
        if not block_seconds > 0:
            raise AudioError(path, f"block_seconds must be positive, got {block_seconds}")
        block = max(1, int(round(block_seconds * meta.sr)))
        channels = 1 if mono else meta.channels
        resampler = None
        if sr is not None and sr != meta.sr:
            resampler = soxr.ResampleStream(meta.sr, sr, channels, dtype="float32", quality="HQ")
        while True:
            try:
                y = handle.read(block, dtype="float32", always_2d=True)
            except (RuntimeError, sf.SoundFileError, ValueError) as exc:
                raise _partway_error(path, exc) from None
            last = y.shape[0] < block
            decoded += y.shape[0]
            if not np.isfinite(y).all():
                raise AudioError(path, "the file contains NaN or infinite samples; re-export it")
            y = to_mono(y, meta.format) if mono else y
            if resampler is not None:
                y = resampler.resample_chunk(y, last=last)
            if y.shape[0]:
                yield np.ascontiguousarray(y.T if y.ndim == 2 else y, dtype=np.float32)
            if last:
                break
    if decoded == 0:
        raise AudioError(path, "the file holds no audio samples (zero length); replace it")
    error = _shortfall_error(path, meta.frames, decoded, meta.sr)
    if error is not None:
        raise error
