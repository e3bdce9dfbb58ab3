"""Spectrograms as small pure functions over arrays.

Numerically these follow librosa (``librosa.stft(center=True, pad_mode="constant")``,
``librosa.filters.mel`` with Slaney scale and area normalisation, ``librosa.power_to_db``)
so that genrekit's features equal what the papers computed with librosa, to float32
rounding; ``tests/test_spectral.py`` checks it. They are written for speed: float32
throughout, one real FFT over a strided frame view (``scipy.fft.rfft``), and the mel
projection as one matrix product restricted to the FFT bins the filters touch.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.sparse

from genrekit.errors import FeatureError

__all__ = [
    "frames",
    "n_frames",
    "window",
    "power_spectrogram",
    "hz_to_mel",
    "mel_to_hz",
    "mel_filterbank",
    "mel_spectrogram",
    "mel_project",
    "power_to_db",
    "DbScale",
    "minmax",
]


def n_frames(n_samples: int, hop_length: int, center: bool = True, n_fft: int = 0) -> int:
    """Number of STFT frames for a signal of ``n_samples`` (librosa's convention).

    With ``center=True`` it is ``1 + n_samples // hop_length``; otherwise
    ``1 + (n_samples - n_fft) // hop_length`` (0 when the signal is shorter than a frame).
    """
    if center:
        return 1 + n_samples // hop_length
    return max(0, 1 + (n_samples - n_fft) // hop_length)


def frames(y: np.ndarray, frame_length: int, hop_length: int, center: bool = True) -> np.ndarray:
    """Overlapping frames of a signal, as a read-only strided view.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    frame_length, hop_length : int
    center : bool
        Pad ``frame_length // 2`` zeros at both ends so frame ``t`` is centred on
        sample ``t * hop_length`` (librosa's ``center=True, pad_mode="constant"``).

    Returns
    -------
    np.ndarray [shape=(n_frames, frame_length)]
    """
    if y.ndim != 1:
        raise FeatureError(f"expected a mono signal of shape (n,), got shape {y.shape}")
    if center:
        pad = frame_length // 2
        y = np.pad(y, (pad, pad))
    if y.shape[0] < frame_length:
        raise FeatureError(f"signal of {y.shape[0]} samples is shorter than one frame of {frame_length}")
    view = np.lib.stride_tricks.sliding_window_view(y, frame_length)
    return view[::hop_length]


_COSINE_WINDOWS = {"hann": 0.5, "hamming": 0.54}


@lru_cache(maxsize=32)
def window(name: str, length: int, n_fft: int) -> np.ndarray:
    """A periodic ("fftbins") analysis window, zero-padded to ``n_fft`` and centred, float32."""
    if name in _COSINE_WINDOWS:
        # Closed forms of scipy's periodic hann / hamming, so workers need not import scipy.signal.
        a0 = _COSINE_WINDOWS[name]
        w = (a0 - (1.0 - a0) * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)
    else:
        import scipy.signal

        w = scipy.signal.get_window(name, length, fftbins=True).astype(np.float32)
    if length < n_fft:
        left = (n_fft - length) // 2
        w = np.pad(w, (left, n_fft - length - left))
    w.setflags(write=False)
    return w


def power_spectrogram(y: np.ndarray, n_fft: int, hop_length: int, win_length: int | None = None,
                      window_name: str = "hann", center: bool = True) -> np.ndarray:
    """|STFT|^2, time-major.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float32
    n_fft, hop_length : int
    win_length : int, optional
        Defaults to ``n_fft``.
    window_name : str
        Any ``scipy.signal.get_window`` name, e.g. ``"hann"``, ``"hamming"``.
    center : bool

    Returns
    -------
    np.ndarray [shape=(n_frames, 1 + n_fft // 2)], float32
        Note the layout: one row per frame (transpose for librosa's ``(bins, frames)``).
    """
    y = np.asarray(y, dtype=np.float32)
    framed = frames(y, n_fft, hop_length, center)
    spectrum = scipy.fft.rfft(framed * window(window_name, win_length or n_fft, n_fft), axis=-1)
    power = np.empty(spectrum.shape, dtype=np.float32)
    np.square(spectrum.real, out=power)
    power += np.square(spectrum.imag)
    return power


def hz_to_mel(frequencies: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale (Auditory Toolbox; librosa's default): linear below 1 kHz, logarithmic above."""
    f = np.asarray(frequencies, dtype=np.float64)
    mels = f / _F_SP
    log_region = f >= _MIN_LOG_HZ
    return np.where(log_region, _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mels)


def mel_to_hz(mels: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(mels, dtype=np.float64)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


# Slaney mel scale constants: 200/3 Hz per mel below 1 kHz, then 27 mels per factor 6.4.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> tuple[np.ndarray, int, int]:
    """Slaney-scale, area-normalised triangular mel filters.

    The same filters as ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin,
    fmax=fmax)`` (its defaults: ``htk=False, norm="slaney"``); written out here so that worker
    processes need not import librosa.

    Returns
    -------
    weights : np.ndarray [shape=(n_used_bins, n_mels)], float32
        Transposed and cut to the FFT bins that any filter touches.
    first, last : int
        The slice of FFT bins ``[first, last)`` that ``weights`` covers.
    """
    return _mel_filterbank(sr, n_fft, n_mels, fmin, fmax)[:3]


@lru_cache(maxsize=32)
def _mel_filterbank(sr, n_fft, n_mels, fmin, fmax):
    fmax = sr / 2.0 if fmax is None else float(fmax)
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    full = np.maximum(0.0, np.minimum(rising, falling))
    full *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # area normalisation (Slaney)
    full = full.astype(np.float32)
    used = np.flatnonzero(full.any(axis=0))
    first, last = (int(used[0]), int(used[-1]) + 1) if used.size else (0, full.shape[1])
    weights = np.ascontiguousarray(full[:, first:last].T)
    weights.setflags(write=False)
    # Each filter spans a few bins: about 2 non-zeros per FFT bin whatever n_mels is, so the
    # projection is several times faster as a sparse product than as a dense one.
    sparse = scipy.sparse.csc_matrix(weights)
    return weights, first, last, sparse


def mel_spectrogram(y: np.ndarray, sr: int, n_fft: int, hop_length: int, n_mels: int,
                    fmin: float = 0.0, fmax: float | None = None, win_length: int | None = None,
                    window_name: str = "hann", center: bool = True) -> np.ndarray:
    """Mel power spectrogram.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr, n_fft, hop_length, n_mels : int
    fmin, fmax : float
        Filterbank range in Hz; ``fmax=None`` is ``sr / 2``.
    win_length, window_name, center
        As :func:`power_spectrogram`.

    Returns
    -------
    np.ndarray [shape=(n_mels, n_frames)], float32
    """
    power = power_spectrogram(y, n_fft, hop_length, win_length, window_name, center)
    return np.ascontiguousarray(mel_project(power, sr, n_fft, n_mels, fmin, fmax).T)


def mel_project(power: np.ndarray, sr: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                fmax: float | None = None) -> np.ndarray:
    """Mel bands of power spectra, time-major as :func:`power_spectrogram` gives them.

    Parameters
    ----------
    power : np.ndarray [shape=(n_frames, 1 + n_fft // 2)]

    Returns
    -------
    np.ndarray [shape=(n_frames, n_mels)], float32
    """
    _, first, last, sparse = _mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    return np.asarray(power[:, first:last] @ sparse, dtype=np.float32)


def power_to_db(S: np.ndarray, amin: float = 1e-10, top_db: float | None = 80.0,
                ref: str | float = "max") -> np.ndarray:
    """``10 log10(S / ref)``, floored ``top_db`` below the maximum (``librosa.power_to_db``).

    Parameters
    ----------
    S : np.ndarray, non-negative power values
    amin : float
        Values below it are clipped before the logarithm.
    top_db : float or None
        Dynamic range kept below the peak; ``None`` keeps everything.
    ref : "max" or float
        ``"max"`` makes the loudest cell 0 dB.

    Returns
    -------
    np.ndarray, same shape, float32

    See Also
    --------
    DbScale : the same, for a spectrogram that arrives in pieces.
    """
    S = np.asarray(S, dtype=np.float32)
    scale = DbScale(top_db, amin, None if ref == "max" else float(ref))
    return scale.finish(scale.observe(S))


class DbScale:
    """:func:`power_to_db` for a spectrogram that arrives in pieces, with the same values.

    :meth:`observe` turns each piece into ``10 log10(max(S, amin))`` and remembers the
    extremes; once every piece has been seen, :meth:`finish` makes each of them relative to
    the loudest cell and floors it ``top_db`` below the peak, exactly as the one-call
    function would have (the same float32 operations, element by element).

    Parameters
    ----------
    top_db : float or None
    amin : float
    ref : float or None
        A fixed reference power; ``None``: the loudest cell seen.
    """

    def __init__(self, top_db: float | None = 80.0, amin: float = 1e-10, ref: float | None = None):
        self.top_db, self.amin, self.ref = top_db, amin, ref
        self.peak = 0.0  # the loudest power seen
        self.high = self.low = None  # the extremes of observe()'s values (float32)

    def observe(self, S: np.ndarray) -> np.ndarray:
        """``10 log10(max(S, amin))`` of one piece (float32, same shape)."""
        S = np.asarray(S, dtype=np.float32)
        db = 10.0 * np.log10(np.maximum(S, np.float32(self.amin)))
        if S.size:
            self.peak = max(self.peak, float(S.max()))
            high, low = db.max(), db.min()
            self.high = high if self.high is None else max(self.high, high)
            self.low = low if self.low is None else min(self.low, low)
        return db

    @property
    def reference(self) -> np.float32:
        """The dB value that becomes 0."""
        reference = self.peak if self.ref is None else self.ref
        return np.float32(10.0 * np.log10(max(reference, self.amin)))

    @property
    def floor(self) -> np.float32 | None:
        """The lowest value :meth:`finish` returns (``None`` without ``top_db``)."""
        if self.top_db is None:
            return None
        return (self.high - self.reference) - np.float32(self.top_db)

    def bounds(self) -> tuple[float, float]:
        """The minimum and maximum of every value :meth:`finish` returns."""
        high, low = float(self.high - self.reference), float(self.low - self.reference)
        floor = self.floor
        return (low if floor is None else max(low, float(floor))), high

    def finish(self, db: np.ndarray) -> np.ndarray:
        """Make a piece :meth:`observe` returned relative to the reference and floor it (in place)."""
        db -= self.reference
        if self.top_db is not None:
            np.maximum(db, self.floor, out=db)
        return db


def minmax(S: np.ndarray, bounds: tuple[float, float] | None = None) -> np.ndarray:
    """Scale to [0, 1] by the array's own minimum and maximum (a constant array gives zeros).

    ``bounds``: the ``(minimum, maximum)`` to scale by instead, e.g. those of a whole track
    when ``S`` is one piece of it (:meth:`DbScale.bounds`).
    """
    S = np.asarray(S, dtype=np.float32)
    low, high = bounds if bounds is not None else (float(S.min()), float(S.max()))
    if high <= low:
        return np.zeros_like(S)
    return (S - np.float32(low)) * np.float32(1.0 / (high - low))
