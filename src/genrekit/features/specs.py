"""Feature specifications: frozen dataclasses that say exactly how a representation is made.

A spec is the single source of truth for a representation: it computes it
(:meth:`FeatureSpec.compute`), cuts it into clips (:meth:`FeatureSpec.clips`), and names
it in the cache by a hash of its content (:meth:`FeatureSpec.key`), so two specs with the
same numbers share cached features and any change of a number recomputes them.

Every spec's ``compute(y)`` returns ``np.ndarray [shape=(bands, frames)], float32`` for a
whole track; clips are cut afterwards, so clip settings are not part of the cache key.
``stream(blocks, sink)`` computes the same values from a signal that arrives in blocks, in
memory that does not grow with the track's length (:mod:`genrekit.features.streaming`):
how extraction featurises a file of any length; ``compute`` is ``stream`` over one block.

Presets (:data:`PRESETS`), each citing where its numbers come from:

=================  ==========================================================================
``yang2019``       log-mel, 1024-sample frames, 50 % overlap, 256 bands, 128-frame clips
                   (Yang & Zhang 2019, sec. 4.2); clip hop 64 (50 %, 19 clips per 30 s)
``dong2018``       mel, 23 ms windows (512 samples), 50 % overlap, 64 bands, ln(1 + x),
                   256-frame (3 s) clips, 50 % overlap at test time (Dong 2018, "Methods")
``wang``           librosa mel, n_fft 1024, hop 256, 128 bands, dB scaled to [0, 1]
                   (Wang, sec. III-B); 660-frame clips as the paper's "128 x 660", side by
                   side (3 per 30 s track for the majority vote)
``zhang2016``      STFT magnitude, Hamming 1024, 50 % overlap, 513 bins, 128-frame clips,
                   1.5 s (65-frame) clip hop, 18 clips per 30 s (Senac et al. 2017, sec. 2.1, 2.3)
``senac2017_stft`` the same representation (Senac's net_STFT input is Zhang's)
``summary``        the classical baselines' vector: MFCC, spectral centroid / bandwidth /
                   roll-off, ZCR, RMS, chroma (means and variances) and tempo, per track
``coarse_mel``     the 8-bit, 387-column log-mel of ``gtzan-coarse-mel`` (its README's recipe)
=================  ==========================================================================

The Kaggle GTZAN table's columns (``kaggle``, :mod:`genrekit.features.kaggle`) and musicnn's input
(``musicnn``, ``musicnn_coarse``, :mod:`genrekit.features.musicnn_input`) are registered by their
modules.

The music-feature map of Senac et al. (sec. 2.2) is a spec of the same kind, added by
:mod:`genrekit.features.music` through :func:`register`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from genrekit.audio import DEFAULT_SR
from genrekit.errors import ConfigError
from genrekit.features import spectral
from genrekit.features.clips import ClipSpec, check_length, clip_frames
from genrekit.features.streaming import ArraySink, Blocks, RowStore, Sink, centred_segments
from genrekit.threads import one_blas_thread

__all__ = [
    "FEATURES_VERSION",
    "FeatureSpec",
    "LogMelSpec",
    "StftSpec",
    "SummarySpec",
    "CoarseMelSpec",
    "PRESETS",
    "get",
    "names",
    "register",
    "from_dict",
]

#: Bumped whenever a code change alters feature values, so old cache entries are not reused.
FEATURES_VERSION = 2

_KINDS: dict[str, type["FeatureSpec"]] = {}


def _on_one_blas_thread(method):
    """``method`` run inside :func:`genrekit.threads.one_blas_thread` (why: that module)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with one_blas_thread():
            return method(self, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class FeatureSpec:
    """Base of all feature specs.

    Attributes
    ----------
    name : str
        A label for people and cache folder names; not part of the content hash.
    sr : int
        Sampling rate the audio is decoded at.
    clip : ClipSpec
        How the track's frames are cut into clips.
    """

    kind: ClassVar[str] = ""
    name: str = ""
    sr: int = DEFAULT_SR
    clip: ClipSpec = ClipSpec(128, 64)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _KINDS[cls.kind] = cls
        for method in ("compute", "stream", "compute_phases"):  # every spec computes on one BLAS thread (see compute)
            if method in cls.__dict__:
                setattr(cls, method, _on_one_blas_thread(cls.__dict__[method]))

    # What every spec provides ---------------------------------------------------------
    @property
    def bands(self) -> int:
        """Rows of the feature matrix (mel bands, FFT bins, features)."""
        raise NotImplementedError

    @property
    def hop_seconds(self) -> float:
        """Seconds between consecutive frames."""
        raise NotImplementedError

    def n_frames(self, n_samples: int) -> int:
        """Frames :meth:`compute` returns for ``n_samples`` samples at :attr:`sr`."""
        raise NotImplementedError

    #: Whether the signal's DC offset is removed before this spec reads it (:class:`genrekit.trim.Trimmed`). Music has
    #: none; a representation whose training data kept it as a feature (the Kaggle table's harmonic and percussive
    #: means) must read it as it was.
    removes_dc: ClassVar[bool] = True

    #: Frames per segment of :meth:`stream`: bounds the memory of each step, and keeps a segment's
    #: spectra in the CPU cache (a 30 s log-mel or STFT takes about half the time of one call for
    #: all frames; ``benchmarks/long_files.py``).
    block_frames: ClassVar[int] = 256

    def compute(self, y: np.ndarray) -> np.ndarray:
        """Features of a whole track (:meth:`stream` over one block).

        A spec implements :meth:`stream` (memory bounded for any length) or, when its values need the
        whole signal at once (musicnn's embeddings), ``compute``; the other one follows. Every
        subclass's ``compute`` and ``stream`` run inside :func:`genrekit.threads.one_blas_thread`
        (applied by ``__init_subclass__``), so the values do not depend on the caller's BLAS
        thread count: cached features are bit-identical whichever process computed them.

        Parameters
        ----------
        y : np.ndarray [shape=(n,)], float32, at :attr:`sr`

        Returns
        -------
        np.ndarray [shape=(bands, n_frames)], float32
        """
        y = np.asarray(y, dtype=np.float32)
        sink = ArraySink()
        self.stream(lambda: (y,), sink)
        return sink.array

    def stream(self, blocks: Blocks, sink: Sink, spill_dir: str | os.PathLike | None = None,
               block_frames: int | None = None) -> None:
        """Features of a signal that arrives in blocks, in memory that does not grow with its length.

        The values equal :meth:`compute`'s on the whole signal (to float32 rounding; each
        spec's docstring says where a long signal is read twice).

        Parameters
        ----------
        blocks : callable
            Returns the signal's blocks (``np.ndarray [shape=(m,)]`` at :attr:`sr`) from the
            start each time it is called.
        sink : Sink
            Receives the output ``[bands, n_frames]``, a block of columns at a time.
        spill_dir : str or path-like, optional
            Where per-frame values that wait for the end of the track may go as an unnamed
            temporary file (``None``: they stay in memory).
        block_frames : int, optional
            Frames per segment (default :attr:`block_frames`).

        The default, for specs that implement only ``compute``, gathers the blocks and computes on
        the whole signal (memory grows with the length).
        """
        if type(self).compute is FeatureSpec.compute:
            raise NotImplementedError(f"{type(self).__name__} implements neither stream nor compute")
        values = self.compute(np.concatenate([np.asarray(b, dtype=np.float32) for b in blocks()]))
        sink.start(values.shape)
        sink.write(0, values)

    @property
    def streams(self) -> bool:
        """True when this spec computes in blocks (:meth:`stream` of its own), so memory does not grow
        with the recording; False for specs that need the whole signal at once (musicnn's input and
        embeddings: extraction then holds the whole decoded file, while prediction still reads 30 s
        windows)."""
        return type(self).stream is not FeatureSpec.stream

    # Shared behaviour ---------------------------------------------------------------
    def conform(self, values: np.ndarray) -> np.ndarray:
        """Features of this spec's kind made by another spec of it (a data set's held arrays), made what this
        spec computes from audio where one of its fields acts after the fact (``CoarseMelSpec.max_hz``);
        by default returned as they are."""
        return values

    def clips(self, features: np.ndarray, name: str | None = None) -> np.ndarray:
        """Cut :meth:`compute`'s output into clips: ``[n_clips, bands, clip.frames]`` (a view)."""
        return clip_frames(features, self.clip.frames, self.clip.hop, self.clip.short, name)

    def check_length(self, n_frames: int, name: str | None = None, seconds: float | None = None) -> None:
        """Refuse a track of ``n_frames`` frames (``seconds`` of audio) too short to classify: the one
        rule for short input (:func:`~genrekit.features.clips.check_length` with this spec's clip)."""
        check_length(n_frames, self.clip.frames, self.clip.short, name, self.hop_seconds, seconds)

    @property
    def clip_seconds(self) -> float:
        """Approximate duration of one clip in seconds."""
        return self.clip.frames * self.hop_seconds

    def content(self) -> dict[str, Any]:
        """The fields that determine the feature values (everything except name and clip)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("name", "clip")}
        return {"kind": self.kind, "version": FEATURES_VERSION, **fields}

    def key(self) -> str:
        """16 hex digits of the SHA-256 of :meth:`content`: the cache key of this representation."""
        text = json.dumps(self.content(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for YAML/JSON run configs); :func:`from_dict` inverts it."""
        data = dataclasses.asdict(self)
        return {"kind": self.kind, **data}

    def replace(self, **changes) -> "FeatureSpec":
        """A copy with some fields changed; ``clip`` may be given as a dict."""
        if isinstance(changes.get("clip"), dict):
            changes["clip"] = dataclasses.replace(self.clip, **changes["clip"])
        return dataclasses.replace(self, **changes)


class _Framed:
    """For specs with one frame every ``hop_length`` samples, centred (librosa's convention)."""

    @property
    def hop_seconds(self) -> float:
        return self.hop_length / self.sr

    def n_frames(self, n_samples: int) -> int:
        return spectral.n_frames(n_samples, self.hop_length)

    def _framewise(self, blocks: Blocks, sink: Sink, spill_dir, block_frames: int | None,
                   rows: Callable[[np.ndarray], np.ndarray], finish: Callable[[np.ndarray], np.ndarray],
                   width: int, pick: Callable[[int], np.ndarray] | None = None) -> None:
        """:meth:`FeatureSpec.stream` for values computed frame by frame and finished with numbers
        of the whole track: ``rows(segment)`` gives a segment's frames ``[k, width]``, kept in a
        :class:`RowStore` until the track is over; then ``finish(rows)`` makes each block of them
        final (in place) and the sink gets it, transposed. ``pick(n_frames)``: the frame shown in
        each output column (default: every frame).
        """
        with RowStore(width, spill_dir) as store:
            for _, segment in centred_segments(blocks(), self.n_fft, self.hop_length,
                                               block_frames or self.block_frames):
                store.append(rows(segment))
            picked = None if pick is None else pick(len(store))
            sink.start((self.bands, len(store) if picked is None else picked.size))
            for first, values in store.chunks():
                if picked is None:
                    sink.write(first, finish(values).T)
                    continue
                low, high = np.searchsorted(picked, [first, first + values.shape[0]])
                if high > low:
                    sink.write(int(low), finish(values[picked[low:high] - first]).T)


def _check_scale(scale: str, allowed: tuple[str, ...]) -> None:
    if scale not in allowed:
        raise ConfigError(f"scale must be one of {allowed}, got {scale!r}")


@dataclass(frozen=True)
class LogMelSpec(_Framed, FeatureSpec):
    """Mel spectrogram on a log scale.

    Attributes
    ----------
    n_fft, hop_length : int
        FFT size and hop in samples.
    win_length : int or None
        Window length (``None``: ``n_fft``).
    window : str
        ``scipy.signal.get_window`` name.
    n_mels : int
    fmin, fmax : float
        Filterbank range in Hz (``fmax=None``: ``sr / 2``).
    scale : {"db", "log1p", "db_minmax"}
        ``db``: ``10 log10`` relative to the track's maximum, ``top_db`` range;
        ``log1p``: ``ln(1 + mel power)`` (Dong 2018); ``db_minmax``: dB, then scaled
        to [0, 1] by the track's minimum and maximum (Wang).
    top_db : float or None
        Dynamic range kept by the dB scales.
    """

    kind: ClassVar[str] = "log_mel"
    name: str = "log_mel"
    n_fft: int = 1024
    hop_length: int = 512
    win_length: int | None = None
    window: str = "hann"
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    scale: str = "db"
    top_db: float | None = 80.0

    def __post_init__(self):
        _check_scale(self.scale, ("db", "log1p", "db_minmax"))

    @property
    def bands(self) -> int:
        return self.n_mels

    def stream(self, blocks: Blocks, sink: Sink, spill_dir=None, block_frames: int | None = None) -> None:
        """See :meth:`FeatureSpec.stream`. The dB scales are relative to the whole track's loudest
        cell, so the frames wait (on disk when many) until the end of the track is seen."""
        scale = None if self.scale == "log1p" else spectral.DbScale(self.top_db)

        def rows(segment: np.ndarray) -> np.ndarray:
            power = spectral.power_spectrogram(segment, self.n_fft, self.hop_length, self.win_length, self.window,
                                               center=False)
            mel = spectral.mel_project(power, self.sr, self.n_fft, self.n_mels, self.fmin, self.fmax)
            return np.log1p(mel, out=mel) if scale is None else scale.observe(mel)

        def finish(values: np.ndarray) -> np.ndarray:
            if scale is None:
                return values
            db = scale.finish(values)
            return spectral.minmax(db, scale.bounds()) if self.scale == "db_minmax" else db

        self._framewise(blocks, sink, spill_dir, block_frames, rows, finish, self.n_mels)


@dataclass(frozen=True)
class StftSpec(_Framed, FeatureSpec):
    """Short-time Fourier transform magnitude, phases discarded.

    Attributes
    ----------
    n_fft, hop_length : int
    window : str
    scale : {"db", "log1p", "linear"}
        ``db``: ``20 log10 |X|`` relative to the track's maximum with ``top_db`` range;
        ``log1p``: ``ln(1 + |X|)``; ``linear``: ``|X|``. The papers give magnitudes without
        saying how they were compressed; genrekit's presets use dB, as for the log-mel.
    top_db : float or None
    """

    kind: ClassVar[str] = "stft"
    name: str = "stft"
    n_fft: int = 1024
    hop_length: int = 512
    window: str = "hamming"
    scale: str = "db"
    top_db: float | None = 80.0
    clip: ClipSpec = ClipSpec(128, 65)

    def __post_init__(self):
        _check_scale(self.scale, ("db", "log1p", "linear"))

    @property
    def bands(self) -> int:
        return self.n_fft // 2 + 1

    def stream(self, blocks: Blocks, sink: Sink, spill_dir=None, block_frames: int | None = None) -> None:
        """See :meth:`FeatureSpec.stream` (and :meth:`LogMelSpec.stream` for the dB scale)."""
        scale = spectral.DbScale(self.top_db) if self.scale == "db" else None

        def rows(segment: np.ndarray) -> np.ndarray:
            power = spectral.power_spectrogram(segment, self.n_fft, self.hop_length, window_name=self.window,
                                               center=False)
            if scale is not None:
                return scale.observe(power)
            magnitude = np.sqrt(power, out=power)
            return np.log1p(magnitude, out=magnitude) if self.scale == "log1p" else magnitude

        self._framewise(blocks, sink, spill_dir, block_frames, rows,
                        scale.finish if scale is not None else (lambda values: values), self.bands)


@dataclass(frozen=True)
class SummarySpec(FeatureSpec):
    """Summary vectors for the classical baselines (Wang, Table II).

    Frame-level MFCC, spectral centroid, bandwidth and roll-off, zero-crossing rate, RMS
    and chroma, summarised by mean and variance over each segment, plus the segment's
    tempo. ``compute`` returns one column per segment: ``[n_features, n_segments]``.

    Attributes
    ----------
    n_fft, hop_length : int
        Frame analysis (librosa's feature defaults, 2048 / 512).
    n_mfcc : int
    segment_seconds : float or None
        ``None``: one vector for the whole track; else one per segment of this length
        (e.g. 3.0 as in GTZAN's widely used ``features_3_sec`` table).
    """

    kind: ClassVar[str] = "summary"
    name: str = "summary"
    n_fft: int = 2048
    hop_length: int = 512
    n_mfcc: int = 20
    segment_seconds: float | None = None
    clip: ClipSpec = ClipSpec(1, 1)

    @property
    def bands(self) -> int:
        return len(self.feature_names())

    @property
    def hop_seconds(self) -> float:
        return self.segment_seconds if self.segment_seconds else float("nan")

    def n_frames(self, n_samples: int) -> int:
        if not self.segment_seconds:
            return 1
        return max(1, n_samples // int(round(self.segment_seconds * self.sr)))

    def feature_names(self) -> list[str]:
        """Names of the rows of :meth:`compute`'s output."""
        from genrekit.features.summary import feature_names

        return feature_names(self.n_mfcc)

    #: A 30 s excerpt is one segment: its spectrum is computed once.
    block_frames: ClassVar[int] = 2048

    def stream(self, blocks: Blocks, sink: Sink, spill_dir=None, block_frames: int | None = None) -> None:
        """See :meth:`FeatureSpec.stream` and :func:`genrekit.features.summary.stream_summary` (a
        recording longer than one segment is read twice)."""
        from genrekit.features.summary import stream_summary

        stream_summary(blocks, sink, self.sr, self.n_fft, self.hop_length, self.n_mfcc, self.segment_seconds,
                       block_frames or self.block_frames)


@dataclass(frozen=True)
class CoarseMelSpec(_Framed, FeatureSpec):
    """The coarse 8-bit log-mel of ``gtzan-coarse-mel``, computed from audio.

    The recipe of that data set's README (recovered from published spectrogram images):
    STFT with a periodic Hann window of 2048 samples, hop 512, zero-padded centred frames;
    power; 128 Slaney mel bands from 0 to sr/2; dB relative to the clip maximum with an
    80 dB floor; quantised to 256 levels; then one STFT frame per column, ``W = 387``
    columns for a 30 s clip (a stride of 1293 / 387.5 frames per column; other lengths keep
    that stride). Values are returned as dB, ``-80 + 80 * k / 255`` with ``k`` the 8-bit
    level, as the data set's arrays are read.

    The levels span a fixed scale, the 80 dB floor (``k = 0``) to the clip's maximum (``k = 255``):
    a cell's level depends on its own value and the clip's loudest cell only; and the columns keep
    one stride from the clip's start, so a column's time does not depend on the clip's length. The
    data set's images instead stretched every clip between its *quietest* cell and its maximum, and
    a clip of about 30 s over exactly 387 columns (``stretch=True``, the README's steps 5 and 6,
    kept to reproduce the arrays): the same levels as the fixed scale for a clip whose quietest cell
    reaches the floor (88 % of the arrays), but for any other clip one quiet cell anywhere rescales
    the whole clip -- a resampler's attenuated top band, a second of silence, a fade -- and one
    sample more or less (661,504 -> 661,503) moved half of the columns to the next frame, so the
    same music got another representation (issue 20).

    Output ``[128, W]``; about 0.0775 s per column, so a 3 s clip is 39 columns.
    """

    kind: ClassVar[str] = "coarse_mel"
    name: str = "coarse_mel"
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    top_db: float = 80.0
    levels: int = 256
    #: Columns of a 30 s GTZAN clip (1293 frames), which fixes the column stride.
    reference_columns: int = 387
    reference_frames: int = 1293
    #: Draw as the data set's images did: the levels stretched between the clip's quietest cell and its
    #: maximum (instead of the fixed scale from the floor to the maximum), and a clip of about 30 s
    #: stretched over 387 columns (instead of the fixed column stride; :meth:`columns`).
    stretch: bool = False
    #: Where the column grid starts, as a fraction of one column's stride (0 <= phase < 1): the columns of
    #: phase ``k / P`` together with those of the other ``P - 1`` phases sample the frames ``P`` times as
    #: densely. Prediction averages several phases (:mod:`genrekit.features.windows`), because one column
    #: per 77.5 ms catches a drum hit or misses it depending on where the music starts against the grid.
    phase: float = 0.0
    #: Bands reaching above this frequency (Hz) are not read: set to the floor. What lies near 11 kHz depends on
    #: the file's rate and on the resampler that brought it to 22,050 Hz (soxr attenuates the top two bands of a
    #: 44.1 kHz file by 1.7 and 7.5 dB); ``None`` reads all bands.
    max_hz: float | None = None
    clip: ClipSpec = ClipSpec(39, 19)

    def __post_init__(self):
        if not 0.0 <= self.phase < 1.0:
            raise ConfigError(f"coarse_mel phase must be in [0, 1), got {self.phase}")
        if self.stretch and self.phase:
            raise ConfigError("the images' columns (stretch=True) have no phase; use phase=0")
        if self.max_hz is not None and not 0 < self.max_hz:
            raise ConfigError(f"coarse_mel max_hz must be a positive frequency or None, got {self.max_hz}")

    def unread_bands(self) -> np.ndarray:
        """Indices of the bands :attr:`max_hz` leaves unread (their filter's upper edge is above it)."""
        if self.max_hz is None:
            return np.empty(0, dtype=np.int64)
        edges = spectral.mel_to_hz(np.linspace(0.0, float(spectral.hz_to_mel(self.sr / 2.0)), self.n_mels + 2))
        return np.flatnonzero(edges[2:] > self.max_hz + 1e-6)

    def conform(self, values: np.ndarray) -> np.ndarray:
        """Held arrays (``gtzan-coarse-mel``) with the bands :attr:`max_hz` leaves unread set to the floor."""
        unread = self.unread_bands()
        if not unread.size:
            return values
        values = np.array(values, dtype=np.float32)
        values[unread] = np.float32(-self.top_db)
        return values

    @property
    def bands(self) -> int:
        return self.n_mels

    @property
    def hop_seconds(self) -> float:
        return self.hop_length * self.reference_frames / (self.reference_columns + 0.5) / self.sr

    def columns(self, n_frames: int) -> np.ndarray:
        """The STFT frame shown in each column, ``np.ndarray [shape=(W,)], int64``: every
        ``reference_frames / (reference_columns + 0.5)`` frames from the start, whatever the clip's length,
        so a column shows the same moment of the music in a clip one sample longer or shorter. With
        :attr:`stretch` (the images), a clip within 30 frames of 30 s is stretched over 387 columns
        instead, and one sample more or less moves half of the columns to the next frame."""
        if self.stretch and abs(n_frames - self.reference_frames) <= 30:
            width = self.reference_columns
            return (np.arange(width) * 2 + 1) * n_frames // (2 * width + 1)
        stride = self.reference_frames / (self.reference_columns + 0.5)
        width = max(1, int(np.ceil(n_frames / stride - 0.5 - self.phase)))
        return np.minimum(np.floor((np.arange(width) + 0.5 + self.phase) * stride).astype(np.int64), n_frames - 1)

    def n_frames(self, n_samples: int) -> int:
        return self.columns(spectral.n_frames(n_samples, self.hop_length)).shape[0]

    #: STFT frames per segment: a segment's spectra stay in the CPU cache, faster than one call for
    #: all frames (the dB scale needs every frame's spectrum, not only the columns kept: it takes the
    #: track's maximum and minimum over all of them).
    block_frames: ClassVar[int] = 128

    def stream(self, blocks: Blocks, sink: Sink, spill_dir=None, block_frames: int | None = None,
               every_frame: bool = False) -> None:
        """See :meth:`FeatureSpec.stream`: every frame's dB values wait for the end of the track
        (its maximum, and with :attr:`stretch` its minimum, scale the 8-bit levels), then the columns
        are picked (``every_frame``: none is left out, for :meth:`compute_phases`)."""
        scale = spectral.DbScale(self.top_db)
        unread = self.unread_bands()

        def rows(segment: np.ndarray) -> np.ndarray:
            power = spectral.power_spectrogram(segment, self.n_fft, self.hop_length, center=False)
            return scale.observe(spectral.mel_project(power, self.sr, self.n_fft, self.n_mels))

        def finish(values: np.ndarray) -> np.ndarray:
            db = scale.finish(values)
            low, high = (np.float32(bound) for bound in scale.bounds())
            if not self.stretch:  # the fixed scale: the floor to the maximum (0 dB)
                low, high = np.float32(-self.top_db), np.float32(0.0)
            scaled = (db - low) / (high - low) if high > low else np.zeros_like(db)
            level = np.minimum(self.levels - 1, np.floor(np.float32(self.levels) * scaled))
            level[:, unread] = 0
            return (np.float32(-self.top_db) + np.float32(self.top_db / (self.levels - 1)) * level).astype(np.float32)

        self._framewise(blocks, sink, spill_dir, block_frames, rows, finish, self.n_mels,
                        pick=None if every_frame else self.columns)

    def compute_phases(self, y: np.ndarray, phases: int) -> list[np.ndarray]:
        """:meth:`compute` at the phases ``0, 1 / phases, ..., (phases - 1) / phases`` of the column grid, from one
        STFT (a level depends on its cell and the window's maximum only, so each phase's columns are the
        same frames picked from every frame's levels).

        Returns
        -------
        list of np.ndarray [shape=(128, W_k)], float32
            Equal to ``replace(phase=k / phases).compute(y)``.
        """
        y = np.asarray(y, dtype=np.float32)
        sink = ArraySink()
        self.stream(lambda: (y,), sink, every_frame=True)
        frames = sink.array
        return [np.ascontiguousarray(frames[:, self.replace(phase=k / phases).columns(frames.shape[1])])
                for k in range(phases)]


PRESETS: dict[str, FeatureSpec] = {}


def register(spec: FeatureSpec, name: str | None = None) -> FeatureSpec:
    """Add a preset under ``name`` (default: ``spec.name``); returns the spec."""
    PRESETS[name or spec.name] = spec
    return spec


register(LogMelSpec(name="yang2019", n_fft=1024, hop_length=512, n_mels=256, scale="db",
                    clip=ClipSpec(128, 64)))
register(LogMelSpec(name="dong2018", n_fft=512, hop_length=256, n_mels=64, scale="log1p", top_db=None,
                    clip=ClipSpec(256, 128)))
register(LogMelSpec(name="wang", n_fft=1024, hop_length=256, n_mels=128, scale="db_minmax",
                    clip=ClipSpec(660, 660)))
register(StftSpec(name="zhang2016", n_fft=1024, hop_length=512, window="hamming", clip=ClipSpec(128, 65)))
register(StftSpec(name="senac2017_stft", n_fft=1024, hop_length=512, window="hamming", clip=ClipSpec(128, 65)))
register(SummarySpec(name="summary"))
register(CoarseMelSpec(name="coarse_mel"))


def names() -> list[str]:
    """Names of the registered presets."""
    return sorted(PRESETS)


def get(spec: str | FeatureSpec) -> FeatureSpec:
    """A preset by name (a spec is returned as it is).

    Raises
    ------
    ConfigError
        For an unknown name, listing the known ones.
    """
    if isinstance(spec, FeatureSpec):
        return spec
    try:
        return PRESETS[spec]
    except KeyError:
        raise ConfigError(f"unknown feature spec {spec!r}; presets: {', '.join(names())}") from None


def from_dict(data: dict[str, Any]) -> FeatureSpec:
    """Rebuild a spec from :meth:`FeatureSpec.to_dict` output (or a YAML mapping).

    A mapping with ``preset: NAME`` starts from that preset and overrides the other keys.
    """
    data = dict(data)
    if "preset" in data:
        base = get(data.pop("preset"))
        data.pop("kind", None)
        return base.replace(**data)
    kind = data.pop("kind", None)
    if kind not in _KINDS:
        raise ConfigError(f"unknown feature kind {kind!r}; known: {', '.join(sorted(_KINDS))}")
    if isinstance(data.get("clip"), dict):
        data["clip"] = ClipSpec(**data["clip"])
    try:
        return _KINDS[kind](**data)
    except TypeError as exc:
        raise ConfigError(f"bad {kind} spec: {exc}") from None
