"""musicnn's input: its own 16 kHz log-mel from audio, and the same made from coarse-mel arrays.

musicnn (Pons & Serra 2019, "musicnn: pre-trained convolutional neural networks for music
audio tagging"; ``musicnn/extractor.py`` and ``configuration.py`` of PyPI ``musicnn==0.1.0``)
reads 3 s patches of a mel spectrogram:

1. audio resampled to 16 kHz (``librosa.load(path, sr=16000)``: soxr, high quality);
2. ``librosa.feature.melspectrogram(n_fft=512, hop_length=256, n_mels=96)``: power spectrum of a
   centred, zero-padded periodic Hann STFT, 96 Slaney mel bands from 0 to 8 kHz;
3. cast to float16 (musicnn does; the rounding is kept) and ``log10(10000 * x + 1)``, computed
   in float32 (musicnn multiplies in float16, which overflows to inf under NumPy 2);
4. non-overlapping patches of 187 frames (3 s).

:func:`mel_from_audio` is that recipe; ``tests/test_musicnn_input.py`` checks it against the inputs
musicnn's own code produced for the ten real GTZAN excerpts (within float16 rounding).

:func:`mel_from_coarse` makes the same representation from a coarse-mel array (128 Slaney bands
of a 2048-point STFT at 22,050 Hz, dB relative to the clip's maximum, one column per 77.5 ms;
``genrekit.features.specs.CoarseMelSpec``), for the data sets that have no audio:

- **level**: dB relative to the clip's maximum -> mel power with the loudest cell at
  :data:`PEAK_DB`, the median peak of real GTZAN clips (the absolute level is lost in coarse-mel);
- **bands**: each coarse band's power divided by its filter's total weight is the mean power per
  FFT bin around the band's centre; that spectrum is interpolated (linearly in Hz) to the
  512-point bins at 16 kHz and integrated with musicnn's 96 triangles (:func:`coarse_projection`),
  then scaled by :data:`GAIN_DB` and the top bands by :data:`TOP_BAND_DB`;
- **time**: each 16 ms musicnn frame takes the coarse column nearest in time (smooth
  interpolation between columns did worse in a feasibility study).

Every constant is measured from the ten real excerpts in ``../shared/data/gtzan-samples`` by
``scripts/measure_musicnn_adapter.py``; the numbers and where they come from are next to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from genrekit.errors import FeatureError
from genrekit.features import spectral
from genrekit.features.clips import ClipSpec
from genrekit.features.specs import FeatureSpec, get, register

__all__ = ["SR", "N_FFT", "HOP", "N_MELS", "PATCH_FRAMES", "PEAK_DB", "GAIN_DB", "TOP_BAND_DB",
           "log_compress", "mel_from_audio", "coarse_projection", "coarse_frame_times", "coarse_n_frames", "mel_from_coarse",
           "patches", "MusicnnMelSpec", "MusicnnCoarseSpec"]

#: musicnn's ``configuration.py``: SR, FFT_SIZE, FFT_HOP, N_MELS, and the 3 s patch (``n_frames = 187``).
SR, N_FFT, HOP, N_MELS, PATCH_FRAMES = 16000, 512, 256, 96, 187

#: The coarse-mel front end's STFT (its README): 22,050 Hz, 2048 points, hop 512, 128 bands.
COARSE_SR, COARSE_N_FFT, COARSE_HOP, COARSE_MELS = 22050, 2048, 512, 128
#: STFT frames per coarse column: a 30 s clip's 1293 frames over 387.5 columns (its README).
COARSE_STRIDE = 1293 / 387.5

#: dB (10 log10 of mel power on the 2048-point scale) given to a coarse clip's loudest cell: the
#: median over the ten real GTZAN excerpts of the loudest cell of their 128-band mel (30.05 dB;
#: range 22.8-36.1). A feasibility study found other fixed levels no better.
PEAK_DB = 30.0

#: Gain from 2048-point to 512-point power: the (512 / 2048)^2 of a steady sinusoid (-12.04 dB)
#: plus the median difference of the time-averaged spectra of musicnn's real input and the projected
#: full-resolution 128-band mel over bands 0-93 of the ten excerpts (+4.63 dB; standard deviation across
#: bands 0.15 dB): music is between a sinusoid and noise.
GAIN_DB = -12.04 + 4.63

#: Extra gain of musicnn's two top bands (7.6-8 kHz), measured the same way: soxr's anti-aliasing
#: filter rolls off there when the audio is resampled to 16 kHz, which the 22,050 Hz spectrum lacks.
TOP_BAND_DB = (-0.97, -9.13)


def log_compress(mel: np.ndarray) -> np.ndarray:
    """musicnn's ``log10(10000 * x + 1)``, in float32."""
    return np.log10(np.float32(10000.0) * np.asarray(mel, dtype=np.float32) + np.float32(1.0))


