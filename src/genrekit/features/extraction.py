"""Parallel feature extraction into the cache.

:func:`extract` computes a spec's features for every track that is not cached yet, in
worker processes, and reports what it did: computed, already cached, failed (with the
reason for each failure). Workers write their results straight into the cache (atomic
renames), so an interrupted extraction keeps everything finished so far and the next run
resumes. A bad file never stops the batch.

:func:`compute_features` is the same work for one file, in this process.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from genrekit import audio
from genrekit.errors import DiskFullError, FeatureError, reason
from genrekit.features.cache import FeatureCache
from genrekit.files import printable
from genrekit.features.specs import FeatureSpec, get
from genrekit.features.streaming import ArraySink, NpySink, Sink
from genrekit.pool import Bounded, default_workers, worker_pool
from genrekit.progress import Progress
from genrekit.trim import SILENCE_DBFS, Trimmed

if TYPE_CHECKING:  # only for annotations: worker processes need not import the datasets layer
    from genrekit.datasets.base import Track

__all__ = ["ExtractionReport", "Failure", "compute_features", "extract", "load_features"]

#: Signals whose peak is below this (dB full scale) are treated as silent and not featurised.
SILENCE_DB = SILENCE_DBFS
#: Seconds of audio decoded at a time when a file is featurised.
BLOCK_SECONDS = 30.0


@dataclass(frozen=True)
class Failure:
    """A track whose features could not be computed."""

    track_id: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.track_id} ({self.path}): {self.reason}"


@dataclass
class ExtractionReport:
    """What :func:`extract` did.

    Attributes
    ----------
    spec : str
        The spec's name.
    cache_dir : str
    computed, cached : list of str
        Track ids computed now, and found in the cache.
    failed : list of Failure
    seconds : float
        Wall-clock time of the extraction.
    audio_seconds : float
        Total duration of the audio decoded now.
    workers : int
    """

    spec: str
    cache_dir: str
    computed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    audio_seconds: float = 0.0
    workers: int = 1

    @property
    def total(self) -> int:
        return len(self.computed) + len(self.cached) + len(self.failed)

    def summary(self) -> str:
        """A few lines for people."""
        speed = ""
        if self.computed and self.seconds > 0:
            speed = (f" ({len(self.computed) / self.seconds:.1f} tracks/s, "
                     f"{self.audio_seconds / self.seconds:.0f}x real time, {self.workers} worker(s))")
        lines = [f"features {self.spec}: {self.total} tracks: {len(self.computed)} computed, "
                 f"{len(self.cached)} cached, {len(self.failed)} failed in {self.seconds:.1f} s{speed}",
                 f"  cache: {self.cache_dir}"]
        lines.extend(f"  failed: {printable(str(f))}" for f in self.failed)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["failed"] = [asdict(f) for f in self.failed]
        return data


def _featurise(path: str | os.PathLike, spec: FeatureSpec, sink: Sink,
               spill_dir: str | os.PathLike | None = None) -> float:
    """Decode ``path`` block by block and stream its features into ``sink`` (memory does not grow
    with the file's length; see :meth:`FeatureSpec.stream`); returns the audio seconds.

    Raises
    ------
    AudioError, FeatureError
        As :func:`compute_features`, once the end of the file shows the problem.
    """
    seen = [0]

    def blocks() -> Iterator[np.ndarray]:
        samples, loud = 0, False
        # The music only (DC offset and the silence around it removed), as prediction reads it.
        for block in Trimmed(audio.stream(path, sr=spec.sr, block_seconds=BLOCK_SECONDS), spec.sr,
                             remove_dc=spec.removes_dc):
            samples += block.shape[0]
            loud = loud or not audio.is_silent(block, SILENCE_DB)
            yield block
        if not loud:
            raise FeatureError(f"{path}: silent (peak below {SILENCE_DB:.0f} dBFS): there is nothing to "
                               "classify; check that the file is the recording you meant")
        spec.check_length(spec.n_frames(samples), str(path), samples / spec.sr)
        seen[0] = samples

    spec.stream(blocks, sink, spill_dir)
    return seen[0] / spec.sr


def compute_features(path: str | os.PathLike, spec: FeatureSpec | str) -> np.ndarray:
    """Decode one file and compute its features.

    The file is decoded and featurised a block at a time, so only the result grows with the
    file's length; :func:`extract` writes even the result straight into the cache.

    Parameters
    ----------
    path : str or path-like
    spec : FeatureSpec or preset name

    Returns
    -------
    np.ndarray [shape=(spec.bands, n_frames)], float32

    Raises
    ------
    AudioError
        The file cannot be decoded.
    FeatureError
        The signal is silent, or too short (:meth:`FeatureSpec.check_length`: under half a clip,
        or under one clip with the ``"reject"`` policy).
    """
    sink = ArraySink()
    _featurise(path, get(spec), sink)
    return sink.array


# Worker side -----------------------------------------------------------------------------
_caches: dict[tuple[str, str], FeatureCache] = {}


def _extract_one(path: str, spec: FeatureSpec, cache_root: str) -> tuple[str, float, str | None]:
    """Compute and store one file's features. Returns ``(status, audio seconds, reason)``."""
    cache = _caches.get((cache_root, spec.key()))
    if cache is None:
        cache = _caches[(cache_root, spec.key())] = FeatureCache(cache_root, spec)
    seconds = [0.0]

    def fill(stream) -> None:  # written in place, a block of columns at a time, then renamed
        sink = NpySink(stream)
        seconds[0] = _featurise(path, spec, sink, spill_dir=cache.temp_dir(path))
        sink.flush()

    try:
        audio.info(path)  # a missing or unreadable file is reported as such, before the cache looks at it
        cache.write(path, fill)
    except DiskFullError:
        raise  # not the file's fault: it stops the batch, as every following file would fail the same way
    except Exception as exc:  # a bad file, a bug or an exotic file: report it, never kill the batch
        return "failed", 0.0, reason(exc, path)
    return "computed", seconds[0], None


def _parallel(todo, spec, cache_root, workers, record, bar, report) -> list[Track]:
    """Run ``_extract_one`` over ``todo`` in a process pool; returns the tracks left undone
    if the pool breaks (a worker killed by the system, or a start method that cannot work here)."""
    with worker_pool(workers, preload=[__name__]) as pool:
        tasks = Bounded(pool, todo, lambda p, track: p.submit(_extract_one, track.path, spec, cache_root),
                        4 * workers)
        for track, future in tasks:
            record(track, future.result())
            bar.advance(info=f"{len(report.failed)} failed" if report.failed else "")
    return tasks.left()


def extract(tracks: Sequence[Track], spec: FeatureSpec | str, cache: str | os.PathLike | None = None,
            workers: int | None = None, progress: bool = True) -> ExtractionReport:
    """Compute and cache features for every track that is not cached yet.

    Parameters
    ----------
    tracks : sequence of Track
    spec : FeatureSpec or preset name
    cache : str or path-like, optional
        The cache root (default :func:`genrekit.features.cache.default_root`).
    workers : int, optional
        Worker processes (default: one per CPU). ``1`` computes in this process.
    progress : bool
        Show a progress bar (or progress lines when not on a terminal).

    Returns
    -------
    ExtractionReport
        Nothing is raised for bad files: they are in ``report.failed`` with reasons.
    """
    spec = get(spec)
    store = FeatureCache(cache, spec)
    store.clean_partials()
    start = time.perf_counter()
    workers = default_workers() if workers is None else max(1, int(workers))
    report = ExtractionReport(spec.name, str(store.dir), workers=workers)
    todo: list[Track] = []
    for track in tracks:
        cached = store.get(track.path, mmap=True)
        if cached is None:
            todo.append(track)
            continue
        try:
            spec.check_length(cached.shape[-1], track.path)
            report.cached.append(track.id)
        except FeatureError as exc:
            report.failed.append(Failure(track.id, track.path, str(exc).replace(f"{track.path}: ", "", 1)))

    def record(track: Track, outcome: tuple[str, float, str | None]) -> None:
        status, seconds, reason = outcome
        if status == "computed":
            report.computed.append(track.id)
            report.audio_seconds += seconds
        else:
            report.failed.append(Failure(track.id, track.path, reason or "unknown error"))

    with Progress(len(todo), f"features {spec.name}", enabled=progress) as bar:
        def serial(tracks_left):
            # In this process: no genrekit.pool.tune_process(), whose thread limit and allocator settings
            # are process-wide and would outlive the extraction (and change, e.g., training).
            for track in tracks_left:
                record(track, _extract_one(track.path, spec, str(store.root)))
                bar.advance(info=f"{len(report.failed)} failed" if report.failed else "")

        try:
            if workers == 1 or len(todo) <= 1:
                serial(todo)
            else:
                report.workers = workers = min(workers, len(todo))
                leftover = _parallel(todo, spec, str(store.root), workers, record, bar, report)
                if leftover:
                    warnings.warn("the feature worker processes stopped unexpectedly; computing the remaining "
                                  f"{len(leftover)} track(s) in this process", RuntimeWarning, stacklevel=2)
                    report.workers = 1
                    serial(leftover)
        except BaseException:
            # Stopped (Ctrl-C, SIGTERM, a full disk): the workers were ended mid-write; their
            # temporary files go now, not at the next run (every finished entry stays).
            store.clean_partials()
            raise
    report.seconds = time.perf_counter() - start
    order = {t.id: i for i, t in enumerate(tracks)}
    report.computed.sort(key=order.__getitem__)
    report.failed.sort(key=lambda f: order[f.track_id])
    return report


def load_features(tracks: Sequence[Track], spec: FeatureSpec | str, cache: str | os.PathLike | None = None,
                  workers: int | None = None, progress: bool = True) -> tuple[dict[str, np.ndarray], ExtractionReport]:
    """Extract what is missing, then read every track's features from the cache.

    Returns
    -------
    features : dict of str to np.ndarray [shape=(bands, n_frames)]
        By track id, for the tracks that did not fail.
    report : ExtractionReport
    """
    spec = get(spec)
    report = extract(tracks, spec, cache, workers, progress)
    store = FeatureCache(cache, spec)
    failed = {f.track_id for f in report.failed}
    features = {}
    for track in tracks:
        if track.id in failed:
            continue
        array = store.get(track.path)
        if array is None:  # changed on disk since the extraction: report, do not guess
            report.failed.append(Failure(track.id, track.path, "file changed during extraction; run again"))
            continue
        features[track.id] = array
    return features, report
