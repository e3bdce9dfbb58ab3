"""The eight music features of Senac et al. 2017 (sec. 2.2) and their 128 x 8 feature map.

C. Senac, T. Pellegrini, F. Mouret, J. Pinquier, "Music Feature Maps with Convolutional Neural
Networks for Music Genre Classification", CBMI 2017, sec. 2.2: eight features along three
dimensions, extracted with MIRtoolbox on 46.44 ms windows (1024 samples at 22,050 Hz) with
50 % overlap, except key clarity (6 s windows, 50 % overlap, each value repeated over the
frames it covers):

==============  =====================================================  ==========================
row             definition (per frame)                                 MIRtoolbox function
==============  =====================================================  ==========================
``energy``      RMS of the frame's samples                             ``mirrms``
``zcr``         sign changes per sample (both directions)              ``mirzerocross('Per',
                                                                       'Sample','Dir','Both')``
``brightness``  share of the magnitude spectrum above 1,500 Hz         ``mirbrightness``
``flatness``    geometric / arithmetic mean of the magnitude spectrum  ``mirflatness``
``entropy``     Shannon entropy of the magnitude spectrum normalised   ``mirentropy``
                to sum 1, divided by ``log(n_bins)``
``roughness``   Sethares / Plomp-Levelt dissonance summed over all     ``mirroughness``
                pairs of spectral peaks, weighted by the product of    (default ``'Sethares'``)
                their amplitudes
``key_clarity`` the highest of the 24 key strengths (correlations of   ``mirkey`` / ``mirkeystrength``
                the chromagram with Krumhansl-Kessler key profiles)
``hcdf``        distance between the tonal centroids (Harte,           ``mirhcdf`` /
                Sandler & Gasser 2006) around the frame                ``mirtonalcentroid``
==============  =====================================================  ==========================

The MIRtoolbox definitions are followed as read in its source (``olivierlar/mirtoolbox``):
what each function does, with its defaults, and where genrekit departs from it and why, is in
``docs/music_features.md``. In short:

- the spectral features use MIRtoolbox's *magnitude* spectrum (``mirspectrum``'s default; the
  paper's text says "power spectrum" for flatness); frames too quiet for a spectral shape
  (``MinRMS``: RMS below 1 % of the track's loudest frame for flatness, 0.5 % for entropy and
  brightness) are set to 0 where MIRtoolbox sets NaN, so the map stays finite;
- brightness uses MIRtoolbox's 1,500 Hz cut-off: the paper's 15 kHz is above the 11,025 Hz
  Nyquist frequency of 22,050 Hz audio, where brightness would be 0 for every frame;
- roughness and the chromagram (key clarity, HCDF) need finer frequency resolution than a
  46 ms window gives (21.5 Hz bins cannot separate two partials 20 Hz apart, nor semitones below
  about 400 Hz), so they are computed from 4096-sample (186 ms) Hamming windows centred on the
  same frame instants. MIRtoolbox itself zero-pads the chromagram's frames to about that length
  (``'MinRes'``), which interpolates the spectrum without resolving it;
- MIRtoolbox loads Gomez's key profiles (``gomezprofs.mat``); the paper and the issue name
  Krumhansl-Kessler's, which are used here;
- HCDF follows Harte et al.: L1-normalised chroma, 6-D tonal centroid, Gaussian smoothing in
  time, ``||zeta(n+1) - zeta(n-1)||`` (``mirhcdf`` takes the flux between successive frames
  of the unsmoothed centroid).

Everything is vectorised over a segment of 2048 frames (47.5 s; a 30 s excerpt is one segment):
one 1024-point and one 4096-point STFT (:func:`genrekit.features.spectral.power_spectrogram`),
the roughness peak picking and the pair sums as array operations over all its frames at once (a
loop over pair *offsets*, never over frames). A longer recording is analysed a segment at a time
(:meth:`MusicFeatureMap.stream`), in about 100 MB whatever its length, with the same values: the
quantities of the whole track that finish a frame (the loudest frame's RMS for ``MinRMS``, the
key windows, the smoothing of the tonal centroid) come from small per-frame arrays, and roughness,
whose peaks are picked relative to the whole spectrogram's maximum, is computed on a second pass
over the audio once that maximum is known.

>>> from genrekit.features import music
>>> values = music.compute(y)                                  # doctest: +SKIP
>>> values["key_clarity"].shape == values["energy"].shape      # doctest: +SKIP
True
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from genrekit.audio import DEFAULT_SR
from genrekit.errors import ConfigError, FeatureError
from genrekit.features import spectral
from genrekit.features.clips import ClipSpec
from genrekit.features.specs import FeatureSpec, _Framed, register
from genrekit.features.streaming import two_passes

__all__ = [
    "FEATURES",
    "RANGES",
    "KEY_NAMES",
    "MAJOR_PROFILE",
    "MINOR_PROFILE",
    "MusicFeatureMap",
    "compute",
    "energy",
    "zero_crossing_rate",
    "brightness",
    "flatness",
    "entropy",
    "roughness",
    "plomp_levelt",
    "spectral_peaks",
    "chroma_from_power",
    "chromagram",
    "key_strength",
    "key_strengths",
    "best_key",
    "tonal_centroid",
    "hcdf",
]

#: Row order of the feature map (Senac et al. 2017, sec. 2.2).
FEATURES = ("energy", "zcr", "brightness", "flatness", "entropy", "roughness", "key_clarity", "hcdf")

#: The range each feature's values lie in (``None``: unbounded). Energy is at most 1 for audio
#: in [-1, 1]; roughness is a sum of amplitude products, bounded by half the square of the
#: frame's summed peak amplitudes; key clarity is a correlation; HCDF is a distance between
#: two points of the tonal-centroid polytope, whose points have norm at most 1.5.
RANGES: dict[str, tuple[float, float | None]] = {
    "energy": (0.0, 1.0),
    "zcr": (0.0, 1.0),
    "brightness": (0.0, 1.0),
    "flatness": (0.0, 1.0),
    "entropy": (0.0, 1.0),
    "roughness": (0.0, None),
    "key_clarity": (-1.0, 1.0),
    "hcdf": (0.0, 3.0),
}

_PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: The 24 keys in :func:`key_strength`'s order: the 12 major keys from C, then the 12 minor keys.
KEY_NAMES = tuple(f"{p} major" for p in _PITCHES) + tuple(f"{p} minor" for p in _PITCHES)

#: Krumhansl & Kessler's (1982) probe-tone ratings of the 12 pitch classes (C first) in C major
#: and C minor (Krumhansl, "Cognitive Foundations of Musical Pitch", 1990).
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_PROFILE.setflags(write=False)
MINOR_PROFILE.setflags(write=False)

# Plomp-Levelt dissonance curve as parameterised by Sethares ("Tuning, Timbre, Spectrum, Scale",
# appendix E), the constants of mirroughness.m's plomp().
_B1, _B2, _XSTAR, _S1, _S2 = 3.51, 5.75, 0.24, 0.0207, 18.96
# Pairs with s * |f2 - f1| beyond this contribute less than 5e-6 of the curve's maximum (about
# 0.18) each, together about 1e-6 of a frame's roughness (measured on GTZAN): the pair sums stop
# there.
_X_MAX = 4.0

# 6 x 12 tonal-centroid projection (Harte, Sandler & Gasser 2006, eq. 2; mirtonalcentroid.m):
# circles of fifths (r = 1), minor thirds (r = 1) and major thirds (r = 0.5).
_L = np.arange(12)
_PHI = np.stack([np.sin(_L * 7 * np.pi / 6), np.cos(_L * 7 * np.pi / 6),
                 np.sin(_L * 3 * np.pi / 2), np.cos(_L * 3 * np.pi / 2),
                 0.5 * np.sin(_L * 2 * np.pi / 3), 0.5 * np.cos(_L * 2 * np.pi / 3)]).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Frame-level features from the 46 ms frames
# ------------------------------------------------------------------------------------------------
def energy(framed: np.ndarray) -> np.ndarray:
    """Short-term energy: the RMS of each frame (``mirrms``: ``sqrt(x'x / n)``).

    Parameters
    ----------
    framed : np.ndarray [shape=(n_frames, frame_length)]
        Unwindowed frames (:func:`genrekit.features.spectral.frames`).

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32, in [0, 1] for audio in [-1, 1]
    """
    squares = np.einsum("ij,ij->i", framed, framed, dtype=np.float64)
    return np.sqrt(squares / framed.shape[1]).astype(np.float32)


def zero_crossing_rate(framed: np.ndarray) -> np.ndarray:
    """Zero crossings per sample: ``mirzerocross(..., 'Per', 'Sample', 'Dir', 'Both')``.

    A crossing is a pair of consecutive samples whose product is negative (a sample at exactly
    zero is not a crossing), counted in both directions and divided by the frame length, so a
    sine of ``f`` Hz gives ``2 f / sr``.

    Parameters
    ----------
    framed : np.ndarray [shape=(n_frames, frame_length)]

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32, in [0, 1)
    """
    negative = np.signbit(framed)
    nonzero = framed != 0
    crossings = (negative[:, 1:] != negative[:, :-1]) & nonzero[:, 1:] & nonzero[:, :-1]
    return (np.count_nonzero(crossings, axis=1) / framed.shape[1]).astype(np.float32)


def brightness(magnitude: np.ndarray, freqs: np.ndarray, cutoff: float = 1500.0) -> np.ndarray:
    """Share of the magnitude spectrum above ``cutoff`` Hz (``mirbrightness``, default 1,500 Hz).

    Parameters
    ----------
    magnitude : np.ndarray [shape=(n_frames, n_bins)]
        Magnitude spectrum, one row per frame.
    freqs : np.ndarray [shape=(n_bins,)]
        Bin frequencies in Hz.
    cutoff : float
        Bins strictly above it count as "bright" (as ``mirbrightness``).

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32, in [0, 1]; 0 for an all-zero frame.
    """
    total = magnitude.sum(axis=1, dtype=np.float64)
    high = magnitude[:, freqs > cutoff].sum(axis=1, dtype=np.float64)
    return _ratio(high, total)


def flatness(magnitude: np.ndarray, log_magnitude: np.ndarray | None = None) -> np.ndarray:
    """Spectral flatness: geometric over arithmetic mean of the spectrum (``mirflatness``).

    Parameters
    ----------
    magnitude : np.ndarray [shape=(n_frames, n_bins)]
    log_magnitude : np.ndarray [shape=(n_frames, n_bins)], optional
        ``log`` of ``magnitude`` floored at a tiny value, if already computed.

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32, in [0, 1]: about 0.85 for white noise (magnitude
    spectrum), near 0 for a pure tone; 0 for an all-zero frame.
    """
    if log_magnitude is None:
        log_magnitude = _log(magnitude)
    geometric = np.exp(log_magnitude.mean(axis=1, dtype=np.float64))
    arithmetic = magnitude.mean(axis=1, dtype=np.float64)
    return np.minimum(_ratio(geometric, arithmetic), np.float32(1.0))


def entropy(magnitude: np.ndarray, log_magnitude: np.ndarray | None = None) -> np.ndarray:
    """Relative Shannon entropy of the spectrum (``mirentropy``).

    The spectrum is normalised to sum 1, ``p = m / sum(m)``, and its entropy divided by
    ``log(n_bins)``: ``-sum(p log p) / log(n_bins)``, 1 for a flat spectrum, near 0 for one peak.

    Parameters
    ----------
    magnitude : np.ndarray [shape=(n_frames, n_bins)]
    log_magnitude : np.ndarray [shape=(n_frames, n_bins)], optional

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32, in [0, 1]; 0 for an all-zero frame (as MIRtoolbox).
    """
    if log_magnitude is None:
        log_magnitude = _log(magnitude)
    total = magnitude.sum(axis=1, dtype=np.float64)
    # -sum(p log p) = log(S) - sum(m log m) / S, with S = sum(m): one pass over the bins.
    weighted = np.einsum("ij,ij->i", magnitude, log_magnitude, dtype=np.float64)
    safe = np.where(total > 0, total, 1.0)
    value = np.where(total > 0, np.log(safe) - weighted / safe, 0.0) / math.log(magnitude.shape[1])
    return np.clip(value, 0.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Roughness
# ------------------------------------------------------------------------------------------------
def plomp_levelt(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    """Dissonance of two pure tones of unit amplitude (Sethares' fit of the Plomp-Levelt curve).

    ``d = exp(-3.51 s |f2 - f1|) - exp(-5.75 s |f2 - f1|)`` with
    ``s = 0.24 / (0.0207 min(f1, f2) + 18.96)`` (``mirroughness.m``, function ``plomp``).

    Parameters
    ----------
    f1, f2 : array_like, Hz (broadcast together)

    Returns
    -------
    np.ndarray, at most about 0.18 (at ``|f2 - f1|`` about a quarter of a critical band)
    """
    f1 = np.asarray(f1, dtype=np.float64)
    f2 = np.asarray(f2, dtype=np.float64)
    x = _XSTAR / (_S1 * np.minimum(f1, f2) + _S2) * np.abs(f2 - f1)
    return np.exp(-_B1 * x) - np.exp(-_B2 * x)


def spectral_peaks(magnitude: np.ndarray, contrast: float = 0.01,
                   high: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Spectral peaks of every frame, picked as ``mirpeaks(..., 'Contrast', contrast)`` does.

    ``mirpeaks`` (as called by ``mirroughness``, ``'Contrast'`` 0.01) normalises the whole
    spectrogram to [0, 1] by its global minimum and maximum (``'Normalize', 'Global'``), takes
    the local maxima at least ``contrast`` high, and keeps those separated from their neighbours
    by a notch at least ``contrast`` deep, merging candidates without such a notch into the
    highest of them. Here that scan is done for all frames at once: a candidate is dropped when
    it is the lower of two neighbouring candidates whose notch is shallower than ``contrast``
    (it cannot stand ``contrast`` above the way to a higher peak), and the notches of the
    survivors are merged, until nothing changes; frame edges count as infinitely deep notches
    (MIRtoolbox pads each frame with ``-Inf``).

    Parameters
    ----------
    magnitude : np.ndarray [shape=(n_frames, n_bins)]
    contrast : float
        In units of the spectrogram's global range.
    high : float, optional
        The spectrogram's maximum, when ``magnitude`` is a piece of it (default: ``magnitude``'s;
        the range's minimum is 0 for magnitudes).

    Returns
    -------
    frame, bin : np.ndarray [shape=(n_peaks,)], int64
        The peaks, sorted by frame, then by bin.
    """
    n_frames, n_bins = magnitude.shape
    low = float(magnitude.min(initial=0.0))
    high = float(magnitude.max(initial=0.0)) if high is None else float(high)
    empty = np.zeros(0, dtype=np.int64)
    if high <= low:
        return empty, empty
    threshold = np.float32(low + contrast * (high - low))
    depth = np.float32(contrast * (high - low))
    # mirpeaks' local maxima: rising into the bin, not rising after it. MIRtoolbox pads each
    # frame with -inf, so an edge bin is a peak when its one neighbour is not higher.
    is_peak = np.empty((n_frames, n_bins), dtype=bool)
    np.greater(magnitude[:, 1:-1], magnitude[:, :-2], out=is_peak[:, 1:-1])
    is_peak[:, 1:-1] &= magnitude[:, 1:-1] >= magnitude[:, 2:]
    is_peak[:, 0] = magnitude[:, 0] >= magnitude[:, 1]
    is_peak[:, -1] = magnitude[:, -1] > magnitude[:, -2]
    is_peak &= magnitude >= threshold
    position = np.flatnonzero(is_peak)
    if position.size == 0:
        return empty, empty
    frame = position // n_bins
    flat = magnitude.ravel()
    values = flat[position]
    # The notch between consecutive candidates: the minimum strictly between them; between
    # the last peak of a frame and the first of the next, -inf (MIRtoolbox's padding).
    # (The segment [p_i, p_i+1) has the same minimum: the bin after a peak is not higher.)
    notches = np.minimum.reduceat(flat, position)[:-1]
    notches[frame[1:] != frame[:-1]] = -np.inf
    keep = np.arange(position.size)
    while values.size > 1:
        shallow = np.minimum(values[:-1], values[1:]) - notches < depth
        if not shallow.any():
            break
        drop = np.zeros(values.size, dtype=bool)
        drop[:-1] |= shallow & (values[:-1] < values[1:])  # the lower one goes; on a tie the later one
        drop[1:] |= shallow & (values[1:] <= values[:-1])
        survivors = np.flatnonzero(~drop)  # never empty: a run's (first) highest peak stays
        # The notch between two survivors is the lowest of the notches they enclose.
        if survivors.size > 1:
            notches = np.minimum.reduceat(notches[:survivors[-1]], survivors[:-1])
        else:
            notches = notches[:0]
        values, keep = values[survivors], keep[survivors]
    frame = frame[keep]
    return frame, position[keep] - frame * n_bins


def roughness(magnitude: np.ndarray, freqs: np.ndarray, contrast: float = 0.01,
              high: float | None = None) -> np.ndarray:
    """Sensory dissonance of each frame (``mirroughness``, default method ``'Sethares'``).

    The spectral peaks (:func:`spectral_peaks`) of each frame, at their bin frequencies and
    with their magnitudes as amplitudes, are summed over all unordered pairs:
    ``sum_{i<j} a_i a_j plomp_levelt(f_i, f_j)``. Sethares' later book weights by
    ``min(a_i, a_j)``; MIRtoolbox, followed here, by the product. Senac's text says "average";
    MIRtoolbox sums.

    Vectorised over all frames' peaks at once: pairs ``(i, i + d)`` of peaks sorted by frame
    and frequency are visited for ``d = 1, 2, ...``; a pair counts while both peaks are in one
    frame and ``s |f2 - f1| < 4``, where the curve has fallen below 5e-6 of its maximum (it decays
    exponentially with the frequency difference, which grows with ``d``). The sum equals the
    all-pairs sum to about 1e-6.

    Parameters
    ----------
    magnitude : np.ndarray [shape=(n_frames, n_bins)]
        Amplitude spectrum; scale it so that a sinusoid's peak reads as its amplitude to make
        the values independent of the FFT size (MIRtoolbox uses raw FFT magnitudes, a constant
        factor away).
    freqs : np.ndarray [shape=(n_bins,)], Hz
    contrast : float
        Peak-picking contrast (``mirroughness``'s ``'Contrast'``, default 0.01).
    high : float, optional
        The whole spectrogram's maximum when ``magnitude`` is a piece of it (peaks are picked
        relative to it: :func:`spectral_peaks`).

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32, >= 0; 0 for a frame with fewer than two peaks.
    """
    n_frames = magnitude.shape[0]
    frame, bin_ = spectral_peaks(magnitude, contrast, high)
    n = frame.size
    if n < 2:
        return np.zeros(n_frames, dtype=np.float32)
    f = np.asarray(freqs, dtype=np.float32)[bin_]
    a = magnitude[frame, bin_].astype(np.float32)
    s = (_XSTAR / (_S1 * f + _S2)).astype(np.float32)  # f[i] < f[i + d] in a frame: s of the lower
    # Peaks after each one in its frame: pair (i, i + d) exists while d <= after[i].
    after = (np.cumsum(np.bincount(frame, minlength=n_frames))[frame] - 1 - np.arange(n)).astype(np.int32)
    # The pairs of every frame at once, by offset d. Arrays hold the peaks i whose pair
    # (i, i + d) may still count; x grows with d, so a pair past _X_MAX ends i's row. Dead rows
    # are masked and compressed away only once they are many (compressing is the costly part).
    index, fi, si, ai, left, acc = np.arange(n), f, s, a, after, np.zeros(n, dtype=np.float32)
    per_peak = np.zeros(n, dtype=np.float32)
    b1, b2, x_max, last = np.float32(_B1), np.float32(_B2), np.float32(_X_MAX), n - 1
    d = 1
    while index.size:
        partner = index + d
        np.minimum(partner, last, out=partner)
        x = f[partner]
        x -= fi
        x *= si
        live = x < x_max
        live &= left >= d
        value = np.exp(-b1 * x)
        value -= np.exp(-b2 * x)
        value *= ai
        value *= a[partner]
        value *= live
        acc += value
        n_live = int(np.count_nonzero(live))
        if n_live < 0.7 * index.size:
            dead = ~live
            per_peak[index[dead]] = acc[dead]
            index, fi, si, ai, left, acc = index[live], fi[live], si[live], ai[live], left[live], acc[live]
        d += 1
    per_peak[index] = acc
    return np.bincount(frame, weights=per_peak, minlength=n_frames).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Chroma, key clarity, HCDF
# ------------------------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _chroma_matrix(sr: int, n_fft: int, fmin: float, fmax: float, tuning: float) -> tuple[np.ndarray, int, int]:
    """``mirchromagram``'s spectrum-to-chroma mapping (12 bins per octave, ``'Weight'`` 0.5).

    Returns ``(weights [n_used_bins, 12] float32, first_bin, last_bin)``: each FFT bin in
    ``[first_bin, last_bin)`` belongs to the semitone whose centre is nearest (boundaries halfway
    between neighbouring centres, in Hz); a semitone's value is the mean of its bins (``1 / n``
    weights), the lowest and highest semitones count half, and the semitones are wrapped into
    pitch classes (C = 0, from ``tuning``, the frequency of C4).
    """
    freqs = np.arange(n_fft // 2 + 1) * (sr / n_fft)
    # mirchromagram raises 'Max' to a whole number of octaves above 'Min' ...
    top = fmin * 2.0
    while top < fmax:
        top *= 2.0
    used = np.flatnonzero((freqs >= fmin) & (freqs <= top))
    if used.size < 2:
        raise ConfigError(f"chroma range {fmin}-{top} Hz holds fewer than two FFT bins at sr={sr}, n_fft={n_fft}")
    # ... and then drops what exceeds the last whole octave above the first bin kept.
    lowest = freqs[used[0]]
    highest = lowest * 2.0 ** math.floor(math.log2(freqs[used[-1]] / lowest))
    used = used[freqs[used] <= highest * (1 + 1e-12)]
    first, last = int(used[0]), int(used[-1]) + 1
    f = freqs[first:last]
    semitone = np.round(12 * np.log2(f / tuning)).astype(np.int64)
    weights = np.zeros((f.size, 12), dtype=np.float64)
    lo, hi = int(semitone.min()), int(semitone.max())
    for k in range(lo, hi + 1):
        centre = tuning * 2.0 ** (k / 12)
        below, above = tuning * 2.0 ** ((k - 1) / 12), tuning * 2.0 ** ((k + 1) / 12)
        members = (f > centre - 0.5 * (centre - below)) & (f < centre + 0.5 * (above - centre))
        n = int(members.sum())
        if n:
            weights[members, k % 12] += (0.5 if k in (lo, hi) else 1.0) / n
    weights = weights.astype(np.float32)
    weights.setflags(write=False)
    return weights, first, last


def chroma_from_power(power: np.ndarray, sr: int, n_fft: int, fmin: float = 100.0, fmax: float = 5000.0,
                      tuning: float = 261.6256, db_range: float = 20.0) -> np.ndarray:
    """MIRtoolbox's chromagram of power spectra (``mirchromagram`` defaults).

    Each spectrum is taken in dB relative to its own maximum, the top ``db_range`` dB kept and
    shifted to [0, ``db_range``] (lower values become 0) (``mirspectrum(..., 'dB', 20)`` after ``'NormalInput'``, which
    scales every frame to the same peak), averaged per semitone from ``fmin`` Hz over whole
    octaves (:func:`_chroma_matrix`) and wrapped into 12 pitch classes. An all-zero spectrum gives
    an all-zero chroma.

    Parameters
    ----------
    power : np.ndarray [shape=(n, 1 + n_fft // 2)]
        Power spectra, one per row.
    sr, n_fft : int
    fmin, fmax : float
        ``mirchromagram``'s ``'Min'`` (100 Hz) and ``'Max'`` (5,000 Hz).
    tuning : float
        Frequency of C4 (``'Tuning'``).
    db_range : float
        ``mirchromagram``'s ``'Threshold'`` (20 dB).

    Returns
    -------
    np.ndarray [shape=(n, 12)], float32, non-negative, not normalised (C first)
    """
    weights, first, last = _chroma_matrix(int(sr), int(n_fft), float(fmin), float(fmax), float(tuning))
    db = np.maximum(power[:, first:last], np.float32(1e-30))
    np.log10(db, out=db)
    top = db.max(axis=1, keepdims=True)
    # 10 log10(P / max P) + range, floored at 0: the top db_range dB, shifted to [0, db_range].
    db -= top - np.float32(db_range / 10.0)
    np.maximum(db, np.float32(0.0), out=db)
    db *= np.float32(10.0)
    chroma = db @ weights
    chroma *= top > np.float32(-30.0)  # silence: no pitch at all, not a flat chroma
    return chroma.astype(np.float32, copy=False)


def key_strength(chroma: np.ndarray) -> np.ndarray:
    """Strength of the 24 keys: Pearson correlation of a chroma vector with each key profile.

    ``mirkeystrength``: ``corrcoef`` of the chromagram with the 24 profiles; the profiles here
    are Krumhansl & Kessler's (:data:`MAJOR_PROFILE`, :data:`MINOR_PROFILE`) rotated to each
    tonic, in :data:`KEY_NAMES`' order. A constant chroma (silence) correlates with nothing: 0.

    Parameters
    ----------
    chroma : np.ndarray [shape=(..., 12)]

    Returns
    -------
    np.ndarray [shape=(..., 24)], float32, in [-1, 1]
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    centred = chroma - chroma.mean(axis=-1, keepdims=True)
    norm = np.sqrt(np.square(centred).sum(axis=-1, keepdims=True))
    strength = centred @ _profiles().T
    tolerance = 1e-9 * np.abs(chroma).max(axis=-1, keepdims=True)
    scale = np.where(norm > tolerance, norm, np.inf)
    return np.clip(strength / scale, -1.0, 1.0).astype(np.float32)


@lru_cache(maxsize=1)
def _profiles() -> np.ndarray:
    rows = [np.roll(profile, tonic) for profile in (MAJOR_PROFILE, MINOR_PROFILE) for tonic in range(12)]
    p = np.array(rows, dtype=np.float64)
    p -= p.mean(axis=1, keepdims=True)
    p /= np.sqrt(np.square(p).sum(axis=1, keepdims=True))
    p.setflags(write=False)
    return p


def best_key(strengths: np.ndarray) -> str:
    """Name of the strongest key (:data:`KEY_NAMES`); for a ``[n_windows, 24]`` array, of the
    strengths averaged over the windows."""
    strengths = np.asarray(strengths)
    if strengths.ndim == 2:
        strengths = strengths.mean(axis=0)
    if strengths.shape != (24,):
        raise FeatureError(f"expected 24 key strengths, got shape {strengths.shape}")
    return KEY_NAMES[int(np.argmax(strengths))]


def tonal_centroid(chroma: np.ndarray) -> np.ndarray:
    """6-D tonal centroid of chroma vectors (Harte, Sandler & Gasser 2006, eq. 1-2).

    The chroma is normalised to sum 1 (Harte's L1 norm) and projected on the circles of fifths,
    minor thirds and major thirds (radii 1, 1, 0.5; ``mirtonalcentroid``'s matrix), so every
    centroid lies in the convex hull of 12 points of norm 1.5. An all-zero chroma maps to 0.

    Parameters
    ----------
    chroma : np.ndarray [shape=(n, 12)]

    Returns
    -------
    np.ndarray [shape=(n, 6)], float32
    """
    chroma = np.asarray(chroma, dtype=np.float32)
    total = chroma.sum(axis=1, keepdims=True)
    return (chroma @ _PHI.T) / np.where(total > 0, total, np.float32(1.0))


def hcdf(chroma: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Harmonic change detection function (Harte, Sandler & Gasser 2006, sec. 3).

    Tonal centroids (:func:`tonal_centroid`), smoothed along time by a Gaussian of standard
    deviation ``sigma_frames`` (edges repeated), then ``xi(n) = ||zeta(n + 1) - zeta(n - 1)||``.

    Parameters
    ----------
    chroma : np.ndarray [shape=(n_frames, 12)]
    sigma_frames : float
        Smoothing in frames (0: none).

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32, in [0, 3]
    """
    return _centroid_change(tonal_centroid(chroma), sigma_frames)


def _centroid_change(centroid: np.ndarray, sigma_frames: float) -> np.ndarray:
    """:func:`hcdf` from the tonal centroids ``[n_frames, 6]``."""
    centroid = _smooth(centroid, sigma_frames)
    padded = np.pad(centroid, ((1, 1), (0, 0)), mode="edge")
    change = padded[2:] - padded[:-2]
    return np.sqrt(np.einsum("ij,ij->i", change, change)).astype(np.float32)


def _smooth(x: np.ndarray, sigma: float, rows: int = 16384) -> np.ndarray:
    """Gaussian smoothing along axis 0, kernel to 4 sigma, edges repeated; ``rows`` at a time
    (the windows of a 3-hour track would take hundreds of MB at once)."""
    if sigma <= 0 or x.shape[0] < 2:
        return x
    radius = max(1, int(math.ceil(4 * sigma)))
    t = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    kernel = kernel.astype(np.float32)
    padded = np.pad(x, ((radius, radius), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1, axis=0)  # [n, d, k]
    out = np.empty(x.shape, dtype=np.float32)
    for start in range(0, x.shape[0], rows):
        out[start:start + rows] = windows[start:start + rows] @ kernel
    return out


# ------------------------------------------------------------------------------------------------
# The spec and the whole-track computation
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MusicFeatureMap(_Framed, FeatureSpec):
    """Senac et al.'s eight music features per frame, ``[8, n_frames]`` (rows :data:`FEATURES`).

    Frames as the ``zhang2016`` STFT preset: 1024-sample Hamming windows, hop 512, centred, so
    a 30 s track has the same 1,292 frames and the 128-frame, 65-hop clips give 18 clips of
    128 x 8 (Senac, sec. 2.3). The features are not standardised (Senac, sec. 3).

    Attributes
    ----------
    n_fft, hop_length : int
        Frame length and hop of the frame-level features (1024, 512: 46.44 ms, 50 %).
    window : str
        Analysis window of the spectral features (``mirspectrum``'s Hamming).
    brightness_cutoff : float
        Hz (``mirbrightness``' 1,500; the paper's 15 kHz exceeds the Nyquist frequency).
    flatness_min_rms, entropy_min_rms, brightness_min_rms : float
        ``MinRMS`` of the MIRtoolbox functions: frames whose RMS is below this fraction of the
        track's loudest frame get 0 (MIRtoolbox: NaN). 0 keeps every frame.
    long_n_fft : int
        Window (Hamming, same frame centres) for roughness and the chromagram: 4096 samples,
        5.4 Hz bins, enough to separate two partials 20 Hz apart and the semitones from 100 Hz.
    roughness_contrast : float
        ``mirpeaks``' contrast for roughness' peaks (``mirroughness``: 0.01).
    chroma_fmin, chroma_fmax, chroma_db_range, tuning : float
        ``mirchromagram``'s ``'Min'`` (100 Hz), ``'Max'`` (5,000 Hz), dB ``'Threshold'`` (20)
        and ``'Tuning'`` (C4 = 261.6256 Hz).
    key_window, key_hop : float
        Key-clarity windows and hop in seconds (6 s, 50 %: Senac, sec. 2.2).
    hcdf_sigma : float
        Gaussian smoothing of the tonal centroid in seconds (Harte et al. smooth; at this frame
        rate 0.1 s keeps chord changes within a 3 s clip apart).
    """

    kind: ClassVar[str] = "music_map"
    name: str = "music_map"
    n_fft: int = 1024
    hop_length: int = 512
    window: str = "hamming"
    brightness_cutoff: float = 1500.0
    flatness_min_rms: float = 0.01
    entropy_min_rms: float = 0.005
    brightness_min_rms: float = 0.005
    long_n_fft: int = 4096
    roughness_contrast: float = 0.01
    chroma_fmin: float = 100.0
    chroma_fmax: float = 5000.0
    chroma_db_range: float = 20.0
    tuning: float = 261.6256
    key_window: float = 6.0
    key_hop: float = 3.0
    hcdf_sigma: float = 0.1
    clip: ClipSpec = ClipSpec(128, 65)

    def __post_init__(self):
        if self.n_fft < 2 or self.long_n_fft < 2 or self.hop_length < 1:
            raise ConfigError(f"n_fft, long_n_fft must be >= 2 and hop_length >= 1, got {self.n_fft}, "
                              f"{self.long_n_fft}, {self.hop_length}")
        if not 0 < self.brightness_cutoff < self.sr / 2:
            raise ConfigError(f"brightness cut-off {self.brightness_cutoff} Hz must lie between 0 and the Nyquist "
                              f"frequency {self.sr / 2} Hz (the paper's 15 kHz needs sr > 30 kHz)")
        if self.key_window <= 0 or self.key_hop <= 0 or self.hcdf_sigma < 0:
            raise ConfigError("key_window and key_hop must be positive, hcdf_sigma non-negative")
        if not 0 < self.chroma_fmin < self.chroma_fmax or self.chroma_db_range <= 0 or self.tuning <= 0:
            raise ConfigError("need 0 < chroma_fmin < chroma_fmax, chroma_db_range > 0 and tuning > 0")
        if not 0 <= self.roughness_contrast < 1:
            raise ConfigError(f"roughness_contrast must be in [0, 1), got {self.roughness_contrast}")

    @property
    def bands(self) -> int:
        return len(FEATURES)

    def feature_names(self) -> list[str]:
        """Names of the rows of :meth:`compute`'s output."""
        return list(FEATURES)

    #: Frames per segment: 2048 (47.5 s) keeps a 30 s excerpt in one segment, so it is analysed in
    #: one pass; a segment's spectra take about 100 MB.
    block_frames: ClassVar[int] = 2048

    def compute(self, y: np.ndarray) -> np.ndarray:
        values = self.features(y)
        return np.stack([values[name] for name in FEATURES]).astype(np.float32, copy=False)

    def features(self, y: np.ndarray) -> dict[str, np.ndarray]:
        """The eight features of a whole track, by name.

        Parameters
        ----------
        y : np.ndarray [shape=(n,)], at :attr:`sr`

        Returns
        -------
        dict of str to np.ndarray [shape=(n_frames,)], float32, keys :data:`FEATURES`
        """
        y = _signal(y)
        return self._features(lambda: (y,), self.block_frames)

    def stream(self, blocks, sink, spill_dir=None, block_frames: int | None = None) -> None:
        """See :meth:`FeatureSpec.stream`. The map is small (8 values per frame) and stays in memory;
        the spectra are computed a segment at a time. A recording longer than one segment
        (:attr:`block_frames`) is read twice: roughness picks spectral peaks relative to the whole
        track's loudest spectral value (``mirpeaks`` normalises the whole spectrogram), known only
        after the first pass, which computes everything else."""
        values = self._features(blocks, block_frames or self.block_frames)
        out = np.stack([values[name] for name in FEATURES]).astype(np.float32, copy=False)
        sink.start(out.shape)
        sink.write(0, out)

    def _features(self, blocks, block_frames: int) -> dict[str, np.ndarray]:
        frame_length = max(self.n_fft, self.long_n_fft)
        short_frames = _inner(frame_length, self.n_fft)
        long_frames = _inner(frame_length, self.long_n_fft)
        freqs = np.fft.rfftfreq(self.n_fft, 1.0 / self.sr)
        long_freqs = np.fft.rfftfreq(self.long_n_fft, 1.0 / self.sr)
        # Scaled so that a sinusoid's peak reads as its amplitude: 2 / sum(window).
        gain = np.float32(2.0 / float(spectral.window(self.window, self.long_n_fft, self.long_n_fft).sum()))
        parts: dict[str, list[np.ndarray]] = {name: [] for name in FEATURES if name not in ("key_clarity", "hcdf")}
        centroids: list[np.ndarray] = []
        keys = _KeyWindows(self)
        loudest = [0.0]  # the whole track's loudest long-window magnitude

        def long_power(segment: np.ndarray) -> np.ndarray:
            return spectral.power_spectrogram(segment[long_frames], self.long_n_fft, self.hop_length,
                                              window_name=self.window, center=False)

        def first_pass(first: int, segment: np.ndarray) -> np.ndarray:
            short = segment[short_frames]
            framed = spectral.frames(short, self.n_fft, self.hop_length, center=False)
            parts["energy"].append(energy(framed))
            parts["zcr"].append(zero_crossing_rate(framed))
            magnitude = np.sqrt(spectral.power_spectrogram(short, self.n_fft, self.hop_length,
                                                           window_name=self.window, center=False))
            log_magnitude = _log(magnitude)
            parts["brightness"].append(brightness(magnitude, freqs, self.brightness_cutoff))
            parts["flatness"].append(flatness(magnitude, log_magnitude))
            parts["entropy"].append(entropy(magnitude, log_magnitude))
            power = long_power(segment)
            centroids.append(tonal_centroid(self._chroma(power)))
            keys.add(power)
            long_magnitude = np.sqrt(power, out=power)
            long_magnitude *= gain
            loudest[0] = max(loudest[0], float(long_magnitude.max(initial=0.0)))
            return long_magnitude

        def second_pass(first: int, segment: np.ndarray, long_magnitude: np.ndarray | None) -> None:
            if long_magnitude is None:
                long_magnitude = np.sqrt(long_power(segment))
                long_magnitude *= gain
            parts["roughness"].append(roughness(long_magnitude, long_freqs, self.roughness_contrast, loudest[0]))

        two_passes(blocks, frame_length, self.hop_length, block_frames, first_pass, second_pass)
        values = {name: np.concatenate(found) for name, found in parts.items()}
        rms = values["energy"]
        for name, min_rms in (("brightness", self.brightness_min_rms), ("flatness", self.flatness_min_rms),
                              ("entropy", self.entropy_min_rms)):
            values[name] = _trim(values[name], rms, min_rms)
        strengths, centres = keys.finish()
        values["key_clarity"] = strengths.max(axis=1)[_nearest(centres, rms.shape[0])].astype(np.float32)
        values["hcdf"] = _centroid_change(np.concatenate(centroids), self.hcdf_sigma * self.sr / self.hop_length)
        return {name: values[name] for name in FEATURES}

    def _chroma(self, power: np.ndarray) -> np.ndarray:
        return chroma_from_power(power, self.sr, self.long_n_fft, self.chroma_fmin, self.chroma_fmax, self.tuning,
                                 self.chroma_db_range)


def _inner(outer: int, inner: int) -> slice:
    """The samples of a centred ``outer``-sample framing's segment that a centred ``inner``-sample
    framing with the same hop needs (frames of both are centred on the same samples)."""
    return slice(outer // 2 - inner // 2, -((outer - outer // 2) - (inner - inner // 2)) or None)


def _trim(values: np.ndarray, rms: np.ndarray, min_rms: float) -> np.ndarray:
    """``MinRMS``: 0 where the frame's RMS is below ``min_rms`` times the loudest frame's."""
    if min_rms <= 0:
        return values
    loudest = float(rms.max(initial=0.0))
    loud = rms >= min_rms * loudest if loudest > 0 else np.zeros(values.shape, dtype=bool)
    return np.where(loud, values, np.float32(0.0)).astype(np.float32)


def _nearest(centres: np.ndarray, n: int) -> np.ndarray:
    """For each frame ``t < n``, the index of the centre nearest ``t + 0.5`` (the first on a tie);
    ``centres`` ascending."""
    x = np.arange(n) + 0.5
    right = np.minimum(np.searchsorted(centres, x), centres.size - 1)
    left = np.maximum(right - 1, 0)
    return np.where(np.abs(x - centres[left]) <= np.abs(centres[right] - x), left, right)


class _KeyWindows:
    """Key-clarity windows (``key_window`` s, hop ``key_hop`` s) over long-window power spectra that
    arrive a segment at a time: each window's mean spectrum (Welch) in the chroma bins, and its 24
    key strengths once it is complete. Memory: the windows still open and the last window's frames.

    Windows start every ``hop`` frames while they fit in the track; when the frames after the last
    one are more than half a hop, one more window ends with the track; a track shorter than a
    window is one window.
    """

    def __init__(self, spec: MusicFeatureMap):
        self.spec = spec
        self.length = max(1, int(round(spec.key_window * spec.sr / spec.hop_length)))
        self.hop = max(1, int(round(spec.key_hop * spec.sr / spec.hop_length)))
        _, self.first_bin, self.last_bin = _chroma_matrix(int(spec.sr), int(spec.long_n_fft), float(spec.chroma_fmin),
                                                          float(spec.chroma_fmax), float(spec.tuning))
        self.n = 0
        self.sums: dict[int, np.ndarray] = {}
        self.starts: list[int] = []
        self.strengths: list[np.ndarray] = []
        self.recent = np.zeros((0, self.last_bin - self.first_bin), dtype=np.float32)

    def add(self, power: np.ndarray) -> None:
        """The next frames' power spectra ``[k, 1 + long_n_fft // 2]``."""
        rows = power[:, self.first_bin:self.last_bin]
        begin, end = self.n, self.n + rows.shape[0]
        done, means = [], []
        for start in range(max(0, -(-(begin - self.length + 1) // self.hop)) * self.hop, end, self.hop):
            a, b = max(start, begin), min(start + self.length, end)
            self.sums[start] = self.sums.get(start, 0.0) + rows[a - begin:b - begin].sum(axis=0, dtype=np.float64)
            if start + self.length <= end:
                done.append(start)
                means.append(self.sums.pop(start) / self.length)
        if done:
            self.starts.extend(done)
            self.strengths.append(self._strengths(np.array(means)))
        self.recent = np.concatenate([self.recent, rows])[-self.length:]
        self.n = end

    def _strengths(self, means: np.ndarray) -> np.ndarray:
        full = np.zeros((means.shape[0], self.spec.long_n_fft // 2 + 1), dtype=np.float32)
        full[:, self.first_bin:self.last_bin] = means
        return key_strength(self.spec._chroma(full))

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """``(strengths [n_windows, 24], centres [n_windows])``, centres in frames, ascending."""
        if self.n <= self.length:  # one window of the whole track
            return self._strengths(self.recent.mean(axis=0, dtype=np.float64)[None]), np.array([self.n / 2.0])
        starts = list(self.starts)
        strengths = list(self.strengths)
        if self.n - (starts[-1] + self.length) > self.hop / 2:  # a long tail: one more window, aligned to the end
            starts.append(self.n - self.length)
            strengths.append(self._strengths(self.recent.mean(axis=0, dtype=np.float64)[None]))
        return np.concatenate(strengths), np.array(starts) + self.length / 2.0


def _signal(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise FeatureError(f"expected a mono signal of shape (n,), got shape {y.shape}")
    if not np.isfinite(y).all():
        raise FeatureError("the signal has NaN or infinite samples")
    return y


def _log(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(x, np.float32(1e-20)))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, 0.0).astype(np.float32)


_PARAMS = tuple(f.name for f in dataclasses.fields(MusicFeatureMap) if f.name not in ("name", "clip", "sr"))


def _spec(sr: int, params: dict[str, Any]) -> MusicFeatureMap:
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise ConfigError(f"unknown music-feature parameter(s) {unknown}; known: {', '.join(_PARAMS)}")
    return MusicFeatureMap(sr=int(sr), **params)


def compute(y: np.ndarray, sr: int = DEFAULT_SR, **params) -> dict[str, np.ndarray]:
    """The eight music features of a whole track, one value per frame.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``sr``.
    sr : int
    **params
        Any :class:`MusicFeatureMap` field (``n_fft``, ``hop_length``, ``brightness_cutoff``,
        ``long_n_fft``, ``key_window``, ``hcdf_sigma``, ...).

    Returns
    -------
    dict of str to np.ndarray [shape=(1 + n // hop_length,)], float32
        Keys ``energy`` (RMS), ``zcr`` (crossings per sample), ``brightness``, ``flatness``,
        ``entropy``, ``roughness``, ``key_clarity``, ``hcdf``; ranges in :data:`RANGES`.

    Raises
    ------
    ConfigError
        An unknown parameter or an impossible value (e.g. a brightness cut-off above Nyquist).
    FeatureError
        Not a 1-D finite signal.
    """
    return _spec(sr, params).features(y)


def chromagram(y: np.ndarray, sr: int = DEFAULT_SR, **params) -> np.ndarray:
    """The frame-level chromagram used by HCDF, normalised to a maximum of 1 per frame
    (``mirchromagram``'s ``'Normal'``).

    Returns
    -------
    np.ndarray [shape=(n_frames, 12)], float32 (C first)
    """
    spec = _spec(sr, params)
    power = spectral.power_spectrogram(_signal(y), spec.long_n_fft, spec.hop_length, window_name=spec.window)
    chroma = spec._chroma(power)
    peak = chroma.max(axis=1, keepdims=True)
    return chroma / (peak + np.float32(1e-6))


def key_strengths(y: np.ndarray, sr: int = DEFAULT_SR, **params) -> np.ndarray:
    """Key strengths of each key-clarity window (6 s, hop 3 s by default).

    Returns
    -------
    np.ndarray [shape=(n_windows, 24)], float32, columns :data:`KEY_NAMES`; the key clarity of
    a window is its row's maximum, :func:`best_key` names the strongest key.
    """
    spec = _spec(sr, params)
    keys = _KeyWindows(spec)
    keys.add(spectral.power_spectrogram(_signal(y), spec.long_n_fft, spec.hop_length, window_name=spec.window))
    return keys.finish()[0]


register(MusicFeatureMap(name="senac2017_music"))
