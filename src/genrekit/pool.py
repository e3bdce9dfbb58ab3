"""Process pools that behave: workers that die with their parent, stop at once on Ctrl-C, and a
bounded task loop that survives a broken pool.

:func:`worker_pool` makes the pool (forkserver where there is one, else spawn; every worker watches a
lifeline to this process and sends its standard output to standard error); :class:`Bounded` keeps at
most a few tasks per worker in flight and hands back what a broken pool left undone. Used by feature
extraction (:mod:`genrekit.features.extraction`) and by prediction (:mod:`genrekit.inference`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import pickle
import shutil
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any, Callable, Iterable, Iterator, Sequence

__all__ = ["worker_pool", "WorkerPool", "Bounded", "default_workers", "tune_process"]


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# Worker side -----------------------------------------------------------------------------
def _init_worker(lifeline: Connection | None = None, parent_tempdir: str | None = None,
                 state: bytes | None = None) -> None:
    """Set up a worker process: it dies with its parent, its standard output goes to standard
    error, and :func:`tune_process`.

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
    tune_process()
    if state is not None:
        global _worker_state
        _worker_state = pickle.loads(state)


#: What :func:`worker_pool`'s ``state`` installed in this worker process.
_worker_state: Any = None


def worker_state() -> Any:
    """The object given as ``state`` to the :func:`worker_pool` this worker belongs to (None if none)."""
    return _worker_state


def tune_process() -> None:
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



# Parent side -----------------------------------------------------------------------------
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
    """A process pool for featurising and scoring: one BLAS thread per worker, workers that die with
    this process.

    forkserver: workers start from a clean, single-threaded server process that has already
    imported this module and ``preload`` (the modules the tasks live in), so they start fast and are safe even when the
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

