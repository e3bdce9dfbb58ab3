"""Figures of a track's features, drawn with matplotlib's Agg backend (no display needed).

:func:`plot_music_features` draws the eight music features of Senac et al. 2017 (sec. 2.2,
:mod:`genrekit.features.music`) over the track's log-mel spectrogram, one lane per feature,
so that what each curve follows in the sound can be seen: energy with loudness, ZCR and
brightness with cymbals and noise, HCDF peaks at chord changes, roughness with dense chords.

    genrekit plot music-features track.wav --out track.png
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genrekit.audio import DEFAULT_SR
from genrekit.features import music, spectral
from genrekit.plotting import new_figure, save_png

__all__ = ["plot_music_features"]

# Colours that stand out on a greyscale spectrogram, one per feature (row order of music.FEATURES).
_COLOURS = ("#e41a1c", "#ff7f00", "#ffd700", "#4daf4a", "#00bfff", "#984ea3", "#f781bf", "#ffffff")


def plot_music_features(y: np.ndarray, sr: int = DEFAULT_SR, path: str | os.PathLike = "music_features.png", *,
                        title: str | None = None, width: int = 1400, height: int = 800,
                        values: dict[str, np.ndarray] | None = None) -> Path:
    """Draw the eight music features of a track over its log-mel spectrogram, as a PNG.

    The spectrogram (128 Slaney mel bands, 1024-sample frames, hop 512, dB relative to the
    track's maximum, 80 dB range) fills the plot in grey; the height is divided into eight
    lanes, bottom to top in :data:`genrekit.features.music.FEATURES` order, and each
    feature's curve is drawn in its lane, scaled from its minimum to its maximum over the
    track; the lane's label gives that range in the feature's own units. Frames of the
    features and of the spectrogram share the same centres, so curve and image line up.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``sr``.
    sr : int
    path : str or path-like
        Where to write the PNG (parent folders are created).
    title : str, optional
        Figure title (e.g. the file name).
    width, height : int
        Size of the PNG in pixels.
    values : dict of str to np.ndarray [shape=(n_frames,)], optional
        Precomputed :func:`genrekit.features.music.compute` output for ``y``.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    y = np.asarray(y, dtype=np.float32)
    if values is None:
        values = music.compute(y, sr)
    db = spectral.power_to_db(spectral.mel_spectrogram(y, sr, 1024, 512, 128), top_db=80.0)
    n_frames = db.shape[1]
    times = np.arange(n_frames) * 512 / sr
    lanes = len(music.FEATURES)

    dpi = 100
    figure = new_figure(width / dpi, height / dpi, dpi=dpi)
    axes = figure.add_axes((0.05, 0.08, 0.70, 0.84))
    end = max(times[-1], 512 / sr)
    # The spectrogram dimmed (over black) so that the coloured curves stand out on loud tracks.
    axes.set_facecolor("black")
    axes.imshow(db, origin="lower", aspect="auto", cmap="gray", extent=(0.0, end, 0.0, lanes),
                interpolation="nearest", vmin=-80.0, vmax=0.0, alpha=0.6)
    labels = []
    for lane, name in enumerate(music.FEATURES):
        curve = np.asarray(values[name], dtype=np.float64)[:n_frames]
        low, high = float(curve.min()), float(curve.max())
        scaled = (curve - low) / (high - low) if high > low else np.full_like(curve, 0.5)
        # 10 % margin inside each lane so neighbouring curves never touch.
        axes.plot(times[:curve.size], lane + 0.1 + 0.8 * scaled, color=_COLOURS[lane], linewidth=1.0)
        if lane:
            axes.axhline(lane, color="#808080", linewidth=0.5, linestyle=":")
        labels.append(f"{name.replace('_', ' ')}  [{_number(low)}, {_number(high)}]")
    axes.set_xlim(0.0, end)
    axes.set_ylim(0.0, lanes)
    axes.set_xlabel("time (s)")
    axes.set_yticks([])
    axes.set_ylabel("log-mel spectrogram, 128 bands (low to high)")
    side = axes.twinx()
    side.set_ylim(0.0, lanes)
    side.set_yticks(np.arange(lanes) + 0.5)
    side.set_yticklabels(labels)
    for tick, colour in zip(side.get_yticklabels(), _COLOURS):
        tick.set_color("black")
        tick.set_bbox({"facecolor": colour, "edgecolor": "none", "alpha": 0.35, "pad": 1.5})
    axes.set_title(title or "music features", loc="left")
    figure.text(0.05, 0.015, "Senac et al. 2017 music features (genrekit.features.music), each scaled "
                "to its lane from its minimum to its maximum over the track; labels give that range.",
                fontsize=8, color="#404040")
    return save_png(figure, path)


def _number(x: float) -> str:
    """A short label for a value of any magnitude."""
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    return f"{x:.2e}"
