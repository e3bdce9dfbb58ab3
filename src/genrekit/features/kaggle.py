"""The Kaggle GTZAN feature table's 57 columns, computed from audio (preset ``kaggle``).

The table published with the Kaggle "GTZAN Dataset - Music Genre Classification" (2020,
``features_30_sec.csv``; the ``gtzan-features`` dataset, :mod:`genrekit.datasets.feature_table`)
holds per track the mean and variance over the whole excerpt of librosa's ``chroma_stft``
(all 12 bins together), ``rms``, ``spectral_centroid``, ``spectral_bandwidth``,
``spectral_rolloff``, ``zero_crossing_rate``, the harmonic and percussive waveforms of
``librosa.effects.hpss`` (``harmony``, ``perceptr``), the tempo of ``librosa.beat.beat_track``,
and 20 MFCCs, each with librosa's default parameters (22,050 Hz, ``n_fft`` 2048, hop 512,
centred frames, 128 mel bands). The variances are NumPy's (``ddof=0``).

:class:`KaggleTableSpec` computes the same columns from audio, so that a model trained on the
table classifies new audio (``genrekit predict``). librosa's tuning estimate (``piptrack``), zero
crossings and beat tracker run numba gufuncs that crashed a fresh install once (numba#10128); their
arithmetic is done here in NumPy instead (:func:`estimate_tuning`, :func:`zero_crossing_rate`; equal
to librosa's on the excerpts), and the tempo is ``beat_track``'s estimate without its tracker.

Checked against the table's rows of the ten real GTZAN excerpts in ``../shared/data/gtzan-samples`` (``scripts/kaggle_agreement.py``,
docs/results.md): every column agrees to 3.2e-6 relative, the tiny means of the harmonic and
percussive waveforms to 2e-9 absolute, **when the frames are padded as librosa did before
0.10** (``pad_mode="reflect"``, this preset's default): librosa 0.10 changed ``stft``'s
default padding to zeros (``"constant"``), which moves the centred edge frames and with them
the means and variances by up to 6e-2 relative (up to 3.6x for the harmonic/percussive means,
which are near zero). The column ``length`` (samples) is not a feature and is left out.

The columns of a whole recording are those of one 30 s excerpt: ``compute`` returns one
column (``[57, 1]``) for the signal it gets, and prediction reads a long file in 30 s
windows (:mod:`genrekit.features.windows`), one column each, so a classical model votes
over the windows as it does over the segments of the ``summary`` preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from genrekit.datasets.feature_table import COLUMNS
from genrekit.errors import ConfigError
from genrekit.features.clips import ClipSpec
from genrekit.features.specs import FeatureSpec, register

__all__ = ["COLUMNS", "KaggleTableSpec", "kaggle_columns", "estimate_tuning", "zero_crossing_rate"]

#: Padding of centred frames: librosa before 0.10 (the table's) and since.
PAD_MODES = ("reflect", "constant")


def _mean_var(values: np.ndarray) -> list[float]:
    return [float(np.mean(values)), float(np.var(values))]


def kaggle_columns(y: np.ndarray, sr: int, pad_mode: str = "reflect", n_fft: int = 2048,
                   hop_length: int = 512) -> dict[str, float]:
    """The table's columns of one signal, by name (:data:`COLUMNS`), computed with librosa.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float32
    sr : int
    pad_mode : str
        ``"reflect"``: librosa's padding of centred frames before 0.10, with which the table was made;
        ``"constant"``: librosa 0.10 and later.
    n_fft, hop_length : int
        librosa's defaults.

    Returns
    -------
    dict of str to float
    """
    import librosa

    frames = {"n_fft": n_fft, "hop_length": hop_length, "pad_mode": pad_mode}
    spectrum = librosa.stft(y, **frames)  # one STFT for every spectral column, the HPSS and the onsets
    magnitude = np.abs(spectrum)
    power = magnitude ** 2
    tuning = estimate_tuning(power, sr, n_fft)
    values = _mean_var(librosa.feature.chroma_stft(S=power, sr=sr, n_fft=n_fft, hop_length=hop_length,
                                                   tuning=tuning))
    values += _mean_var(librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop_length, pad_mode=pad_mode))
    values += _mean_var(librosa.feature.spectral_centroid(S=magnitude, sr=sr, n_fft=n_fft, hop_length=hop_length))
    values += _mean_var(librosa.feature.spectral_bandwidth(S=magnitude, sr=sr, n_fft=n_fft, hop_length=hop_length))
    values += _mean_var(librosa.feature.spectral_rolloff(S=magnitude, sr=sr, n_fft=n_fft, hop_length=hop_length))
    values += _mean_var(zero_crossing_rate(y, n_fft, hop_length))
    for part in _hpss(spectrum, len(y), hop_length, y.dtype):
        values += _mean_var(part)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, n_fft=n_fft, hop_length=hop_length))
    # beat_track(y=y)'s tempo: its own onset envelope (the median over bands of the log-mel it computes, the
    # one above)
    onset = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=hop_length, aggregate=np.median)
    tempo = librosa.feature.tempo(onset_envelope=onset, sr=sr, hop_length=hop_length)[0] if onset.any() else 0.0
    values.append(float(tempo))
    for row in librosa.feature.mfcc(S=mel_db, n_mfcc=20):
        values += _mean_var(row)
    return dict(zip(COLUMNS, values))


# librosa computes the tuning (piptrack), the zero crossings and the beats with numba stencils in
# gufuncs cached on disk; on a fresh install such a gufunc crashed the process once in three test runs
# (numba's cache of gufuncs races, numba#10128, and more than one process computes features here). The
# two below are the same arithmetic in NumPy (checked against the Kaggle table with the rest), and the
# tempo is beat_track's estimate without its beat tracker (which the table's tempo does not use).

def zero_crossing_rate(y: np.ndarray, frame_length: int = 2048, hop_length: int = 512,
                       threshold: float = 1e-10) -> np.ndarray:
    """``librosa.feature.zero_crossing_rate(y)`` (centred frames padded with the edge values; a sample within
    ``threshold`` of zero counts as positive; the first sample of a frame counts no crossing):
    ``np.ndarray [shape=(n_frames,)]``, float64."""
    padded = np.pad(y, frame_length // 2, mode="edge")
    negative = np.signbit(np.where(np.abs(padded) <= threshold, 0.0, padded))
    changes = np.concatenate([[0], np.cumsum(negative[1:] != negative[:-1])])  # changes[j]: crossings up to j
    starts = np.arange(1 + (len(padded) - frame_length) // hop_length) * hop_length
    return (changes[starts + frame_length - 1] - changes[starts]) / frame_length


def estimate_tuning(power: np.ndarray, sr: int, n_fft: int, bins_per_octave: int = 12, resolution: float = 0.01,
                    fmin: float = 150.0, fmax: float = 4000.0, threshold: float = 0.1) -> float:
    """``librosa.estimate_tuning(S=power, sr=sr, bins_per_octave=12)``, as ``chroma_stft`` calls it: the
    peaks of each frame between ``fmin`` and ``fmax`` above ``threshold`` of the frame's maximum, their
    frequencies refined by parabolic interpolation (``piptrack``), the louder half of them, and the
    histogram peak of their deviation from the equal-tempered grid (``pitch_tuning``)."""
    import librosa

    S = np.abs(power)
    a = (S[2:] + S[:-2]) - 2 * S[1:-1]  # the parabola through each bin and its neighbours
    b = (S[2:] - S[:-2]) / 2  # also np.gradient's value at each inner bin
    shift = np.zeros_like(S)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift[1:-1] = np.where(np.abs(b) >= np.abs(a), 0, -b / a)
    gated = S * (S > threshold * S.max(axis=0, keepdims=True))
    peak = np.zeros_like(S, dtype=bool)
    peak[1:-1] = (gated[1:-1] > gated[:-2]) & (gated[1:-1] >= gated[2:])
    peak[-1] = gated[-1] > gated[-2]
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    peak &= ((max(fmin, 0.0) <= freqs) & (freqs < min(fmax, sr / 2)))[:, None]
    bins, frames = np.nonzero(peak)  # inner bins only: not the first, and the last is at sr / 2
    pitches = (bins + shift[bins, frames]) * float(sr) / n_fft
    magnitudes = S[bins, frames] + 0.5 * b[bins - 1, frames] * shift[bins, frames]
    voiced = pitches > 0
    if not voiced.any():
        return 0.0
    louder = magnitudes >= np.median(magnitudes[voiced])
    return float(librosa.pitch_tuning(pitches[louder & voiced], resolution=resolution,
                                      bins_per_octave=bins_per_octave))


def _hpss(spectrum: np.ndarray, length: int, hop_length: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``librosa.effects.hpss`` as librosa before 0.10 computed it: the harmonic and percussive waveforms
    of a signal's STFT ``spectrum``, each inverse STFT cut or padded with zeros at the end to ``length``."""
    import librosa

    return tuple(librosa.util.fix_length(librosa.istft(part, hop_length=hop_length, dtype=dtype), size=length)
                 for part in librosa.decompose.hpss(spectrum))


