"""Thread counts of the numeric libraries, set in one place.

:func:`one_blas_thread` for NumPy / SciPy feature code, :func:`torch_threads` for PyTorch operators,
:func:`seeded` for a training run (torch's thread count and the seeds of the global random generators,
restored when it ends). :func:`rng_state` / :func:`set_rng_state` save and restore those generators
(a checkpoint carries them).

Why features run on one BLAS thread
-----------------------------------
OpenBLAS splits some products (matrix-vector products, small matrix products) across its
threads, and the partial sums are then added in an order that depends on the thread count.
The same features computed in a worker process (one BLAS thread, see
:func:`genrekit.features.extraction.worker_pool`) and in the calling process (as many
threads as cores) then differ in the last bits: about 4e-8 on 10 % of a music-feature map.
Cached features must not depend on which process computed them, so every
:meth:`genrekit.features.FeatureSpec.compute` runs inside :func:`one_blas_thread`. On one
machine (same CPU, same libraries) features are then bit-identical whichever process
computes them; across CPU types or library versions they agree only to rounding, and tests
that compare such values use a tolerance.

Feature extraction gets its parallelism from processes, one per core, so a single BLAS
thread costs it nothing.

Where it holds: in a process's main thread, which is where workers and the in-process
extraction path compute what goes into the cache. OpenBLAS 0.3.3x ignores a count set from
another thread once the main thread has set one (measured with NumPy 2.4's OpenBLAS), so
features computed in a server's worker thread may differ from cached ones in the last bits;
nothing computed there is cached.
"""

from __future__ import annotations

import random
import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np

__all__ = ["one_blas_thread", "torch_threads", "seeded", "rng_state", "set_rng_state"]

_lock = threading.Lock()
_active = 0          # blocks open now, in any thread of this process
_restore = None      # what undoes the limit once the last block closes
_controller = None


def _blas_controller():
    """A threadpoolctl controller over the BLAS libraries loaded now (created once: ~1 ms)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run NumPy / SciPy BLAS calls inside the block on one thread, then restore the count.

    The limit is process-wide (BLAS has one thread count per process): the first block to open
    sets it and the last to close, in whichever thread, restores it, so nested blocks and
    blocks in several threads at once are safe. Cheap (~20 us per block). The controller is made
    on first use, after :mod:`numpy` and :mod:`scipy` (whose BLAS the feature code uses) are
    loaded; a BLAS library loaded later by something else is not limited.
    """
    global _active, _restore
    with _lock:
        if _active == 0:
            _restore = _blas_controller().limit(limits=1)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                _restore.restore_original_limits()
                _restore = None


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run PyTorch operators on ``n`` threads inside the block, then restore the previous count.

    Process-wide like BLAS's; used where a fixed count matters: scoring beside busy worker
    processes (an OpenMP pool beside them spins) and pretrained embeddings that are cached
    (computed on one thread, so a cached value does not depend on the process that made it).
    """
    import torch

    previous = torch.get_num_threads()
    if previous == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def rng_state() -> dict:
    """The states of the global random generators: torch (and CUDA's), NumPy's legacy one, Python's."""
    import torch

    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict) -> None:
    """Restore the generators of :func:`rng_state` (CUDA's when saved and a GPU is present)."""
    import torch

    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextmanager
def seeded(seed: int, threads: int | None = None) -> Iterator[None]:
    """The process-wide state of a training run, set for the block and restored after it.

    Inside: the global torch, NumPy and Python generators seeded with ``seed`` (weight initialisation
    and dropout draw from them), and PyTorch on ``threads`` threads when given. On exit, even by an
    exception, the generators and the thread count are what they were before.
    """
    import torch

    saved = rng_state()
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        set_rng_state(saved)
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
