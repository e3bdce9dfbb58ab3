"""Parallel feature extraction into the cache.

:func:`extract` computes a spec's features for every track that is not cached yet, in
worker processes, and reports what it did: computed, already cached, failed (with the
reason for each failure). Workers write their results straight into the cache (atomic
renames), so an interrupted extraction keeps everything finished so far and the next run
resumes. A bad file never stops the batch.

:func:`compute_features` is the same work for one file, in this process.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import pickle
import shutil
import signal
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from genrekit import audio
from genrekit.errors import DiskFullError, FeatureError, reason
from genrekit.features.cache import FeatureCache
from genrekit.files import printable
from genrekit.features.specs import FeatureSpec, get
from genrekit.features.streaming import ArraySink, NpySink, Sink
from genrekit.progress import Progress

if TYPE_CHECKING:  # only for annotations: worker processes need not import the datasets layer
    from genrekit.datasets.base import Track

__all__ = ["ExtractionReport", "Failure", "compute_features", "extract", "load_features", "default_workers"]

#: Signals whose peak is below this (dB full scale) are treated as silent and not featurised.
SILENCE_DB = -80.0
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


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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
        for block in audio.stream(path, sr=spec.sr, block_seconds=BLOCK_SECONDS):
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


def _init_worker(lifeline: Connection | None = None, parent_tempdir: str | None = None,
                 state: bytes | None = None) -> None:
    """Set up a worker process: it dies with its parent, its standard output goes to standard
    error, and :func:`_tune_process`.

    Parameters
    ----------
    lifeline : multiprocessing.connection.Connection, optional
        The read end of :func:`_lifeline`: end-of-file on it means that the parent has died.
    parent_tempdir : str, optional
        The parent's multiprocessing folder (``/tmp/pymp-*``), removed when the parent died
        without removing it itself.
    state : bytes, optional
        A pickled object the worker's tasks share (:func:`worker_state`), e.g. a model. It is unpickled
        last, once the worker watches its parent: unpickling may import heavy modules (torch: seconds),
        and a worker must die with its command at any moment.
    """
    if lifeline is not None:
        _watch_parent(lifeline, parent_tempdir)
    # Standard output carries the command's results (JSON, CSV); a stray print in a worker
    # (a library's, a debugging line) must not land in them. Errors still reach standard error,
    # and what a task fails with is sent back to the parent, which reports it.
    try:
        os.dup2(2, 1)
    except OSError:  # no standard error: leave things as they are
        pass
    _tune_process()
    if state is not None:
        global _worker_state
        _worker_state = pickle.loads(state)


#: What :func:`worker_pool`'s ``state`` installed in this worker process.
_worker_state: Any = None


def worker_state() -> Any:
    """The object given as ``state`` to the :func:`worker_pool` this worker belongs to (None if none)."""
    return _worker_state


def _tune_process() -> None:
    """One BLAS thread (the workers are the parallelism), and an allocator that reuses large
    buffers instead of mapping fresh pages for every segment. Process-wide: for workers (and
    benchmarks that measure what a worker does), never for the caller's process."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 * 1024 * 1024)  # M_MMAP_THRESHOLD: keep big arrays on the heap
        libc.mallopt(-1, 512 * 1024 * 1024)  # M_TRIM_THRESHOLD: and do not give them back at once
    except (OSError, AttributeError):  # not glibc: only slower
        pass


def _watch_parent(lifeline: Connection, parent_tempdir: str | None) -> None:
    """End this process as soon as end-of-file shows on ``lifeline``: its parent has died.

    A thread blocked on a pipe whose only write end the parent holds sees end-of-file the moment
    the parent is gone, however it ended (``kill -9``, the OOM killer, a crash), on every POSIX
    system. ``prctl(PR_SET_PDEATHSIG)`` would not do: with the forkserver a worker's parent is
    the fork server, which itself only exits once every worker has, and the signal follows the
    death of the parent *thread*, not process. The worker exits at once (a cache entry it was
    writing stays a temporary file, which the next extraction removes); the fork server and the
    resource tracker then see their own pipes close and exit too, so nothing is left holding the
    command's standard output or error open.
    """
    def watch() -> None:
        try:
            os.read(lifeline.fileno(), 1)  # nothing is ever written: this returns at end-of-file
        except OSError:
            pass
        if parent_tempdir and os.path.basename(parent_tempdir).startswith("pymp-"):
            shutil.rmtree(parent_tempdir, ignore_errors=True)  # the parent cannot remove it any more
        os._exit(1)

    threading.Thread(target=watch, name="genrekit-parent-watch", daemon=True).start()


_lifeline_pipe: tuple[Connection, Connection] | None = None


def _lifeline() -> Connection:
    """The read end of a pipe whose write end this process alone holds, open until it exits.

    Workers get the read end; nothing is written, so they read end-of-file exactly when this
    process has died and the kernel has closed its files. (A child made by a plain ``fork``
    of this process also holds the write end, until it exits; the worker pools here never fork.)
    """
    global _lifeline_pipe
    if _lifeline_pipe is None:
        _lifeline_pipe = multiprocessing.Pipe(duplex=False)
    return _lifeline_pipe[0]


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


