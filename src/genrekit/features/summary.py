"""Summary feature vectors for the classical baselines (Wang, sec. IV and Table II).

The classical models (KNN, decision tree, random forest, SVM, logistic regression) do not
see spectrograms but a fixed-length vector per track (or per segment): the means and
variances of frame-level descriptors. The set follows the GTZAN feature tables that are
commonly used with such baselines: MFCC, spectral centroid, bandwidth and roll-off,
zero-crossing rate, RMS energy, chroma, and the tempo.

All frame-level descriptors come from one power spectrogram, computed once for a 30 s
excerpt; a longer recording is computed a segment at a time (:func:`stream_summary`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from genrekit.features import spectral
from genrekit.features.streaming import ArraySink, Blocks, Sink, two_passes

__all__ = ["feature_names", "frame_descriptors", "summary_vectors", "stream_summary", "log_mel_summary"]

_SCALAR = ("centroid", "bandwidth", "rolloff", "zcr", "rms")


def feature_names(n_mfcc: int = 20) -> list[str]:
    """Row names of :func:`summary_vectors`' output, e.g. ``mfcc3_mean``, ``chroma11_var``, ``tempo``."""
    base = [f"mfcc{i}" for i in range(n_mfcc)] + list(_SCALAR) + [f"chroma{i}" for i in range(12)]
    return [f"{b}_{stat}" for b in base for stat in ("mean", "var")] + ["tempo"]


#: librosa.onset.onset_strength's delay of the envelope, in frames, with the defaults the summary
#: has always called it with (lag 1, n_fft 2048, hop 512, centred): ``1 + 2048 // (2 * 512)``.
_ONSET_DELAY = 3


