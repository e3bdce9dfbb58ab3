"""Spectrogram figures: Hz scale against mel scale (Yang & Zhang 2019, Fig. 5), and any spec's input.

Yang & Zhang compare the Hz-scale and the mel-scale spectrogram of a 3 s pop segment: the mel
scale gives the low frequencies, where most of the energy is, most of the rows, so "it more
clearly shows the frequencies where much of total energy concentrates" (sec. 4.3).
:func:`hz_and_mel` computes both from the same STFT (the ``yang2019`` preset's window, FFT
size and hop; 256 Slaney mel bands), each in dB relative to its own maximum with an 80 dB
range; :func:`plot_hz_mel` draws them side by side on the same time axis.

:func:`plot_spec_input` draws what any feature preset computes for a file (the input a
network of that preset sees), with its time axis in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genrekit import features
from genrekit.errors import FeatureError
from genrekit.features import spectral
from genrekit.plotting import new_figure, save_png

__all__ = ["SEGMENT_SECONDS", "hz_and_mel", "plot_hz_mel", "plot_spec_input", "segment"]

#: Yang & Zhang 2019, Fig. 5: "the spectrograms of a 3-second pop music segment".
SEGMENT_SECONDS = 3.0


def segment(y: np.ndarray, sr: int, start: float = 0.0, seconds: float = SEGMENT_SECONDS,
            name: str = "the signal") -> np.ndarray:
    """``seconds`` of ``y`` from ``start`` (seconds).

    Raises
    ------
    FeatureError
        If the signal ends before ``start + seconds``.
    """
    first, count = int(round(start * sr)), int(round(seconds * sr))
    if start < 0 or seconds <= 0 or first + count > len(y):
        raise FeatureError(f"{name} is {len(y) / sr:.2f} s long: too short for a {seconds:g} s segment from "
                           f"{start:g} s; choose an earlier --start or fewer --seconds")
    return np.asarray(y[first:first + count], dtype=np.float32)


def hz_and_mel(y: np.ndarray, sr: int, spec: str = "yang2019") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hz-scale and mel-scale power spectrograms in dB, from the same STFT.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int
    spec : str
        A log-mel preset whose STFT and mel settings are used (``yang2019``: n_fft 1024,
        hop 512, Hann window, 256 bands).

    Returns
    -------
    hz : np.ndarray [shape=(1 + n_fft // 2, n_frames)], dB (0 at the maximum, 80 dB range)
    mel : np.ndarray [shape=(n_mels, n_frames)], dB (same)
    mel_hz : np.ndarray [shape=(n_mels,)]
        Centre frequency of each mel band in Hz.
    """
    settings = features.get(spec)
    if settings.kind != "log_mel":
        raise FeatureError(f"hz_and_mel needs a log-mel preset, got {spec} ({settings.kind})")
    power = spectral.power_spectrogram(y, settings.n_fft, settings.hop_length, settings.win_length,
                                       settings.window)
    mel = spectral.mel_spectrogram(y, sr, settings.n_fft, settings.hop_length, settings.n_mels, settings.fmin,
                                   settings.fmax, settings.win_length, settings.window)
    top = settings.fmax or sr / 2
    edges = spectral.mel_to_hz(np.linspace(spectral.hz_to_mel(settings.fmin), spectral.hz_to_mel(top),
                                           settings.n_mels + 2))
    return (spectral.power_to_db(power.T, top_db=80.0), spectral.power_to_db(mel, top_db=80.0),
            np.asarray(edges[1:-1], dtype=np.float64))


def plot_hz_mel(y: np.ndarray, sr: int, path: str | os.PathLike, *, title: str = "",
                spec: str = "yang2019") -> Path:
    """Draw the Hz-scale (left) and mel-scale (right) spectrograms of a signal, as a PNG.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Usually a 3 s :func:`segment`.
    sr : int
    path : path-like
    title : str
    spec : str
        See :func:`hz_and_mel`.

    Returns
    -------
    pathlib.Path
    """
    hz, mel, centres = hz_and_mel(y, sr, spec)
    seconds = len(y) / sr
    figure = new_figure(10.0, 4.0)
    left, right = figure.subplots(1, 2)
    image = left.imshow(hz, origin="lower", aspect="auto", cmap="magma", vmin=-80, vmax=0,
                        extent=(0.0, seconds, 0.0, sr / 2000))
    left.set_ylabel("frequency (kHz, linear)")
    left.set_title(f"Hz scale ({hz.shape[0]} bins)", loc="left")
    right.imshow(mel, origin="lower", aspect="auto", cmap="magma", vmin=-80, vmax=0,
                 extent=(0.0, seconds, 0.0, mel.shape[0]))
    ticks = [t for t in (100, 250, 500, 1000, 2000, 4000, 8000) if t < centres[-1]]
    right.set_yticks([float(np.interp(t, centres, np.arange(len(centres)) + 0.5)) for t in ticks])
    right.set_yticklabels([f"{t / 1000:g}" for t in ticks])
    right.set_ylabel("frequency (kHz, mel scale)")
    right.set_title(f"mel scale ({mel.shape[0]} bands)", loc="left")
    for axes in (left, right):
        axes.set_xlabel("time (s)")
    figure.colorbar(image, ax=[left, right], label="dB (0 = maximum)", fraction=0.03)
    figure.suptitle(title or "Hz-scale and mel-scale spectrograms")
    return save_png(figure, path)


def plot_spec_input(values: np.ndarray, spec: str | features.FeatureSpec, path: str | os.PathLike, *,
                    title: str = "") -> Path:
    """Draw a feature preset's output for a track (the network's input), as a PNG.

    Parameters
    ----------
    values : np.ndarray [shape=(spec.bands, n_frames)]
        :func:`genrekit.features.compute_features` output.
    spec : str or FeatureSpec
    path : path-like
    title : str

    Returns
    -------
    pathlib.Path
    """
    spec = features.get(spec)
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise FeatureError(f"features are [bands, frames], got shape {values.shape}")
    rows = values
    label = "value"
    if values.shape[0] <= 16:  # a map of different features (Senac's eight): each row on its own scale
        low, high = values.min(axis=1, keepdims=True), values.max(axis=1, keepdims=True)
        rows = (values - low) / np.where(high > low, high - low, 1.0)
        label = "each row scaled to [0, 1]"
    figure = new_figure(12.0, 4.5)
    axes = figure.add_subplot(1, 1, 1)
    seconds = values.shape[1] * spec.hop_seconds
    image = axes.imshow(rows, origin="lower", aspect="auto", cmap="magma", extent=(0.0, seconds, 0, values.shape[0]),
                        interpolation="nearest")
    axes.set_xlabel("time (s)")
    axes.set_ylabel(f"{spec.kind} row (of {values.shape[0]})")
    clip = spec.clip
    axes.set_title(f"{spec.name} ({spec.kind}, {values.shape[0]} x {values.shape[1]}; clips of {clip.frames} "
                   f"frames = {spec.clip_seconds:.2f} s, hop {clip.hop})", loc="left", fontsize=10)
    figure.colorbar(image, ax=axes, label=label, fraction=0.03)
    figure.suptitle(title or "")
    return save_png(figure, path)