def mel_from_audio(y: np.ndarray) -> np.ndarray:
    """musicnn's input for a whole signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float32 at 16 kHz

    Returns
    -------
    np.ndarray [shape=(n_frames, 96)], float32
        Log-compressed mel, time-major as musicnn reads it; ``n_frames = 1 + n // 256``.
    """
    mel = spectral.mel_spectrogram(np.asarray(y, dtype=np.float32), SR, N_FFT, HOP, N_MELS).T
    return log_compress(mel.astype(np.float16).astype(np.float32))


def _filters(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Dense Slaney filterbank, ``[n_mels, 1 + n_fft // 2]`` float64."""
    weights, first, last = spectral.mel_filterbank(sr, n_fft, n_mels)
    full = np.zeros((n_mels, n_fft // 2 + 1))
    full[:, first:last] = weights.T
    return full


def _centres(sr: int, n_mels: int) -> np.ndarray:
    """Centre frequencies (Hz) of the Slaney filters from 0 to ``sr / 2``."""
    edges = spectral.mel_to_hz(np.linspace(spectral.hz_to_mel(0.0), spectral.hz_to_mel(sr / 2.0), n_mels + 2))
    return edges[1:-1]


@lru_cache(maxsize=1)
def coarse_projection() -> np.ndarray:
    """The linear map from coarse mel power to musicnn mel power.

    Returns
    -------
    np.ndarray [shape=(96, 128)], float32
        ``musicnn_mel = P @ coarse_mel`` for power values (not dB); includes :data:`GAIN_DB` and
        :data:`TOP_BAND_DB`.
    """
    source = _filters(COARSE_SR, COARSE_N_FFT, COARSE_MELS)
    per_bin = 1.0 / source.sum(axis=1)                       # band power -> mean power per FFT bin
    bins = np.fft.rfftfreq(N_FFT, 1.0 / SR)                  # musicnn's 257 bins, 0-8 kHz
    interpolate = np.stack([np.interp(bins, _centres(COARSE_SR, COARSE_MELS), column)
                            for column in np.eye(COARSE_MELS)], axis=1)      # [257, 128]
    projection = _filters(SR, N_FFT, N_MELS) @ interpolate * per_bin[None, :]
    gain = np.full(N_MELS, GAIN_DB)
    gain[-len(TOP_BAND_DB):] += TOP_BAND_DB
    projection *= 10.0 ** (gain / 10.0)[:, None]
    projection = projection.astype(np.float32)
    projection.setflags(write=False)
    return projection


def coarse_frame_times(n_columns: int, phase: float = 0.0) -> np.ndarray:
    """Centre times (s) of a coarse-mel array's columns.

    A 30 s clip (387 columns, the usual case) shows STFT frames ``floor((2c + 1) * 1293 / 775)``;
    other widths keep that stride of 1293 / 387.5 frames per column (the coarse-mel README); a grid of
    ``phase`` (``CoarseMelSpec.phase``) starts that fraction of a stride later.
    """
    return np.floor((np.arange(n_columns) + 0.5 + phase) * COARSE_STRIDE) * COARSE_HOP / COARSE_SR


def coarse_n_frames(n_columns: int) -> int:
    """musicnn frames (16 ms) over the duration that ``n_columns`` coarse-mel columns cover."""
    seconds = n_columns * COARSE_STRIDE * COARSE_HOP / COARSE_SR
    return 1 + int(seconds * SR) // HOP


def mel_from_coarse(db: np.ndarray, peak_db: float = PEAK_DB, phase: float = 0.0) -> np.ndarray:
    """musicnn's input made from a coarse-mel array.

    Parameters
    ----------
    db : np.ndarray [shape=(128, n_columns)]
        Coarse-mel dB, 0 at the clip's loudest cell (``genrekit.datasets.gtzan_coarse_mel.to_db``, or
        the ``coarse_mel`` preset computed from audio).
    peak_db : float
        Level given to the loudest cell (:data:`PEAK_DB`).
    phase : float
        The phase of the array's column grid (``CoarseMelSpec.phase``; the data set's arrays: 0).

    Returns
    -------
    np.ndarray [shape=(n_frames, 96)], float32
        Log-compressed mel at musicnn's 16 ms frames over the same duration.
    """
    db = np.asarray(db, dtype=np.float32)
    if db.ndim != 2 or db.shape[0] != COARSE_MELS or db.shape[1] == 0:
        raise FeatureError(f"a coarse-mel array is [128, columns], got shape {db.shape}")
    power = 10.0 ** ((db - db.max() + np.float32(peak_db)) / np.float32(10.0))
    mel = coarse_projection() @ power                        # [96, n_columns]
    times = coarse_frame_times(db.shape[1], phase)
    frame_times = np.arange(coarse_n_frames(db.shape[1])) * HOP / SR + (times[0] - coarse_frame_times(1)[0])
    after = np.clip(np.searchsorted(times, frame_times), 1, max(1, len(times) - 1))
    nearest = np.where(frame_times - times[after - 1] <= times[np.minimum(after, len(times) - 1)] - frame_times,
                       after - 1, np.minimum(after, len(times) - 1))
    return log_compress(mel[:, nearest].T)


def patches(x: np.ndarray, frames: int = PATCH_FRAMES) -> np.ndarray:
    """Non-overlapping patches, as musicnn cuts its input.

    Parameters
    ----------
    x : np.ndarray [shape=(n_frames, 96)]

    Returns
    -------
    np.ndarray [shape=(n_patches, frames, 96)]
        ``n_frames // frames`` patches (a view); a signal shorter than one patch gives one patch,
        edge-padded, so any non-empty input has an embedding.
    """
    if x.shape[0] == 0:
        raise FeatureError("no frames to cut into musicnn patches")
    if x.shape[0] < frames:
        x = np.pad(x, ((0, frames - x.shape[0]), (0, 0)), mode="edge")
    n = x.shape[0] // frames
    return x[:n * frames].reshape(n, frames, x.shape[1])


# Feature specs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MusicnnMelSpec(FeatureSpec):
    """musicnn's own input from audio (:func:`mel_from_audio`), band-major like every spec.

    Output ``[96, n_frames]`` at 16 ms per frame; clips are musicnn's 3 s patches (187 frames,
    side by side). Transpose a clip to ``[187, 96]`` for :func:`genrekit.models.musicnn.load`.
    """

    kind: ClassVar[str] = "musicnn_mel"
    name: str = "musicnn"
    sr: int = SR
    clip: ClipSpec = ClipSpec(PATCH_FRAMES, PATCH_FRAMES)

    @property
    def bands(self) -> int:
        return N_MELS

    @property
    def hop_seconds(self) -> float:
        return HOP / SR

    def n_frames(self, n_samples: int) -> int:
        return spectral.n_frames(n_samples, HOP)

    def compute(self, y: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(mel_from_audio(y).T)


@dataclass(frozen=True)
class MusicnnCoarseSpec(MusicnnMelSpec):
    """musicnn's input made from the coarse-mel representation (:func:`mel_from_coarse`).

    From audio it computes the ``coarse_mel`` preset first, so a model trained on the coarse-mel
    data set (which has no audio) sees the same input from a user's file.
    :attr:`derives_from` lets a data set that holds coarse-mel arrays be converted directly
    (:meth:`from_source`). Output ``[96, n_frames]``, 16 ms frames, 187-frame clips (the bands, frame
    rate and clips of :class:`MusicnnMelSpec`).
    """

    kind: ClassVar[str] = "musicnn_coarse"
    #: The preset whose arrays :meth:`from_source` converts.
    derives_from: ClassVar[str] = "coarse_mel"
    name: str = "musicnn_coarse"
    sr: int = COARSE_SR
    peak_db: float = PEAK_DB
    #: The phase of the coarse-mel column grid it is made from (``CoarseMelSpec.phase``): from audio, the
    #: musicnn frames follow the columns of that phase.
    phase: float = 0.0
    clip: ClipSpec = ClipSpec(PATCH_FRAMES, PATCH_FRAMES)

    def _source(self):
        return get(self.derives_from).replace(phase=self.phase)

    def n_frames(self, n_samples: int) -> int:
        return coarse_n_frames(self._source().n_frames(n_samples))

    def from_source(self, db: np.ndarray) -> np.ndarray:
        """``[128, columns]`` coarse-mel dB (of phase :attr:`phase`) -> ``[96, n_frames]``."""
        return np.ascontiguousarray(mel_from_coarse(db, self.peak_db, self.phase).T)

    def compute(self, y: np.ndarray) -> np.ndarray:
        return self.from_source(self._source().compute(y))

    def compute_phases(self, y: np.ndarray, phases: int) -> list[np.ndarray]:
        """:meth:`compute` at ``phases`` phases of the coarse column grid, from one STFT
        (``CoarseMelSpec.compute_phases``)."""
        coarse = self._source().compute_phases(y, phases)
        return [np.ascontiguousarray(mel_from_coarse(db, self.peak_db, k / phases).T) for k, db in enumerate(coarse)]


register(MusicnnMelSpec())
register(MusicnnCoarseSpec())