class WorkerPool(ProcessPoolExecutor):
    """A :class:`~concurrent.futures.ProcessPoolExecutor` whose ``with`` block, left by an exception
    (Ctrl-C, SIGTERM turned into one by the CLI, a bug), cancels what has not started and ends the
    workers at once instead of waiting for the files in progress, which may be hours long."""

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.stop()
        return super().__exit__(exc_type, exc, tb)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        # The first submits start the workers. Ctrl-C or SIGTERM in the middle of a start leaves a
        # worker that is not in the pool's list yet, so stop() cannot end it, and that starts after
        # this process has removed the queues' semaphores and prints a traceback: hold them back.
        with _signals_held():
            return super().submit(fn, *args, **kwargs)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the pending tasks and terminate the workers (waiting ``timeout`` s for each)."""
        # CPython keeps the worker processes in ``_processes``; shutdown() drops that reference.
        processes = list((getattr(self, "_processes", None) or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout)
        # Wait for the pool's manager thread to close its wake-up pipe: CPython 3.11's exit hook
        # writes to that pipe without a lock, and if the thread closes it at the same moment the
        # exit prints an "Exception ignored ... Bad file descriptor" traceback (seen once in a
        # SIGTERM test of `genrekit tag`).
        manager = getattr(self, "_executor_manager_thread", None)
        if manager is not None and manager is not threading.current_thread():
            manager.join(timeout)


@contextmanager
def _signals_held(signums: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Run the block with these signals' handlers held back: a signal that arrives meanwhile is
    raised again, to its own handler, when the block ends. Only the main thread runs signal
    handlers, so elsewhere there is nothing to hold."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = [signum for signum in signums if signal.getsignal(signum) is not None]  # None: set outside Python
    previous = {signum: signal.signal(signum, lambda number, frame: caught.append(number)) for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in caught:
            signal.raise_signal(signum)


def worker_pool(workers: int, preload: Sequence[str] = (), state: Any = None) -> WorkerPool:
    """A process pool for featurising: one BLAS thread per worker, workers that die with this process.

    forkserver: workers start from a clean, single-threaded server process that has already
    imported this module (and ``preload``), so they start fast and are safe even when the
    parent runs threads (torch, a progress bar). Elsewhere, spawn. Either way every worker
    watches :func:`_lifeline` and exits within moments of this process dying, whatever
    killed it; used as a context manager, an exception ends the workers at once
    (:meth:`WorkerPool.stop`). ``state`` (picklable; e.g. a model) is sent once to each worker, where
    its tasks read it with :func:`worker_state`.
    """
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, *preload])
    else:
        context = multiprocessing.get_context("spawn")
    return WorkerPool(max_workers=workers, mp_context=context, initializer=_init_worker,
                      initargs=(_lifeline(), multiprocessing.util.get_temp_dir(),
                                None if state is None else pickle.dumps(state)))


class Bounded:
    """Tasks for ``items`` in a process pool, at most ``limit`` in flight (so a million-track
    library does not create a million futures at once). Iterate for ``(item, future)`` pairs
    as they finish (with a result, or the task's own exception). When the pool breaks (a
    worker killed by the system, or a start method that cannot work here) the iteration ends
    early, and :meth:`left` gives every item not yielded, to be done another way.

    Parameters
    ----------
    pool : concurrent.futures.Executor
    items : iterable
    submit : callable
        ``submit(pool, item) -> Future``.
    limit : int
    """

    def __init__(self, pool, items: Iterable, submit: Callable[[Any, Any], Future], limit: int):
        self.pool, self.items, self.submit, self.limit = pool, iter(items), submit, limit
        self.pending: dict[Future, Any] = {}
        self.broken: list = []

    def __iter__(self) -> Iterator[tuple[Any, Future]]:
        try:
            while True:
                while len(self.pending) < self.limit:
                    item = next(self.items, _END)
                    if item is _END:
                        break
                    try:
                        self.pending[self.submit(self.pool, item)] = item
                    except BrokenProcessPool:  # the pool broke before this item could go
                        self.broken.append(item)
                        raise
                if not self.pending:
                    return
                done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
                for future in done:
                    item = self.pending.pop(future)
                    if isinstance(future.exception(), BrokenProcessPool):
                        self.broken.append(item)
                    else:
                        yield item, future
        except BrokenProcessPool:  # submit refuses once the pool is broken
            return

    def left(self) -> list:
        """Items whose worker died, those submitted but not yielded, then those never submitted."""
        rest = list(self.items)
        self.items = iter(rest)  # asking twice gives the same answer
        return self.broken + list(self.pending.values()) + rest


_END = object()


def _parallel(todo, spec, cache_root, workers, record, bar, report) -> list[Track]:
    """Run ``_extract_one`` over ``todo`` in a process pool; returns the tracks left undone
    if the pool breaks (a worker killed by the system, or a start method that cannot work here)."""
    with worker_pool(workers) as pool:
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
            # In this process: no _tune_process(), whose thread limit and allocator settings
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
