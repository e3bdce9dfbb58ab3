"""Summary feature vectors for the classical baselines (Wang, sec. IV and Table II).

The classical models (KNN, decision tree, random forest, SVM, logistic regression) do not
see spectrograms but a fixed-length vector per track (or per segment): the means and
variances of frame-level descriptors. The set follows the GTZAN feature tables that are
commonly used with such baselines: MFCC, spectral centroid, bandwidth and roll-off,
zero-crossing rate, RMS energy, chroma, and the tempo.

All frame-level descriptors come from one power spectrogram, computed once.
"""

from __future__ import annotations

import numpy as np

from genrekit.features import spectral

__all__ = ["feature_names", "frame_descriptors", "summary_vectors", "log_mel_summary"]

_SCALAR = ("centroid", "bandwidth", "rolloff", "zcr", "rms")


def feature_names(n_mfcc: int = 20) -> list[str]:
    """Row names of :func:`summary_vectors`' output, e.g. ``mfcc3_mean``, ``chroma11_var``, ``tempo``."""
    base = [f"mfcc{i}" for i in range(n_mfcc)] + list(_SCALAR) + [f"chroma{i}" for i in range(12)]
    return [f"{b}_{stat}" for b in base for stat in ("mean", "var")] + ["tempo"]


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
        Onset strength envelope, for the tempo.
    """
    import librosa
    import scipy.fft

    power = spectral.power_spectrogram(y, n_fft, hop_length).T  # [bins, frames]
    magnitude = np.sqrt(power)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr).astype(np.float32)

    weights, first, last = spectral.mel_filterbank(sr, n_fft, 128)
    mel_db = spectral.power_to_db(weights.T @ power[first:last], top_db=80.0, ref=1.0)
    mfcc = scipy.fft.dct(mel_db, axis=0, type=2, norm="ortho")[:n_mfcc]

    total = magnitude.sum(axis=0) + 1e-10
    centroid = (freqs[:, None] * magnitude).sum(axis=0) / total
    bandwidth = np.sqrt(((freqs[:, None] - centroid[None]) ** 2 * magnitude).sum(axis=0) / total)
    cumulative = np.cumsum(magnitude, axis=0)
    rolloff = freqs[np.argmax(cumulative >= 0.85 * cumulative[-1:], axis=0)]

    framed = spectral.frames(y, n_fft, hop_length)
    signs = np.signbit(framed)
    zcr = (signs[:, 1:] != signs[:, :-1]).mean(axis=1)
    rms = np.sqrt(np.mean(np.square(framed, dtype=np.float32), axis=1))

    chroma = librosa.feature.chroma_stft(S=power, sr=sr, n_fft=n_fft, tuning=0.0)
    onset = librosa.onset.onset_strength(S=mel_db, sr=sr)
    descriptors = np.vstack([mfcc, centroid, bandwidth, rolloff, zcr, rms, chroma]).astype(np.float32)
    return descriptors, onset


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
    import librosa

    descriptors, onset = frame_descriptors(y, sr, n_fft, hop_length, n_mfcc)
    n = descriptors.shape[1]
    if segment_seconds:
        seg = max(1, int(round(segment_seconds * sr / hop_length)))
        bounds = [(s, s + seg) for s in range(0, max(n - seg, 0) + 1, seg)]
    else:
        bounds = [(0, n)]
    columns = []
    for start, stop in bounds:
        part = descriptors[:, start:stop]
        stats = np.stack([part.mean(axis=1), part.var(axis=1)], axis=1).reshape(-1)
        tempo = librosa.feature.tempo(onset_envelope=onset[start:stop], sr=sr, hop_length=hop_length)
        columns.append(np.append(stats, np.float32(tempo[0])))
    return np.stack(columns, axis=1).astype(np.float32)


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
