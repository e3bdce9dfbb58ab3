"""Does a classifier's answer depend on the music only? The same recording, changed the ways real files differ.

A user's files are not GTZAN's 22.05 kHz mono excerpts cut from the middle of songs: they are 44.1 or
48 kHz, stereo or 5.1, 16-bit, 24-bit or float, louder or quieter, with silence and fades at both ends,
whole songs around the music, MP3, Vorbis or Opus. :data:`VARIANTS` makes each of those changes to one recording
(none of them changes the music, and the encodings only as much as they do), :func:`write_variants` writes them as
real audio files, and :func:`measure`
classifies the originals and their variants through the same file path users take
(:meth:`genrekit.inference.Classifier.predict`) and reports, per change, the largest change of any genre
probability and how many files changed their top genre.

Used by ``benchmarks/invariance.py`` (the model card's table) and ``tests/test_robustness.py`` (the
targets: a change of at most :data:`MAX_CHANGE` and no top-genre change).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import soundfile as sf

from genrekit import audio

__all__ = ["Variant", "VARIANTS", "MAX_CHANGE", "write_variants", "measure", "margin", "whole_song"]

#: The target: no genre probability moves by more than this between a recording and any variant.
MAX_CHANGE = 0.05


@dataclass(frozen=True)
class Variant:
    """One way a file of the same music can differ.

    Attributes
    ----------
    name : str
        What was changed, for tables.
    make : callable
        ``make(y, sr) -> (samples, rate)``: mono float ``y`` [shape=(n,)] at ``sr`` -> the file's samples
        [shape=(n', channels)] at ``rate``.
    subtype : str
        How the samples are stored (libsndfile subtype: ``PCM_16``, ``PCM_24``, ``FLOAT``; ``MPEG_LAYER_III``,
        ``VORBIS``, ``OPUS`` for the lossy encodings).
    level : float, optional
        libsndfile's compression level of a lossy encoding (MP3: 0 is 320 kb/s, 0.66 is 128 kb/s at 44.1 kHz;
        Vorbis: 0.5 is quality 5; Opus: 0.82 is about 96 kb/s).
    """

    name: str
    make: Callable[[np.ndarray, int], tuple[np.ndarray, int]]
    subtype: str = "PCM_16"
    level: float | None = None

    #: The container of PCM samples: ``WAV`` or ``FLAC``.
    container: str = "WAV"

    @property
    def file_format(self) -> tuple[str, str]:
        """libsndfile's major format and the file extension for :attr:`subtype`."""
        return {"MPEG_LAYER_III": ("MP3", "mp3"), "VORBIS": ("OGG", "ogg"), "OPUS": ("OGG", "opus")}.get(
            self.subtype, (self.container, self.container.lower()))


def _mono(y: np.ndarray) -> np.ndarray:
    return np.asarray(y, dtype=np.float64)[:, None]


def _resampled(rate: int) -> Callable:
    return lambda y, sr: (_mono(audio.resample(y, sr, rate)), rate)


def _gain(db: float) -> Callable:
    return lambda y, sr: (_mono(y) * 10.0 ** (db / 20.0), sr)


def _silence(before: float, after: float) -> Callable:
    def make(y, sr):
        return _mono(np.concatenate([np.zeros(int(before * sr)), y, np.zeros(int(after * sr))])), sr
    return make


def _faded(y: np.ndarray, sr: int, fade_in: float, fade_out: float) -> np.ndarray:
    """Linear fades (in amplitude) over the first and last seconds."""
    y = np.asarray(y, dtype=np.float64).copy()
    n_in, n_out = int(fade_in * sr), int(fade_out * sr)
    if n_in:
        y[:n_in] *= np.linspace(0.0, 1.0, n_in)
    if n_out:
        y[-n_out:] *= np.linspace(1.0, 0.0, n_out)
    return y


def _stereo(y, sr):
    """Left the recording, right 6 dB lower: a mix whose channels differ (mono is their mean)."""
    y = np.asarray(y, dtype=np.float64)
    return np.stack([y, 0.5 * y], axis=1), sr


def _surround(y, sr):
    """5.1 at 48 kHz (a film's or a concert video's track): six different channels, the LFE low-passed."""
    from scipy.signal import butter, sosfilt

    y48 = audio.resample(y, sr, 48000).astype(np.float64)
    lfe = sosfilt(butter(4, 120.0, fs=48000, output="sos"), y48)
    gains = (0.9, 0.7, 0.6, 0.0, 0.3, 0.25)  # FL FR C LFE SL SR
    channels = [g * y48 for g in gains]
    channels[3] = 0.5 * lfe
    return np.stack(channels, axis=1), 48000


def _dc(y, sr):
    return _mono(0.9 * np.asarray(y, dtype=np.float64) + 0.05), sr


def _ripped(rate: int) -> Callable:
    """Resampled to ``rate`` and stereo (a ripped CD's or a download's layout; channels 1 dB apart)."""
    def make(y, sr):
        z = audio.resample(y, sr, rate).astype(np.float64)
        return np.stack([z, 0.9 * z], axis=1), rate
    return make


def whole_song(y: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    """As a ripped song is: 44.1 kHz stereo, 1.5 s of silence, a 3 s fade-in, the music, a 3 s fade-out, 4 s
    of silence (``benchmarks/whole_songs.py`` writes its songs so too).

    Returns
    -------
    samples : np.ndarray [shape=(n, 2)], float64
    rate : int
    """
    music = _faded(audio.resample(y, sr, 44100), 44100, 3.0, 3.0)
    padded = np.concatenate([np.zeros(int(1.5 * 44100)), music, np.zeros(4 * 44100)])
    return np.stack([padded, 0.8 * padded], axis=1), 44100


#: The changes measured, in the order of the model card's table.
VARIANTS: tuple[Variant, ...] = (
    Variant("resampled to 32 kHz", _resampled(32000)),
    Variant("resampled to 44.1 kHz", _resampled(44100)),
    Variant("resampled to 48 kHz", _resampled(48000)),
    Variant("resampled to 96 kHz", _resampled(96000)),
    Variant("44.1 kHz, 24-bit", _resampled(44100), "PCM_24"),
    Variant("44.1 kHz, float", _resampled(44100), "FLOAT"),
    Variant("stereo, channels differ", _stereo),
    Variant("5.1 at 48 kHz, down-mixed", _surround, "PCM_24"),
    Variant("gain -20 dB", _gain(-20.0), "FLOAT"),
    Variant("gain -6 dB", _gain(-6.0), "FLOAT"),
    Variant("gain +6 dB (float, not clipped)", _gain(6.0), "FLOAT"),
    Variant("0.5 s of silence before", _silence(0.5, 0.0)),
    Variant("2 s of silence before", _silence(2.0, 0.0)),
    Variant("5 s of silence before", _silence(5.0, 0.0)),
    Variant("0.5 s of silence after", _silence(0.0, 0.5)),
    Variant("5 s of silence after", _silence(0.0, 5.0)),
    Variant("5 s of silence before and after", _silence(5.0, 5.0)),
    Variant("3 s fade-in", lambda y, sr: (_mono(_faded(y, sr, 3.0, 0.0)), sr)),
    Variant("3 s fade-out", lambda y, sr: (_mono(_faded(y, sr, 0.0, 3.0)), sr)),
    Variant("DC offset 0.05", _dc, "FLOAT"),
    Variant("inside a longer recording (20 s silence, music, 20 s silence)", _silence(20.0, 20.0)),
    Variant("as a whole song (44.1 kHz stereo, silence, fades)", whole_song),
    Variant("FLAC 24-bit (44.1 kHz stereo)", _ripped(44100), "PCM_24", container="FLAC"),
    Variant("MP3 320 kb/s (44.1 kHz stereo)", _ripped(44100), "MPEG_LAYER_III", 0.0),
    Variant("MP3 128 kb/s (44.1 kHz stereo)", _ripped(44100), "MPEG_LAYER_III", 0.66),
    Variant("Ogg Vorbis q5 (44.1 kHz stereo)", _ripped(44100), "VORBIS", 0.5),
    Variant("Opus ~96 kb/s (48 kHz stereo)", _ripped(48000), "OPUS", 0.82),
)


def write_variants(path: str | os.PathLike, folder: str | os.PathLike,
                   variants: Iterable[Variant] = VARIANTS) -> dict[str, Path]:
    """Write every variant of the recording at ``path`` as an audio file in ``folder`` (WAV, or the lossy encoding's);
    a variant already written there is kept.

    Returns
    -------
    dict of str to Path
        Variant name -> its file (``STEM.vNN.wav``, ``.mp3``, ``.ogg``, ``.opus``).
    """
    sr = audio.info(path).sr
    y = audio.load(path, sr=None)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for i, variant in enumerate(variants):
        major, extension = variant.file_format
        target = folder / f"{Path(path).stem}.v{i:02d}.{extension}"
        written[variant.name] = target
        if target.exists():  # written before into this folder (another model measured on the same files)
            continue
        samples, rate = variant.make(y, sr)
        if variant.subtype != "FLOAT":  # a resampler's overshoot of a loud master clips, as a converter's does
            samples = np.clip(samples, -1.0, 1.0)
        extra = {} if variant.level is None else {"compression_level": variant.level}
        if major == "MP3":
            extra["bitrate_mode"] = "CONSTANT"
        part = target.with_name(f".{target.name}.part")  # complete files only under the final name
        sf.write(part, samples.astype(np.float32), rate, format=major, subtype=variant.subtype, **extra)
        os.replace(part, target)
    return written


def measure(classifier, paths: Iterable[str | os.PathLike], folder: str | os.PathLike,
            variants: Iterable[Variant] = VARIANTS) -> dict:
    """Classify recordings and their variants; per variant, how far the answers moved.

    Parameters
    ----------
    classifier : genrekit.inference.Classifier
    paths : iterable of paths
        The original recordings.
    folder : path
        Where the variants are written.

    Returns
    -------
    dict
        Variant name -> ``{"max_change": float, "top_changes": int, "files": int, "worst": name of the file
        with the largest change, "flipped_margins": {file: its original's lead of the top genre over the second,
        for each file whose top genre changed}}``; the originals' own predictions under ``"originals"`` (file
        name -> genre).
    """
    variants = tuple(variants)
    paths = [Path(p) for p in paths]
    written = {path: write_variants(path, folder, variants) for path in paths}
    flat = [path for path in paths] + [f for files in written.values() for f in files.values()]
    results = {Path(p.path): p for p in classifier.predict(flat)}
    for prediction in results.values():
        if prediction.error:
            raise RuntimeError(f"{prediction.path}: {prediction.error}")
    table: dict = {"originals": {path.stem: results[path].genre for path in paths}}
    for variant in variants:
        worst, worst_file, flips = 0.0, None, {}
        for path in paths:
            reference, other = results[path], results[written[path][variant.name]]
            change = max(abs(other.probabilities[g] - p) for g, p in reference.probabilities.items())
            if change >= worst:
                worst, worst_file = change, path.stem
            if other.genre != reference.genre:
                flips[path.stem] = round(margin(reference.probabilities), 4)
        table[variant.name] = {"max_change": round(worst, 4), "top_changes": len(flips), "files": len(paths),
                               "worst": worst_file, "flipped_margins": flips}
    return table


def margin(probabilities: dict) -> float:
    """How far the top genre leads the second: a top genre that changes under a change of ``c`` led by at most
    ``2 c``."""
    first, second = sorted(probabilities.values(), reverse=True)[:2]
    return first - second
