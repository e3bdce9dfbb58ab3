"""Classification on a Ray cluster: the same predictions as one machine's pool, on as many machines as Ray has.

Ray (PyPI ``ray``, the optional extra ``pip install 'genrekit[ray]'``) is the engine; genrekit brings
only the stages. :class:`RayClassifier` has the :class:`~genrekit.inference.Classifier`'s ``predict``
(same arguments, same :class:`~genrekit.inference.Prediction` objects, delivered through ``on_result``
as each file finishes), so ``genrekit predict --ray`` and the tagger (:func:`genrekit.tagger.tag_library`,
``genrekit tag --ray``) use it unchanged: the catalogue keeps one writer, the driver, and with it every
guarantee of the single-machine tagger (one transaction per file; a run killed at any moment and started
again classifies only what is not in the catalogue).

The Ray Data pipeline, per :meth:`RayClassifier.predict`, on a cluster of CPUs::

    files (index, absolute path), blocks of ``files_per_task``
      -> classify: a pool of ``actors`` stateful actors (one CPU each; default one per CPU), each
         loading the model once from its *source* (a bundled model's name or a path every node can
         read; no network is pickled per batch); per block, :func:`genrekit.features.windows.read_windows`
         per file (a file that cannot be read becomes its reason, never a failed task) and one scorer
         call for the windows of the whole block (:meth:`Classifier.score_files`)
      -> the driver, in any order: :meth:`Classifier.prediction_from_scored` (the model's clip-to-track
         rule, timelines), ``on_result(index, prediction)``

and on a cluster with GPUs (or with ``separate_scoring=True``) the issue's two stages: featurising CPU
tasks (``read_windows``) whose windows travel through the object store to ``actors`` scoring actors,
one GPU each, that reserve no CPU. A file's windows outweigh its scores by far, so on CPUs the one
stage is cheaper: on one 2-core machine the two stages ran at 0.74-0.76x the local process pool
after start-up, the one stage at 0.98x (``benchmarks/scale.py``, docs/scale.md).

Ray retries what a lost process was doing: tasks without limit (``max_retries=-1``), and an actor is
restarted and its batch tried again (``max_restarts=-1``, ``max_task_retries=-1``); these are Ray
Data's defaults for ``map_batches`` (2.60; passing them explicitly is deprecated), and
``tests/test_scale.py`` kills a real actor process mid-run to hold them to it. The output of a failed
attempt is never delivered, and the driver drops any file that would come back twice, so a worker or
node lost mid-run loses and repeats no track.

    >>> from genrekit.scale import RayClassifier                          # doctest: +SKIP
    >>> classifier = RayClassifier("genrekit-coarse-mel-v2", address="auto", actors=2)   # doctest: +SKIP
    >>> predictions = classifier.predict(["~/Music"])                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import socket
import time
import warnings
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from genrekit.errors import ConfigError, GenrekitError, os_reason, reason
from genrekit.features.windows import read_windows

__all__ = ["INSTALL", "require_ray", "connect", "shutdown", "RayClassifier", "default_actors"]

#: What to install for ``--ray``.
INSTALL = "pip install 'genrekit[ray]'"
#: What a file the job did not return becomes (never silently short).
_NO_RESULT = "the Ray job returned no result for this file; run the same command again"
#: Files per featurising task (and per scoring call): large enough to batch the network, small enough
#: that a lost task costs little and the cluster's CPUs share the work evenly.
FILES_PER_TASK = 8


def require_ray():
    """The ``ray`` module, or a :class:`~genrekit.errors.ConfigError` saying what to install."""
    try:
        import ray
        import ray.data  # noqa: F401  (the pipeline; installed by the extra with ray)
    except ImportError:
        raise ConfigError(f"--ray needs Ray, which is not installed here: {INSTALL}") from None
    return ray


def connect(address: str | None = "auto", worker_output: bool = False) -> dict[str, Any]:
    """Join a Ray cluster (or start Ray on this machine) once per process; later calls only report.

    Parameters
    ----------
    address : str
        ``"auto"``: the cluster ``RAY_ADDRESS`` names, else one started on this machine with
        ``ray start --head``, else a new local instance using this machine's CPUs (and GPUs);
        ``"local"``: always a new local instance; ``HOST:PORT``: that cluster's head
        (``ray start --head --port PORT``).
    worker_output : bool
        Show what the workers print (training's progress lines) on this process's terminal; off for
        classification, whose results come back as rows. Applies to the first connection of a process.

    Returns
    -------
    dict
        ``address`` (the cluster's GCS address), ``nodes`` (alive), ``cpus``, ``gpus`` (the cluster's
        totals).

    Raises
    ------
    ConfigError
        Ray is not installed, or the cluster cannot be reached.
    """
    ray = require_ray()
    if not ray.is_initialized():
        target = None if address in (None, "", "auto") else address
        if target not in (None, "local"):
            _check_reachable(target)
        try:
            ray.init(address=target, logging_level=logging.WARNING, log_to_driver=worker_output,
                     include_dashboard=False if target in (None, "local") else None)
        except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Ray cluster at {address} ({str(exc).splitlines()[0]}); start one "
                              "with `ray start --head` and pass its address (HOST:PORT), or use --ray auto") from None
        _quiet_ray_data()
    resources = ray.cluster_resources()
    return {"address": ray.get_runtime_context().gcs_address,
            "nodes": sum(1 for node in ray.nodes() if node.get("Alive")),
            "cpus": float(resources.get("CPU", 0.0)), "gpus": float(resources.get("GPU", 0.0))}


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` where nothing answers at once (Ray itself retries for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        raise ConfigError(f"--ray {address}: give auto, local or the head's HOST:PORT (e.g. 10.0.0.5:6379)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address} ({os_reason(exc)}); start its head there "
                          "with `ray start --head --port PORT`, or use --ray auto") from None


def shutdown() -> None:
    """Leave the cluster (or stop the local instance this process started); nothing when not connected."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()


def _quiet_ray_data() -> None:
    """No progress bars or execution banners from Ray Data (the command has its own progress bar)."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def default_actors(info: dict[str, Any]) -> int:
    """Actors when none are asked for: one scoring actor per GPU, else one classifying actor per CPU."""
    if info["gpus"] >= 1:
        return int(info["gpus"])
    return max(1, int(info["cpus"]))


def _pack(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _featurise(batch: dict[str, np.ndarray], spec, window_seconds: float) -> dict[str, np.ndarray]:
    """A CPU task: each file's feature windows (pickled), or the reason it cannot be read."""
    found = [_pack(read_windows(str(path), spec, window_seconds)) for path in batch["path"]]
    return {"index": batch["index"], "path": batch["path"], "windows": np.array(found, dtype=object)}


class _Scoring:
    """A scoring actor: loads the model once from its source, then scores blocks of files' windows.

    Parameters
    ----------
    source : str or None
        What :func:`genrekit.inference.load_model` loads (a bundled model's name or a path the node can read).
    options : dict
        ``load_model``'s keyword arguments (backend, rule, clip hop, batch size, exact).
    gpu : bool
        Move a PyTorch network to the actor's GPU.
    write : dict, optional
        Write each block's catalogue rows as a Parquet part (:func:`genrekit.catalogue_parts.write_part`)
        instead of returning its scored clips: ``out`` (the parts' folder), ``model_id``,
        ``min_confidence``; only ``(ok, error)`` per file comes back.
    """

    def __init__(self, source: str | None, options: dict, gpu: bool = False, write: dict | None = None):
        import torch

        from genrekit.inference import TorchScorer, load_model

        torch.set_num_threads(1)  # one CPU per actor: the other actors (or featurising tasks) use the rest
        self.classifier = load_model(source, workers=1, **options)
        if gpu and isinstance(self.classifier.scorer, TorchScorer) and torch.cuda.is_available():
            self.classifier.scorer.to("cuda")
        self.write = write

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``{"index", "path", "windows"}`` (pickled windows or reasons) -> ``{"index", "out"}``."""
        return self._deliver(batch, [pickle.loads(item) for item in batch["windows"]])

    def _deliver(self, batch: dict[str, np.ndarray], outcomes: list) -> dict[str, np.ndarray]:
        """Score a block's windows (one scorer call), then return them pickled, or write them as a part."""
        readable = [i for i, outcome in enumerate(outcomes) if not isinstance(outcome, str)]
        try:
            scored = self.classifier.score_files([outcomes[i] for i in readable])
        except Exception:  # one odd file must not cost the others: score them one by one
            scored = [self._score_one(outcomes[i]) for i in readable]
        for i, result in zip(readable, scored):
            outcomes[i] = result
        if self.write is not None:
            outcomes = self._write_part([str(path) for path in batch["path"]], outcomes)
        return {"index": batch["index"], "out": np.array([_pack(o) for o in outcomes], dtype=object)}

    def _score_one(self, found) -> Any:
        try:
            return self.classifier.score_files([found])[0]
        except Exception as exc:
            return reason(exc, None)

    def _write_part(self, paths: list[str], outcomes: list) -> list[tuple[bool, str | None]]:
        """The block's catalogue rows, written as one part; ``(ok, error)`` per file."""
        from genrekit.catalogue_parts import write_part
        from genrekit.tagger import catalogue_row

        rows = []
        for path, outcome in zip(paths, outcomes):
            prediction = self.classifier.prediction_from_scored(path, outcome)
            prediction.apply_min_confidence(self.write["min_confidence"])
            rows.append(catalogue_row(path, _identity(path), self.write["model_id"], prediction))
        write_part(rows, self.write["out"])
        return [(row["status"] == "ok", row["error"]) for row in rows]


def _identity(path: str):
    """A file's identity as the tagger records it: size, time, content hash; its status alone when it
    cannot be read (:meth:`genrekit.tagger.FileIdentity.unreadable`)."""
    from genrekit.tagger import FileIdentity

    try:
        return FileIdentity.of(path)
    except (GenrekitError, OSError):
        return FileIdentity.unreadable(path)


class _Classifying(_Scoring):
    """An actor that featurises and scores its block of files itself: the pipeline on CPU-only clusters.

    Each actor holds one CPU; a file's windows never leave the process that computed them (on CPUs,
    moving them through the object store to a separate scoring actor costs more than scoring them).
    """

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``{"index", "path"}`` -> ``{"index", "out"}``."""
        spec, seconds = self.classifier.spec, self.classifier.window_seconds
        return self._deliver(batch, [read_windows(str(p), spec, seconds) for p in batch["path"]])


class RayClassifier:
    """A :class:`~genrekit.inference.Classifier` whose :meth:`predict` runs on a Ray cluster.

    The model is loaded here once (its id, genres, feature spec and clip-to-track rule; a bad source
    fails before Ray starts) and once in each actor, from ``source``.

    Parameters
    ----------
    source : str or path-like, optional
        The model, as :func:`~genrekit.inference.load_model` takes it: ``None`` (the bundled model), a
        bundled model's name, or a run directory / model file / ONNX file, which every node must be able
        to read at the same path.
    address : str
        The cluster (:func:`connect`): ``"auto"``, ``"local"`` or ``HOST:PORT``.
    actors : int, optional
        Actors: classifying actors of one CPU each, or with ``separate_scoring`` scoring actors (default
        :func:`default_actors`: one per CPU, or one per GPU).
    files_per_task : int
        Files per block: per actor call (and per featurising task).
    separate_scoring : bool, optional
        Score in actors of their own, fed by featurising tasks (the pipeline for GPUs), instead of
        actors that featurise and score their files themselves (one CPU each). Default: when the
        cluster has GPUs.
    **options
        ``load_model``'s ``backend``, ``rule``, ``clip_hop``, ``batch_size``, ``exact``.

    Raises
    ------
    ConfigError
        Ray is not installed (checked first), or an option is invalid.
    GenrekitError
        The model cannot be loaded.
    """

    def __init__(self, source: str | os.PathLike | None = None, address: str = "auto", actors: int | None = None,
                 files_per_task: int = FILES_PER_TASK, separate_scoring: bool | None = None, **options):
        from genrekit.inference import BUNDLED_MODELS, load_model

        require_ray()
        if actors is not None and actors < 1:
            raise ConfigError(f"--ray-actors must be at least 1, got {actors}")
        if files_per_task < 1:
            raise ConfigError(f"files_per_task must be at least 1, got {files_per_task}")
        self.local = load_model(source, workers=1, **options)
        self.source = None if source is None else (str(source) if str(source) in BUNDLED_MODELS
                                                   else os.path.abspath(os.path.expanduser(str(source))))
        self.options = options
        self.address = address
        self.actors = actors
        self.files_per_task = files_per_task
        self.separate_scoring = separate_scoring
        #: What the last :meth:`predict` did: cluster, actors, seconds to connect and to classify,
        #: files, duplicates dropped.
        self.last_run: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"RayClassifier({self.model_id!r}, address={self.address!r}, actors={self.actors})"

    @property
    def model_id(self) -> str:
        return self.local.model_id

    @property
    def genres(self) -> list[str]:
        return self.local.genres

    @property
    def spec(self):
        return self.local.spec

    @property
    def rule(self) -> str:
        return self.local.rule

    def predict(self, paths: str | os.PathLike | Iterable[str | os.PathLike], timeline: bool = False,
                segment_seconds: float = 10.0, progress: bool = False,
                on_result: Callable[[int, Any], None] | None = None) -> list:
        """Classify files on the cluster; arguments and result as :meth:`Classifier.predict`.

        ``on_result(index, prediction)`` is called here, in the driver, as each file's result arrives
        (any order), exactly once per file.

        Raises
        ------
        ConfigError
            Ray is not installed or the cluster cannot be reached.
        GenrekitError
            The cluster failed the job (e.g. every node lost); the files delivered so far were delivered.
        """
        from genrekit.inference.classifier import check_segment_seconds
        from genrekit.inference.prediction import Prediction
        from genrekit.paths import expand_paths

        check_segment_seconds(segment_seconds)
        files = expand_paths([paths] if isinstance(paths, (str, os.PathLike)) else list(paths))
        results: list[Prediction | None] = [None] * len(files)
        for index, packed in self._stream(files, progress):
            results[index] = Prediction(files[index], error=_NO_RESULT) if packed is None else \
                self.local.prediction_from_scored(files[index], pickle.loads(packed), timeline, segment_seconds)
            if on_result is not None:
                on_result(index, results[index])
        return results

    def write_parts(self, paths: list[str], out: str | os.PathLike, progress: bool = False,
                    min_confidence: float | None = None) -> Iterator[tuple[str, bool, str | None]]:
        """Classify files on the cluster into catalogue rows that the workers write as Parquet parts of
        ``out`` (:mod:`genrekit.catalogue_parts`, one part per block of files); nothing but each file's
        outcome comes back.

        Yields
        ------
        (path, ok, error)
            Per file, as its part is written (any order, once per file); a file the job did not return
            is yielded at the end with ``ok`` None and the reason: it is in no part (the next run
            classifies it).
        """
        from genrekit.catalogue_parts import require_pyarrow
        from genrekit.inference.prediction import check_min_confidence

        require_pyarrow()
        check_min_confidence(min_confidence)
        files = [os.path.abspath(os.path.expanduser(str(path))) for path in paths]
        write = {"out": os.path.abspath(os.path.expanduser(str(out))), "model_id": self.model_id,
                 "min_confidence": min_confidence}
        for index, packed in self._stream(files, progress, write):
            yield (files[index], None, _NO_RESULT) if packed is None else (files[index], *pickle.loads(packed))

    def _stream(self, files: list[str], progress: bool,
                write: dict | None = None) -> Iterator[tuple[int, bytes | None]]:
        """Run the pipeline over ``files``: ``(index, output)`` once per file, as they come; at the end
        ``(index, None)`` for each file the job did not return (never silently short)."""
        from genrekit.progress import Progress

        ray = require_ray()
        if not files:
            return
        start = time.perf_counter()
        info = connect(self.address)
        connected = time.perf_counter()
        actors = self.actors or default_actors(info)
        seen, duplicates = set(), 0
        with Progress(len(files), "classifying on Ray", enabled=progress) as bar, warnings.catch_warnings():
            # a run of fewer blocks than actors is fine (a small library)
            warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
            try:
                for batch in self._dataset(files, actors, info["gpus"] >= 1, write).iter_batches(
                        batch_size=None, batch_format="numpy"):
                    for index, packed in zip(batch["index"], batch["out"]):
                        if int(index) in seen:  # delivered once already (a retried block)
                            duplicates += 1
                            continue
                        seen.add(int(index))
                        yield int(index), packed
                        bar.advance()
            except ray.exceptions.RayError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise GenrekitError(f"the Ray cluster failed the job ({type(exc).__name__}: {first}); the files "
                                    "finished so far were delivered; run the same command again") from None
        for index in sorted(set(range(len(files))) - seen):
            yield index, None
        self.last_run = {**info, "actors": actors, "files": len(files), "duplicates_dropped": duplicates,
                         "connect_seconds": connected - start, "seconds": time.perf_counter() - connected}

    def _dataset(self, files: list[str], actors: int, gpus: bool, write: dict | None = None):
        """The lazy Ray Data pipeline over ``files`` (see the module docstring)."""
        import ray.data

        rows = [{"index": i, "path": os.path.abspath(os.path.expanduser(path))} for i, path in enumerate(files)]
        per_task = self.files_per_task
        ds = ray.data.from_items(rows, override_num_blocks=max(1, math.ceil(len(rows) / per_task)))
        model = {"source": self.source, "options": self.options, "gpu": gpus, "write": write}
        pool = ray.data.ActorPoolStrategy(size=actors)
        if not (gpus if self.separate_scoring is None else self.separate_scoring):
            return ds.map_batches(_Classifying, fn_constructor_kwargs=model, compute=pool, batch_size=per_task,
                                  batch_format="numpy", num_cpus=1)
        ds = ds.map_batches(_featurise, fn_kwargs={"spec": self.spec, "window_seconds": self.local.window_seconds},
                            batch_size=per_task, batch_format="numpy", num_cpus=1)
        return ds.map_batches(_Scoring, fn_constructor_kwargs=model, compute=pool, batch_size=per_task,
                              batch_format="numpy", num_cpus=0, num_gpus=1 if gpus else 0)