class _Descriptors:
    """The frame-level descriptors of a signal, a segment at a time (see :func:`frame_descriptors`).

    The MFCCs and the onset envelope use the log-mel floored 80 dB below the whole track's
    loudest mel cell, so :meth:`mel` sees every segment before :meth:`describe` can finish one.
    """

    def __init__(self, sr: int, n_fft: int, hop_length: int, n_mfcc: int):
        self.sr, self.n_fft, self.hop_length, self.n_mfcc = sr, n_fft, hop_length, n_mfcc
        self.freqs = np.fft.rfftfreq(n_fft, 1.0 / sr).astype(np.float32)
        self.weights, self.first, self.last = spectral.mel_filterbank(sr, n_fft, 128)
        self.scale = spectral.DbScale(top_db=80.0, ref=1.0)
        self.previous: np.ndarray | None = None  # the last log-mel frame of the previous segment

    def mel(self, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(power [bins, k], log-mel before its floor [128, k])`` of a segment."""
        power = spectral.power_spectrogram(segment, self.n_fft, self.hop_length, center=False).T
        return power, self.scale.observe(self.weights.T @ power[self.first:self.last])

    def describe(self, segment: np.ndarray, power: np.ndarray, mel_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(descriptors [n_mfcc + 17, k], onset differences)`` of the next segment, given
        :meth:`mel`'s output for it; the differences are those between each of its log-mel frames
        and the frame before (none before the track's first)."""
        import librosa
        import scipy.fft

        mel_db = self.scale.finish(mel_db)
        mfcc = scipy.fft.dct(mel_db, axis=0, type=2, norm="ortho")[:self.n_mfcc]
        magnitude = np.sqrt(power)
        total = magnitude.sum(axis=0) + 1e-10
        centroid = (self.freqs[:, None] * magnitude).sum(axis=0) / total
        bandwidth = np.sqrt(((self.freqs[:, None] - centroid[None]) ** 2 * magnitude).sum(axis=0) / total)
        cumulative = np.cumsum(magnitude, axis=0)
        rolloff = self.freqs[np.argmax(cumulative >= 0.85 * cumulative[-1:], axis=0)]

        framed = spectral.frames(segment, self.n_fft, self.hop_length, center=False)
        signs = np.signbit(framed)
        zcr = (signs[:, 1:] != signs[:, :-1]).mean(axis=1)
        rms = np.sqrt(np.mean(np.square(framed, dtype=np.float32), axis=1))

        chroma = librosa.feature.chroma_stft(S=power, sr=self.sr, n_fft=self.n_fft, tuning=0.0)
        # librosa.onset.onset_strength(S=mel_db) of the whole track, a segment at a time: the mean
        # over bands of the positive frame-to-frame differences.
        joined = mel_db if self.previous is None else np.concatenate([self.previous, mel_db], axis=1)
        differences = np.maximum(0.0, joined[:, 1:] - joined[:, :-1]).mean(axis=0)
        self.previous = mel_db[:, -1:].copy()
        descriptors = np.vstack([mfcc, centroid, bandwidth, rolloff, zcr, rms, chroma]).astype(np.float32)
        return descriptors, differences


def _onset(differences: list[np.ndarray], n_frames: int) -> np.ndarray:
    """The onset strength envelope ``[n_frames]`` from :meth:`_Descriptors.describe`'s differences."""
    joined = np.concatenate(differences) if differences else np.zeros(0, dtype=np.float32)
    return np.pad(joined, (_ONSET_DELAY, 0))[:n_frames]


def _describe(blocks: Blocks, sr: int, n_fft: int, hop_length: int, n_mfcc: int, block_frames: int,
              emit: Callable[[int, np.ndarray, np.ndarray], None]) -> None:
    """``emit(first frame, descriptors, onset differences)`` for each segment of the signal, in
    order (a signal longer than one segment is read twice: the log-mel floor is relative to the
    whole track's loudest cell)."""
    describer = _Descriptors(sr, n_fft, hop_length, n_mfcc)

    def second(first: int, segment: np.ndarray, mel) -> None:
        power, mel_db = mel if mel is not None else describer.mel(segment)
        emit(first, *describer.describe(segment, power, mel_db))

    two_passes(blocks, n_fft, hop_length, block_frames, lambda first, segment: describer.mel(segment), second)


def frame_descriptors(y: np.ndarray, sr: int, n_fft: int = 2048, hop_length: int = 512,
                      n_mfcc: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Frame-level descriptors and onset strength of a signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float32
    sr, n_fft, hop_length, n_mfcc : int

    Returns
    -------
    descriptors : np.ndarray [shape=(n_mfcc + 5 + 12, n_frames)], float32
        MFCC, centroid (Hz), bandwidth (Hz), 85 % roll-off (Hz), ZCR (crossings per sample),
        RMS, chroma (12 pitch classes, normalised per frame).
    onset : np.ndarray [shape=(n_frames,)]
        Onset strength envelope, for the tempo (``librosa.onset.onset_strength`` of the log-mel).
    """
    y = np.asarray(y, dtype=np.float32)
    found: list[np.ndarray] = []
    differences: list[np.ndarray] = []

    def emit(first: int, descriptors: np.ndarray, onset_differences: np.ndarray) -> None:
        found.append(descriptors)
        differences.append(onset_differences)

    _describe(lambda: (y,), sr, n_fft, hop_length, n_mfcc, spectral.n_frames(y.shape[0], hop_length), emit)
    descriptors = np.concatenate(found, axis=1)
    return descriptors, _onset(differences, descriptors.shape[1])


class _Moments:
    """Count, mean and variance of columns that arrive in blocks (Chan et al.'s pairwise update,
    float64): the same as ``mean`` and ``var`` over all of them, to float32 rounding."""

    def __init__(self, rows: int):
        self.count = 0
        self.mean = np.zeros(rows)
        self.m2 = np.zeros(rows)

    def add(self, values: np.ndarray) -> None:
        k = values.shape[1]
        if k == 0:
            return
        values = values.astype(np.float64)
        mean = values.mean(axis=1)
        m2 = np.square(values - mean[:, None]).sum(axis=1)
        delta = mean - self.mean
        total = self.count + k
        self.mean += delta * (k / total)
        self.m2 += m2 + np.square(delta) * (self.count * k / total)
        self.count = total

    def stats(self) -> np.ndarray:
        """``[mean_0, var_0, mean_1, var_1, ...]``, float32."""
        return np.stack([self.mean, self.m2 / max(self.count, 1)], axis=1).reshape(-1).astype(np.float32)


def _tempo(onset: np.ndarray, sr: int, hop_length: int, columns: int = 4096) -> float:
    """``librosa.feature.tempo`` of an onset envelope (its mean tempogram, prior, peak), with the
    tempogram computed ``columns`` frames at a time: whole, it takes 8 bytes x 344 lags per frame,
    1.4 GB for a 3-hour track."""
    import librosa

    if onset.shape[0] <= columns:
        return float(librosa.feature.tempo(onset_envelope=onset, sr=sr, hop_length=hop_length)[0])
    lags = int(librosa.time_to_frames(8.0, sr=sr, hop_length=hop_length))  # tempo()'s ac_size of 8 s
    padded = np.pad(onset, lags // 2, mode="linear_ramp", end_values=0)  # tempogram()'s centring
    total = np.zeros(lags)
    for start in range(0, onset.shape[0], columns):
        stop = min(start + columns, onset.shape[0])
        tempogram = librosa.feature.tempogram(onset_envelope=padded[start:stop + lags - 1], sr=sr,
                                              hop_length=hop_length, win_length=lags, center=False)
        total += tempogram.sum(axis=1)
    return float(librosa.feature.tempo(tg=(total / onset.shape[0])[:, None], sr=sr, hop_length=hop_length)[0])


def stream_summary(blocks: Blocks, sink: Sink, sr: int, n_fft: int = 2048, hop_length: int = 512, n_mfcc: int = 20,
                   segment_seconds: float | None = None, block_frames: int = 2048) -> None:
    """:func:`summary_vectors` of a signal that arrives in blocks, in memory that does not grow with
    its length (:meth:`genrekit.features.specs.FeatureSpec.stream`).

    The means and variances are running statistics (float64; equal to those over all frames at
    once to float32 rounding), the onset envelope (4 bytes per frame) is kept for the tempo, whose
    tempogram is averaged a block of frames at a time. A signal longer than ``block_frames``
    frames is read twice: the MFCCs and the onset envelope use the log-mel floored 80 dB below the
    whole track's loudest cell, known only after a first pass.
    """
    names = len(feature_names(n_mfcc)) // 2
    per = max(1, int(round(segment_seconds * sr / hop_length))) if segment_seconds else None
    moments: dict[int, _Moments] = {}
    differences: list[np.ndarray] = []
    seen = [0]

    def emit(first: int, descriptors: np.ndarray, onset_differences: np.ndarray) -> None:
        differences.append(onset_differences)
        k = descriptors.shape[1]
        seen[0] = first + k
        if per is None:
            moments.setdefault(0, _Moments(names)).add(descriptors)
            return
        for part in range(first // per, (first + k - 1) // per + 1):
            a, b = max(part * per, first), min((part + 1) * per, first + k)
            moments.setdefault(part, _Moments(names)).add(descriptors[:, a - first:b - first])

    _describe(blocks, sr, n_fft, hop_length, n_mfcc, block_frames, emit)
    n = seen[0]
    onset = _onset(differences, n)
    if per is None:
        bounds = [(0, n)]
    else:  # whole segments only (a remainder is dropped); a signal shorter than one segment is one
        bounds = [(s, s + per) for s in range(0, max(n - per, 0) + 1, per)]
    columns = [np.append(moments[start // per if per else 0].stats(),
                         np.float32(_tempo(onset[start:stop], sr, hop_length))) for start, stop in bounds]
    out = np.stack(columns, axis=1).astype(np.float32)
    sink.start(out.shape)
    sink.write(0, out)


def summary_vectors(y: np.ndarray, sr: int, n_fft: int = 2048, hop_length: int = 512, n_mfcc: int = 20,
                    segment_seconds: float | None = None) -> np.ndarray:
    """Mean and variance of each descriptor, and the tempo, per segment.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr, n_fft, hop_length, n_mfcc : int
    segment_seconds : float or None
        ``None``: one vector for the whole signal; else consecutive segments of this length
        (a remainder shorter than a segment is dropped; a signal shorter than one segment
        gives one vector).

    Returns
    -------
    np.ndarray [shape=(2 * (n_mfcc + 17) + 1, n_segments)], float32
        Rows as :func:`feature_names`.
    """
    y = np.asarray(y, dtype=np.float32)
    sink = ArraySink()
    stream_summary(lambda: (y,), sink, sr, n_fft, hop_length, n_mfcc, segment_seconds,
                   spectral.n_frames(y.shape[0], hop_length))
    return sink.array


def log_mel_summary(db: np.ndarray, n_mfcc: int = 20) -> np.ndarray:
    """A summary vector from a log-mel spectrogram alone (no audio), e.g. ``gtzan-coarse-mel``.

    MFCCs are the DCT of the log-mel, so the MFCC part of :func:`summary_vectors` can be
    rebuilt from any log-mel; the other descriptors need the waveform and are replaced by
    what the log-mel does show: the centroid and spread over mel bands, the level, and
    the frame-to-frame change (a flux).

    Parameters
    ----------
    db : np.ndarray [shape=(n_mels, n_frames)], dB

    Returns
    -------
    np.ndarray [shape=(4 * n_mfcc + 8,)], float32
        Mean and variance of the MFCCs, of their frame deltas, of the mel-band centroid and
        spread, of the frame level (mean dB) and of the flux.
    """
    import scipy.fft

    db = np.asarray(db, dtype=np.float64)
    mfcc = scipy.fft.dct(db, axis=0, type=2, norm="ortho")[:n_mfcc]
    delta = np.diff(mfcc, axis=1) if db.shape[1] > 1 else np.zeros_like(mfcc)
    weights = np.power(10.0, db / 10.0)
    bands = np.arange(db.shape[0], dtype=np.float64)[:, None]
    total = weights.sum(axis=0) + 1e-12
    centroid = (bands * weights).sum(axis=0) / total
    spread = np.sqrt(((bands - centroid) ** 2 * weights).sum(axis=0) / total)
    level = db.mean(axis=0)
    flux = np.sqrt((np.diff(db, axis=1) ** 2).mean(axis=0)) if db.shape[1] > 1 else np.zeros(1)
    parts = [mfcc, delta, centroid[None], spread[None], level[None], flux[None]]
    return np.concatenate([np.concatenate([p.mean(axis=1), p.var(axis=1)]) for p in parts]).astype(np.float32)
