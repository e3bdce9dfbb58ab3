"""genrekit.pool: a bounded task loop that survives a broken pool; signals held back while workers start."""

from __future__ import annotations

import os
import signal
import time

import pytest

from genrekit.pool import Bounded, _signals_held, worker_pool


def test_bounded_keeps_few_tasks_in_flight_and_knows_what_is_left():
    import itertools
    import threading
    from concurrent.futures import ThreadPoolExecutor

    lock, running, peak = threading.Lock(), [0], [0]

    def task(x):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return x * x

    with ThreadPoolExecutor(8) as pool:
        tasks = Bounded(pool, range(20), lambda p, x: p.submit(task, x), limit=3)
        assert sorted(f.result() for _, f in tasks) == [x * x for x in range(20)]
        assert peak[0] <= 3 and tasks.left() == []
        stopped = Bounded(pool, range(20), lambda p, x: p.submit(task, x), limit=3)
        seen = [item for item, _ in itertools.islice(stopped, 5)]
        assert sorted(seen + stopped.left()) == list(range(20))


def _dies_on_three(x):
    if x == 3:
        os._exit(1)  # a worker killed by the system
    time.sleep(0.05)
    return x


def test_bounded_stops_when_the_pool_breaks_and_hands_back_every_item_not_done():
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as pool:
        tasks = Bounded(pool, range(10), lambda p, x: p.submit(_dies_on_three, x), limit=2)
        done = [item for item, future in tasks if future.result() == item]
    assert 3 not in done and 3 in tasks.left()
    assert sorted(done + tasks.left()) == list(range(10))


# Signals while workers start ---------------------------------------------------------------
class Stop(Exception):
    """What the test's SIGTERM handler raises (a KeyboardInterrupt would end the pytest session if it escaped)."""


def test_signals_held_back_during_a_block_reach_their_handler_after_it():
    def stop(signum, frame):
        raise Stop

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(Stop):
            with _signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # the handler would have run here
                reached = True
        assert reached
        assert signal.getsignal(signal.SIGTERM) is stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_signal_while_a_worker_starts_still_ends_that_worker(monkeypatch):
    """A worker started but not yet in the pool's list when Ctrl-C / SIGTERM lands would escape
    WorkerPool.stop(), then fail to start once the pool's queues are gone, printing a traceback on the
    command's standard error. Held back until submit() returns, the signal finds it listed and ended."""
    from concurrent.futures import ProcessPoolExecutor, process

    started = []

    def spawn(self):  # CPython 3.11's ProcessPoolExecutor._spawn_process, with SIGTERM between start and registration
        worker = self._mp_context.Process(target=process._process_worker, args=(
            self._call_queue, self._result_queue, self._initializer, self._initargs, self._max_tasks_per_child))
        worker.start()
        started.append(worker)
        os.kill(os.getpid(), signal.SIGTERM)
        self._processes[worker.pid] = worker

    if not hasattr(ProcessPoolExecutor(1), "_max_tasks_per_child"):  # _spawn_process as above: 3.11+
        pytest.skip("another ProcessPoolExecutor than CPython 3.11's")
    monkeypatch.setattr(ProcessPoolExecutor, "_spawn_process", spawn)

    def stop(signum, frame):
        raise Stop

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(Stop):
            with worker_pool(1) as pool:
                pool.submit(time.sleep, 60)
                time.sleep(30)  # not reached: the signal is raised as submit returns
    finally:
        signal.signal(signal.SIGTERM, previous)
    for worker in started:
        worker.join(10)  # a worker that escaped stop() would still sleep here: exitcode None
    # Ended by stop(): SIGTERM. About one run in 12-15 (seen before and after issue 13), the fork server's
    # report of the worker's end is lost and multiprocessing answers 255 ("perhaps the forkserver process
    # itself got killed", popen_forkserver.Popen.poll); the worker has ended all the same. Not yet understood.
    assert started and all(w.exitcode in (-signal.SIGTERM, 255) for w in started), [w.exitcode for w in started]
