"""One network trained on many workers: Ray Train's ``TorchTrainer`` around :func:`genrekit.training.train`.

:func:`train_ray` is :func:`~genrekit.training.train` on ``workers`` Ray workers (``genrekit train
--workers N --ray auto|HOST:PORT``). The driver prepares the data once (the synthetic dataset written,
features extracted into the cache) and checks the run directory; then every worker, one process
each with PyTorch's process group set up by Ray Train (gloo on CPUs, nccl on GPUs), runs
:func:`~genrekit.training.train` on the same configuration: it reads the cached features itself and
trains its share of each epoch's clips (:class:`genrekit.training.ProcessGroup`), and rank 0 writes
the run directory. The run directory is a single-process run's, ``resume`` continues it, and with
one worker the metrics are those of :func:`~genrekit.training.train`.

Every node must see the dataset, the feature cache and the run directory at the same paths (shared
storage); the workers run in the driver's working directory, so relative paths mean the same there.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from typing import Any

from genrekit import models
from genrekit.data import prepare
from genrekit.errors import ConfigError, GenrekitError
from genrekit.runs import RunDir
from genrekit.scale import connect, require_ray
from genrekit.training import TrainConfig, _resolved_config, _resume_state, train

__all__ = ["train_ray"]


def train_ray(config: TrainConfig | dict, out: str | os.PathLike, resume: bool = False, workers: int = 1,
              address: str = "auto", progress: bool = True) -> dict[str, Any]:
    """Train a network data-parallel on ``workers`` Ray workers and write the run directory ``out``.

    Parameters
    ----------
    config : TrainConfig or dict
        As for :func:`genrekit.training.train`; a network (a classical model trains without Ray).
    out : path
        The run directory, on storage every node sees.
    resume : bool
        Continue the run in ``out`` from its last checkpoint.
    workers : int
        Training processes, each on one CPU, or one GPU when the cluster has GPUs and ``config.device``
        is ``auto`` or ``cuda``.
    address : str
        ``auto`` (the running cluster, else Ray started on this machine) or a cluster's ``HOST:PORT``.
    progress : bool

    Returns
    -------
    dict
        The contents of ``metrics.json``, as :func:`genrekit.training.train` returns.
    """
    require_ray()
    config = (TrainConfig.from_dict(config) if isinstance(config, dict) else config).resolved()
    if models.info(config.model).kind != "network":
        raise ConfigError(f"{config.model} is a classical model, fitted in one process; train it without --ray")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    use_gpu = _use_gpu(config.device, workers, connect(address, worker_output=progress))
    prepared = prepare(config, progress=progress)  # once, here: the dataset and the feature cache
    _resume_state(RunDir(out), _resolved_config(config, prepared.frames, prepared.hop, prepared.genres), resume)
    del prepared
    job = {"config": dataclasses.asdict(config), "out": os.fspath(out), "resume": resume, "progress": progress,
           "cwd": os.getcwd()}
    _run_workers(job, workers, use_gpu)
    return RunDir(out).read_metrics()


def _use_gpu(device: str, workers: int, cluster: dict) -> bool:
    """Whether each worker takes a GPU: the cluster has GPUs and ``device`` allows them.

    Raises
    ------
    ConfigError
        The cluster has too few GPUs (or CPUs) for ``workers`` workers: Ray would wait for them forever.
    """
    use_gpu = device != "cpu" and cluster["gpus"] >= 1
    if device == "cuda" and not use_gpu:
        raise ConfigError("device 'cuda' was asked for but the Ray cluster has no GPU; use --device cpu")
    kind, have = ("GPU", cluster["gpus"]) if use_gpu else ("CPU", cluster["cpus"])
    if have < workers:
        raise ConfigError(f"{workers} training workers need {workers} {kind}s; the Ray cluster has {have:g}: "
                          f"use --workers {int(have) or 1}" + (" or --device cpu" if use_gpu else ""))
    return use_gpu


def _run_workers(job: dict, workers: int, use_gpu: bool) -> None:
    """``TorchTrainer.fit`` of :func:`_worker` on ``workers`` workers; a worker's genrekit error raised here."""
    require_ray()
    from ray.train import FailureConfig, RunConfig, ScalingConfig, TrainingFailedError
    from ray.train.torch import TorchTrainer

    storage = tempfile.mkdtemp(prefix="genrekit-ray-train-")  # Ray Train's own records; the run is in `out`
    try:
        trainer = TorchTrainer(_worker, train_loop_config=job,
                               scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu),
                               run_config=RunConfig(name="genrekit-train", storage_path=storage,
                                                    failure_config=FailureConfig(max_failures=0)))
        trainer.fit()
    except TrainingFailedError as exc:
        raise _cause(exc) from None
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def _cause(exc: Exception) -> Exception:
    """The first worker's :class:`~genrekit.errors.GenrekitError` inside a Ray Train failure, else ``exc``."""
    for failure in getattr(exc, "worker_failures", {}).values():
        for error in (failure, getattr(failure, "cause", None), failure.__cause__):
            if isinstance(error, GenrekitError):
                return error
    return exc


def _worker(job: dict) -> None:
    """One training worker: :func:`genrekit.training.train` in the driver's working directory."""
    os.chdir(job["cwd"])
    train(TrainConfig(**job["config"]), job["out"], resume=job["resume"], progress=job["progress"])