@dataclass(frozen=True)
class KaggleTableSpec(FeatureSpec):
    """The Kaggle GTZAN table's columns (:data:`COLUMNS`, or a subset), computed from audio.

    ``compute(y)`` returns ``[len(columns), 1]`` float32: one column for the whole signal (a 30 s
    excerpt; prediction reads longer files in 30 s windows). The values need the whole signal at
    once (the tempo, the harmonic/percussive separation), so this spec does not stream.

    Attributes
    ----------
    columns : tuple of str
        Which of :data:`COLUMNS`, in the order of the rows.
    pad_mode : str
        ``"reflect"`` (the table's, librosa before 0.10) or ``"constant"`` (librosa 0.10 and later).
    """

    #: The table's ``harmony_mean`` and ``perceptr_mean`` are the means of the signal's harmonic and percussive
    #: parts, i.e. its DC offset (GTZAN's excerpts have up to 0.018 of full scale): read with it, as the table was.
    removes_dc: ClassVar[bool] = False

    kind: ClassVar[str] = "kaggle_table"
    name: str = "kaggle"
    columns: tuple = COLUMNS
    pad_mode: str = "reflect"
    clip: ClipSpec = ClipSpec(1, 1)

    def __post_init__(self):
        unknown = [c for c in self.columns if c not in COLUMNS]
        if unknown or not self.columns:
            raise ConfigError(f"kaggle table spec: unknown column(s) {unknown or '(none given)'}; the columns "
                              f"are those of features_30_sec.csv: {', '.join(COLUMNS)}")
        if self.pad_mode not in PAD_MODES:
            raise ConfigError(f"kaggle table spec: pad_mode must be one of {PAD_MODES}, got {self.pad_mode!r}")
        object.__setattr__(self, "columns", tuple(self.columns))

    @property
    def bands(self) -> int:
        return len(self.columns)

    @property
    def hop_seconds(self) -> float:
        return float("nan")

    def n_frames(self, n_samples: int) -> int:
        return 1

    def compute(self, y: np.ndarray) -> np.ndarray:
        """See :class:`KaggleTableSpec`: ``np.ndarray [shape=(len(columns), 1)], float32``."""
        found = kaggle_columns(np.asarray(y, dtype=np.float32), self.sr, self.pad_mode)
        return np.array([[found[c]] for c in self.columns], dtype=np.float32)


register(KaggleTableSpec(name="kaggle"))
