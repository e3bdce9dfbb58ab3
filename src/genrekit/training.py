"""The training engine: any registered model, the papers' settings, a resumable run directory.

:func:`train` takes a :class:`TrainConfig` (or a dict of its fields), resolves every unset
field from the model's paper (:func:`genrekit.models.info`), prepares the data
(:func:`genrekit.data.prepare`) and writes a run directory (:class:`genrekit.runs.RunDir`:
``config.yaml``, ``curves.csv``, ``metrics.json``, ``predictions.npz``, ``checkpoints/``, or
``model.pkl`` for a classical model). :func:`fit` and :func:`fit_classical` are the engines
themselves, for callers that bring their own arrays.

A network run is a :class:`NetworkRun`, in the spirit of asteroid's ``System`` / Lightning's
module: :meth:`~NetworkRun.train_epoch` (one pass over the training clips),
:meth:`~NetworkRun.validate`, :meth:`~NetworkRun.checkpoint`, :meth:`~NetworkRun.restore` (resume)
and :meth:`~NetworkRun.score`; :func:`fit` strings them together. The process-wide state a run
sets (torch's thread count, the seeds of the global random generators) is set and restored by
:func:`genrekit.threads.seeded`, and the caller's arrays are never modified.

Data parallel: when ``torch.distributed`` is initialised (Ray Train's ``TorchTrainer`` does it, see
:mod:`genrekit.training_ray`; so does ``torchrun``), :func:`fit` trains one replica per process
(:class:`ProcessGroup`): every rank draws the same clip order for an epoch and trains on its share
of it, ``clips[rank::world]``, in batches of ``batch_size / world`` clips, the gradients averaged by
``DistributedDataParallel``, so every rank holds the same weights; rank 0 validates, scores and
writes the run directory, and every rank follows its validation (best epoch, early stop). With one
process nothing changes.

Training is deterministic for a seed: the clip order of epoch ``e`` is drawn from
``(seed, e)`` and the torch RNG state (dropout) is checkpointed, so a run killed after an
epoch and resumed with ``resume=True`` ends with the same metrics as an uninterrupted one.

Clip sampling: ``fixed`` uses every clip of the feature preset's clip grid (Yang, Senac,
Wang); ``random_crop`` takes one fresh random crop of every training track per epoch
(Dong). Evaluation always uses the fixed grid and aggregates clip probabilities per track
with the model's rule (:mod:`genrekit.aggregation`).

Inputs are standardised per band with the training tracks' mean and standard deviation
(``normalize="band"``, the default; stored in the model, so inference needs nothing else),
or fed as they are (``normalize="none"``, as the papers' Keras code did).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from genrekit import aggregation, datasets, models
from genrekit.data import TrackData, prepare
from genrekit.errors import ConfigError
from genrekit.metrics import classification
from genrekit.features import clips as clipping
from genrekit.models.assembly import Network, Standardize, build_model, pipeline, sample_vectors
from genrekit.progress import Progress
from genrekit.runs import RunDir, plain
from genrekit.threads import rng_state, seeded, set_rng_state

__all__ = ["TrainConfig", "NetworkRun", "ProcessGroup", "train", "fit", "fit_classical", "evaluate", "clip_probabilities",
           "make_optimizer", "resolve_precision"]


def _default_features(info, dataset: str) -> str:
    """The preset a model reads by default: on ``coarse-mel`` its coarse one, on ``gtzan-features`` (per-track
    vectors) the table's own for a classical model, else the paper's."""
    if dataset == "coarse-mel":
        return info.coarse_features
    if dataset in datasets.PRECOMPUTED and info.kind == "classical":
        return datasets.PRECOMPUTED[dataset]
    return info.training_defaults()["features"]


@dataclass
class TrainConfig:
    """Everything a training run depends on. ``None`` means "the paper's value" (resolved by :func:`train`).

    Attributes
    ----------
    model : str
        A registered model name (``genrekit.models.names()``).
    dataset : str
        ``gtzan``, ``folder``, ``synthetic`` or ``coarse-mel``.
    root : str, optional
        The dataset folder (synthetic: where to write it).
    dataset_options : dict
        Extra arguments of the dataset loader (synthetic: ``n_per_genre``, ``seconds``).
    split : str
        A split spec (``genrekit.datasets.splits.parse``): ``holdout:8/1/1``, ``kfold:10``, ``filtered``...
    split_index : int
        Which split of a multi-split spec (a fold, a repetition).
    features : str or dict, optional
        Feature preset; default the paper's. A mapping is a preset with fields changed
        (``{"preset": "coarse_mel", "max_hz": 10500}``).
    clip_frames, clip_hop : int, optional
        Override the preset's clip grid.
    model_args : dict
        Extra constructor arguments of the model.
    optimizer : dict, optional
        ``{"name": "adadelta"|"adam"|"sgd", "lr": ..., "momentum": ..., "weight_decay": ...}``.
    batch_size, epochs : int, optional
    sampling : {"fixed", "random_crop"}, optional
    aggregation : {"sum", "mean", "vote"}, optional
    patience : int, optional
        Early stopping after this many epochs without a better validation track accuracy;
        ``0`` disables it. Default: the paper's (None there means no early stopping).
    normalize : {"band", "none"}
    seed : int
    device : {"auto", "cpu", "cuda"}
    precision : {"auto", "fp32", "bf16"}
        ``bf16``: bfloat16 autocast (weights and optimiser stay float32). ``auto``: bf16 where
        the device computes it natively (a CUDA GPU with bf16, or a CPU with AVX-512 BF16 / AMX),
        else fp32. The precision used is recorded in ``metrics.json``.
    cache : str, optional
        Feature cache root.
    workers : int, optional
        Feature extraction workers.
    threads : int, optional
        torch CPU threads (default: torch's choice).
    """

    model: str
    dataset: str = "synthetic"
    root: str | None = None
    dataset_options: dict = field(default_factory=dict)
    split: str = "holdout:8/1/1"
    split_index: int = 0
    features: str | dict | None = None
    clip_frames: int | None = None
    clip_hop: int | None = None
    model_args: dict = field(default_factory=dict)
    optimizer: dict | None = None
    batch_size: int | None = None
    epochs: int | None = None
    sampling: str | None = None
    aggregation: str | None = None
    patience: int | None = None
    normalize: str = "band"
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    cache: str | None = None
    workers: int | None = None
    threads: int | None = None

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def resolved(self) -> "TrainConfig":
        """A copy with every paper default filled in (a classical model: one fit, no epochs)."""
        values = dataclasses.asdict(self)
        info = models.info(self.model)
        defaults = info.training_defaults()
        if values["features"] is None:
            values["features"] = _default_features(info, values["dataset"])
        # A classical model is fitted once: its optimiser, batches, epochs, sampling and patience are fixed.
        fixed = {"optimizer", "batch_size", "epochs", "sampling", "patience"} if info.kind == "classical" else set()
        for key in ("optimizer", "batch_size", "epochs", "sampling", "aggregation"):
            if values[key] is None or key in fixed:
                values[key] = defaults[key]
        if values["patience"] is None or "patience" in fixed:
            values["patience"] = defaults["patience"] or 0
        _check(values)
        return TrainConfig(**values)


def _check(values: dict) -> None:
    """``ConfigError`` for a resolved setting out of its range."""
    if values["sampling"] not in ("fixed", "random_crop"):
        raise ConfigError(f"sampling must be 'fixed' or 'random_crop', got {values['sampling']!r}")
    if values["aggregation"] not in aggregation.RULES:
        raise ConfigError(f"aggregation must be one of {aggregation.RULES}, got {values['aggregation']!r}")
    if values["precision"] not in ("auto", "fp32", "bf16"):
        raise ConfigError(f"precision must be auto, fp32 or bf16, got {values['precision']!r}")
    if values["normalize"] not in ("band", "none"):
        raise ConfigError(f"normalize must be 'band' or 'none', got {values['normalize']!r}")
    if values["epochs"] < 1 or values["batch_size"] < 1:
        raise ConfigError("epochs and batch_size must be at least 1")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu")
    return torch.device(name)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` where the device computes bfloat16 natively, else ``fp32``.

    On this project's 2-core CPU (AVX-512 BF16) bf16 autocast trains the paper networks
    1.7-1.9x faster than fp32, whose convolutions already run near the cores' fp32 peak
    (``benchmarks/train.py``).
    """
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    try:
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    except (AttributeError, RuntimeError):
        return "fp32"


def make_optimizer(params, settings: dict) -> torch.optim.Optimizer:
    """The papers' optimisers: ``adadelta`` (Yang & Zhang: lr 1.0), ``adam`` (Wang), ``sgd`` (Dong)."""
    settings = dict(settings)
    name = settings.pop("name", "adam").lower()
    lr = settings.pop("lr", None)
    if name == "adadelta":
        # Keras' Adadelta defaults (rho 0.95, epsilon 1e-7), which Yang & Zhang used with lr 1.0.
        return torch.optim.Adadelta(params, lr=1.0 if lr is None else lr, rho=settings.pop("rho", 0.95),
                                    eps=settings.pop("eps", 1e-7), **settings)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3 if lr is None else lr, **settings)
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.01 if lr is None else lr, **settings)
    raise ConfigError(f"unknown optimizer {name!r}; use adadelta, adam or sgd")


def _batches(data: TrackData, starts: list[tuple[int, int]], frames: int, batch_size: int):
    """Stack clips ``(track index, start frame)`` into batches ``[batch, bands, frames]``."""
    for i in range(0, len(starts), batch_size):
        chunk = starts[i:i + batch_size]
        clips = np.stack([data.features[t][:, s:s + frames] for t, s in chunk])
        labels = data.labels[[t for t, _ in chunk]]
        yield torch.from_numpy(clips), torch.from_numpy(labels)


def _grid(data: TrackData, frames: int, hop: int) -> list[tuple[int, int]]:
    """Every clip of the fixed grid: ``(track index, start)`` pairs, track by track."""
    return [(t, int(s)) for t, values in enumerate(data.features)
            for s in clipping.clip_starts(values.shape[1], frames, hop)]


@torch.no_grad()
def clip_probabilities(model: nn.Module, data: TrackData, frames: int, hop: int, device: torch.device,
                       batch_size: int = 256, precision: str = "fp32") -> list[np.ndarray]:
    """Softmax probabilities of every fixed-grid clip, per track.

    Returns
    -------
    list of np.ndarray [shape=(n_clips, n_classes)], one per track of ``data``
    """
    model.eval()
    grid = _grid(data, frames, hop)
    outputs = []
    for x, _ in _batches(data, grid, frames, batch_size):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(x.to(device))
        outputs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    probabilities = np.concatenate(outputs) if outputs else np.zeros((0, 0), np.float32)
    per_track, offset = [], 0
    for values in data.features:
        n = clipping.n_clips(values.shape[1], frames, hop)
        per_track.append(probabilities[offset:offset + n])
        offset += n
    return per_track


def evaluate(per_track: list[np.ndarray], labels: np.ndarray, rule: str, n_classes: int) -> dict[str, Any]:
    """Clip and track metrics from clip probabilities.

    Returns
    -------
    dict
        ``track_accuracy``, ``clip_accuracy``, ``loss`` (mean clip cross-entropy),
        ``confusion`` (``[true][predicted]`` track counts), ``recall`` (per class), ``n_tracks``, ``n_clips``.
    """
    if not per_track:
        return {}
    tracks = classification(labels, aggregation.decide_tracks(per_track, rule), n_classes)
    clip_labels = np.concatenate([np.full(p.shape[0], y) for p, y in zip(per_track, labels)])
    stacked = np.concatenate(per_track)
    return {
        "track_accuracy": tracks["accuracy"],
        "clip_accuracy": float((stacked.argmax(axis=1) == clip_labels).mean()),
        "loss": float(-np.log(np.maximum(stacked[np.arange(len(clip_labels)), clip_labels], 1e-12)).mean()),
        "confusion": tracks["confusion"].tolist(),
        "recall": tracks["recall"],
        "n_tracks": int(len(labels)),
        "n_clips": int(len(clip_labels)),
    }


def _padded(data: TrackData, frames: int) -> TrackData:
    """A copy of ``data`` with float32 features, tracks shorter than one clip padded (``data`` is not changed)."""
    def pad(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float32)
        return clipping.clip_frames(values, frames, frames, "pad")[0] if values.shape[1] < frames else values

    return dataclasses.replace(data, features=[pad(v) for v in data.features])


def _standardizer(train: TrackData) -> Standardize:
    """Per-band mean and standard deviation of all training frames, from running sums (no copy of
    the training set: for GTZAN-sized log-mel data a concatenation would take another gigabyte)."""
    count = sum(values.shape[1] for values in train.features)
    total = sum(values.sum(axis=1, dtype=np.float64) for values in train.features)
    squares = sum(np.square(values, dtype=np.float64).sum(axis=1) for values in train.features)
    mean = total / count
    variance = np.maximum(squares / count - mean ** 2, 0.0)
    overall = np.sqrt(max(float(squares.sum() / (count * len(mean)) - (total.sum() / (count * len(mean))) ** 2), 0.0))
    std = np.maximum(np.sqrt(variance), 1e-3 * max(overall, 1e-6))
    return Standardize(torch.from_numpy(mean.astype(np.float32)), torch.from_numpy(std.astype(np.float32)))


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place in a data-parallel run: ``rank`` of ``world`` (0 of 1 when training alone).

    Collectives go through ``torch.distributed`` on ``device`` (gloo on the CPU, nccl on a GPU); with
    one process every method returns its input.
    """

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @classmethod
    def current(cls, device: torch.device) -> "ProcessGroup":
        """The ``torch.distributed`` group this process is in, if one is initialised."""
        from torch import distributed

        if distributed.is_available() and distributed.is_initialized():
            return cls(distributed.get_rank(), distributed.get_world_size(), device)
        return cls(device=device)

    @property
    def first(self) -> bool:
        """True on rank 0: the rank that validates, scores and writes the run directory."""
        return self.rank == 0

    def shard(self, items: list) -> list:
        """This rank's share of ``items``: ``items[rank::world]``, the list first repeated cyclically to a
        multiple of ``world`` items so every rank gets as many (and runs as many steps)."""
        if self.world == 1:
            return items
        size = -(-len(items) // self.world) * self.world
        return [items[i % len(items)] for i in range(size)][self.rank::self.world]

    def total(self, values: list[float]) -> list[float]:
        """Each of ``values`` summed over the ranks."""
        if self.world == 1:
            return values
        from torch import distributed

        summed = torch.tensor(values, dtype=torch.float64, device=self.device)
        distributed.all_reduce(summed)
        return summed.tolist()

    def from_first(self, compute: Callable[[], Any]) -> Any:
        """``compute()`` run on rank 0 and its (picklable) result given to every rank."""
        if self.world == 1:
            return compute()
        from torch import distributed

        box = [compute() if self.first else None]
        distributed.broadcast_object_list(box, src=0, device=self.device if self.device.type == "cuda" else None)
        return box[0]

    def replicate(self, model: nn.Module) -> nn.Module:
        """``model`` wrapped in ``DistributedDataParallel`` (gradients averaged over the ranks at each
        backward pass); ``model`` itself with one process."""
        return nn.parallel.DistributedDataParallel(model) if self.world > 1 else model


def _log(message: str, enabled: bool) -> None:
    if enabled:
        print(message, file=sys.stderr, flush=True)


class NetworkRun:
    """One network's training in a run directory: the model, its optimiser, and where the run stands.

    Built inside :func:`genrekit.threads.seeded` (the weights are initialised from the seeded
    generators). :func:`fit` calls :meth:`restore` when resuming, :meth:`train` (per epoch:
    :meth:`train_epoch`, :meth:`validate`, :meth:`checkpoint`), :meth:`load_best`, then :meth:`score`.

    Parameters
    ----------
    config : TrainConfig
        Resolved.
    n_classes : int
    train_data, valid_data : TrackData
        Float32 features at least one clip long (``_padded``).
    frames, hop : int
        The clip grid.
    run : RunDir
    device : torch.device
    progress : bool
    group : ProcessGroup, optional
        The data-parallel group (default: this process alone).
    """

    def __init__(self, config: TrainConfig, n_classes: int, train_data: TrackData, valid_data: TrackData,
                 frames: int, hop: int, run: RunDir, device: torch.device, progress: bool = True,
                 group: ProcessGroup | None = None):
        self.config, self.n_classes, self.run, self.progress = config, n_classes, run, progress
        self.group = group or ProcessGroup(device=device)
        self.train_data, self.valid_data, self.frames, self.hop = train_data, valid_data, frames, hop
        self.device = device
        standardize = _standardizer(train_data) if config.normalize == "band" else None
        self.model: Network = build_model(config.model, train_data.features[0].shape[0], frames, n_classes,
                                          standardize, config.normalize, config.model_args).to(device)
        self.replica = self.group.replicate(self.model)  # what step() runs forward: the model, or its DDP wrapper
        self.optimizer = make_optimizer(self.model.parameters(), config.optimizer)
        self.loss_fn = nn.CrossEntropyLoss()
        self.history: list[dict] = []
        self.best = {"epoch": 0, "track_accuracy": -1.0, "loss": float("inf")}
        self.next_epoch = 1
        self.stopped_early = False
        self.grid = _grid(train_data, frames, hop)
        self.precision = resolve_precision(config.precision, device)

    def restore(self, state: dict) -> None:
        """Continue from a ``last`` checkpoint: weights, optimiser, history, RNG states."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.history, self.best = state["history"], state["best"]
        self.next_epoch = state["epoch"] + 1
        self.stopped_early = bool(state.get("stopped"))
        set_rng_state(state["rng"])
        _log(f"resuming {self.run.path} after epoch {state['epoch']}", self.progress)

    def train(self) -> None:
        """Every remaining epoch, until the last or an early stop."""
        for epoch in range(self.next_epoch, self.config.epochs + 1):
            if self.stopped_early:
                break
            started = time.perf_counter()
            row = {"epoch": epoch, **self.train_epoch(epoch), **self.validate()}
            better = self.improved(row)
            row["seconds"] = time.perf_counter() - started
            self.history.append(row)
            self.checkpoint(epoch, better)
            self._report(row, better)

    def epoch_clips(self, epoch: int) -> list[tuple[int, int]]:
        """``(track, start)`` of every clip of epoch ``epoch``, in order: drawn from ``(seed, epoch)``."""
        order = np.random.default_rng([self.config.seed, epoch])
        if self.config.sampling == "fixed":
            return [self.grid[i] for i in order.permutation(len(self.grid))]
        tracks = order.permutation(len(self.train_data))
        return [(int(t), int(order.integers(0, self.train_data.features[t].shape[1] - self.frames + 1)))
                for t in tracks]

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the epoch's clips (this rank's share); ``train_loss`` and ``train_clip_accuracy``
        (of all ranks)."""
        starts = self.group.shard(self.epoch_clips(epoch))
        batch_size = -(-self.config.batch_size // self.group.world)
        self.model.train()
        total_loss, correct, seen = 0.0, 0, 0
        with Progress(-(-len(starts) // batch_size), f"epoch {epoch}/{self.config.epochs}",
                      enabled=self.progress and sys.stderr.isatty()) as bar:
            for x, y in _batches(self.train_data, starts, self.frames, batch_size):
                loss, logits, y = self.step(x, y)
                total_loss += float(loss.detach()) * len(y)
                correct += int((logits.argmax(dim=1) == y).sum())
                seen += len(y)
                bar.advance(info=f"loss {total_loss / seen:.3f} acc {correct / seen:.3f}")
        total_loss, correct, seen = self.group.total([total_loss, correct, seen])
        return {"train_loss": total_loss / seen, "train_clip_accuracy": correct / seen}

    def step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One optimiser step on a batch ``x [batch, bands, frames]``, ``y [batch]``; (loss, logits, y)."""
        x, y = x.to(self.device), y.to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            logits = self.replica(x)
            loss = self.loss_fn(logits.float(), y)
        objective = loss + self.model.regularization().to(self.device)
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        self.optimizer.step()
        return loss, logits, y

    def score(self, data: TrackData) -> list[np.ndarray]:
        """Clip probabilities of every track of ``data`` on the fixed grid (:func:`clip_probabilities`)."""
        return clip_probabilities(self.model, data, self.frames, self.hop, self.device, precision=self.precision)

    def validate(self) -> dict[str, float]:
        """``valid_loss``, ``valid_clip_accuracy``, ``valid_track_accuracy`` (rank 0's, on every rank); empty
        without validation tracks."""
        if not len(self.valid_data):
            return {}
        valid = self.group.from_first(lambda: evaluate(self.score(self.valid_data), self.valid_data.labels,
                                                       self.config.aggregation, self.n_classes))
        return {"valid_loss": valid["loss"], "valid_clip_accuracy": valid["clip_accuracy"],
                "valid_track_accuracy": valid["track_accuracy"]}

    def improved(self, row: dict) -> bool:
        """True when the epoch beats the best so far (track accuracy, then loss); always without validation."""
        if "valid_loss" not in row:
            return True  # no validation set: the last epoch is the model
        return (row["valid_track_accuracy"], -row["valid_loss"]) > (self.best["track_accuracy"], -self.best["loss"])

    def checkpoint(self, epoch: int, better: bool) -> None:
        """Save ``best`` (when ``better``) and ``last``, decide on early stopping, rewrite the curves (the
        files on rank 0 only)."""
        if better:
            self.best = {"epoch": epoch, "track_accuracy": self.history[-1].get("valid_track_accuracy", -1.0),
                         "loss": self.history[-1].get("valid_loss", float("inf"))}
        patience = self.config.patience
        self.stopped_early = bool(patience) and epoch - self.best["epoch"] >= patience
        if not self.group.first:
            return
        if better:
            self.run.save_checkpoint("best", {"model": self.model.state_dict(), "epoch": epoch})
        self.run.save_checkpoint("last", {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                                          "epoch": epoch, "history": self.history, "best": self.best,
                                          "rng": rng_state(), "stopped": self.stopped_early})
        self.run.write_curves(self.history)

    def load_best(self) -> None:
        """Go back to the weights of the best epoch."""
        self.model.load_state_dict(self.run.load_checkpoint("best")["model"])

    def _report(self, row: dict, better: bool) -> None:
        valid_text = (f" | valid loss {row['valid_loss']:.3f} clip {row['valid_clip_accuracy']:.3f} "
                      f"track {row['valid_track_accuracy']:.3f}" if "valid_loss" in row else "")
        _log(f"epoch {row['epoch']}/{self.config.epochs} train loss {row['train_loss']:.3f} acc "
             f"{row['train_clip_accuracy']:.3f}{valid_text} | {row['seconds']:.1f} s"
             + (" *" if better else "") + (" (early stop)" if self.stopped_early else ""), self.progress)


def _resolved_config(config: TrainConfig, frames: int, hop: int, genres: list[str]) -> dict:
    """What ``config.yaml`` records: the resolved configuration, the clip grid and the genres."""
    return plain({**dataclasses.asdict(config), "clip_frames": frames, "clip_hop": hop, "genres": list(genres)})


def _resume_state(run: RunDir, resolved: dict, resume: bool) -> dict | None:
    """The ``last`` checkpoint to continue from, or None for a new run.

    Raises
    ------
    ConfigError
        The directory holds a run and ``resume`` is off, or the run's configuration differs.
    """
    if not run.resumable():
        return None
    if not resume:
        raise ConfigError(f"{run.path} already holds a run; pass resume=True (--resume) to continue it, "
                          "or choose another output folder")
    saved = run.read_config()
    if saved != resolved:
        changed = sorted(k for k in set(saved) | set(resolved) if saved.get(k) != resolved.get(k))
        raise ConfigError(f"cannot resume {run.path}: the configuration changed ({', '.join(changed)})")
    return run.load_checkpoint("last")


def _test(score: Callable[[TrackData], list[np.ndarray]], parts: dict[str, TrackData], rule: str,
          n_classes: int, run: RunDir) -> dict[str, dict]:
    """Metrics of every non-empty part (``valid``, ``test``), its clip probabilities saved in the run."""
    results, predictions = {}, {}
    for part, data in parts.items():
        if not len(data):
            continue
        per_track = score(data)
        results[part] = evaluate(per_track, data.labels, rule, n_classes)
        predictions[part] = (data.ids, data.labels, per_track)
    run.write_predictions(predictions)
    return results


def _metrics(config: TrainConfig, genres: list[str], context: dict | None, results: dict, **fields) -> dict:
    """``metrics.json``: what was trained on what, ``fields``, the parts' metrics and the data's context."""
    context = context or {}
    return {"model": config.model, "paper": models.info(config.model).paper, "dataset": config.dataset,
            "split": context.get("split", config.split), "genres": list(genres), **fields, **results,
            **{k: v for k, v in context.items() if k != "split"}}


def fit(config: TrainConfig, genres: list[str], train_data: TrackData, valid_data: TrackData,
        test_data: TrackData, frames: int, hop: int, out: str | os.PathLike, resume: bool = False,
        progress: bool = True, context: dict | None = None) -> dict[str, Any]:
    """Train and evaluate a network on prepared track data; see :func:`train` for the run directory.

    This is the engine itself, for callers that bring their own arrays (any feature source). The
    arrays are not modified; torch's thread count and the global RNGs are restored on return. In a
    ``torch.distributed`` group every rank calls it with the same arguments (:class:`ProcessGroup`);
    each resumes from the run directory's ``last`` checkpoint, and all return rank 0's metrics.
    """
    config = config.resolved()
    run = RunDir(out)
    device = _device(config.device)
    group = ProcessGroup.current(device)
    train_data, valid_data, test_data = (_padded(d, frames) for d in (train_data, valid_data, test_data))
    if not len(train_data):
        raise ConfigError("the training split has no tracks")
    resolved = _resolved_config(config, frames, hop, genres)
    state = _resume_state(run, resolved, resume)
    if group.first:
        run.write_config(resolved)
    with seeded(config.seed, config.threads):
        network = NetworkRun(config, len(genres), train_data, valid_data, frames, hop, run, device,
                             progress and group.first, group)
        if state is not None:
            network.restore(state)
        network.train()
        return group.from_first(lambda: _finish(network, genres, valid_data, test_data, context))


def _finish(network: NetworkRun, genres: list[str], valid_data: TrackData, test_data: TrackData,
            context: dict | None) -> dict[str, Any]:
    """The best epoch's weights scored on the validation and test tracks; ``metrics.json`` written."""
    config, history = network.config, network.history
    network.load_best()
    results = _test(network.score, {"valid": valid_data, "test": test_data}, config.aggregation, len(genres),
                    network.run)
    metrics = _metrics(config, genres, context, results,
                       n_parameters=int(sum(p.numel() for p in network.model.net.parameters())),
                       epochs_run=len(history), best_epoch=network.best["epoch"],
                       stopped_early=network.stopped_early, train_tracks=len(network.train_data),
                       train_seconds=float(sum(r["seconds"] for r in history)), aggregation=config.aggregation,
                       device=network.device.type, precision=network.precision)
    network.run.write_metrics(metrics)
    return metrics


def fit_classical(config: TrainConfig, genres: list[str], train_data: TrackData, valid_data: TrackData,
                  test_data: TrackData, frames: int, hop: int, out: str | os.PathLike, resume: bool = False,
                  progress: bool = True, context: dict | None = None) -> dict[str, Any]:
    """Fit a classical model (``ModelInfo.kind == "classical"``) and write its run directory (same metrics
    as :func:`fit`; the fitted pipeline in ``model.pkl``)."""
    config = config.resolved()
    run = RunDir(out)
    run.write_config(_resolved_config(config, frames, hop, genres))
    started = time.perf_counter()
    samples = [sample_vectors(v, config.model, config.model_args) for v in train_data.features]
    x = np.concatenate(samples)
    y = np.concatenate([np.full(len(s), label) for s, label in zip(samples, train_data.labels)])
    try:
        fitted = pipeline(config.model, config.seed, config.model_args).fit(x, y)
    except ValueError as exc:  # scikit-learn's word for data it cannot fit (too few tracks of a genre, ...)
        raise ConfigError(f"{config.model}: cannot be fitted on these {len(train_data)} training tracks "
                          f"({exc}); give it more tracks per genre") from None
    seconds = time.perf_counter() - started

    def score(data: TrackData) -> list[np.ndarray]:
        per_track = []
        for values in data.features:
            scores = fitted.predict_proba(sample_vectors(values, config.model, config.model_args))
            probabilities = np.zeros((scores.shape[0], len(genres)))
            probabilities[:, fitted.classes_] = scores  # classes absent from training get 0
            per_track.append(probabilities)
        return per_track

    results = _test(score, {"valid": valid_data, "test": test_data}, config.aggregation, len(genres), run)
    run.save_pipeline(fitted)
    metrics = _metrics(config, genres, context, results, train_tracks=len(train_data), train_seconds=seconds,
                       aggregation=config.aggregation)
    run.write_metrics(metrics)
    _log(f"{config.model}: valid track accuracy {results.get('valid', {}).get('track_accuracy', float('nan')):.3f}, "
         f"test {results.get('test', {}).get('track_accuracy', float('nan')):.3f}", progress)
    return metrics


#: The engine of each kind of model (``ModelInfo.kind``).
ENGINES = {"network": fit, "classical": fit_classical}


def train(config: TrainConfig | dict, out: str | os.PathLike, resume: bool = False,
          progress: bool = True) -> dict[str, Any]:
    """Train a model on a dataset split and write a run directory.

    Parameters
    ----------
    config : TrainConfig or dict
    out : path
        The run directory.
    resume : bool
        Continue the run in ``out`` from its last checkpoint (the configuration must match).
    progress : bool
        Progress bar per epoch on a terminal, one line per epoch otherwise.

    Returns
    -------
    dict
        The contents of ``metrics.json``: ``valid`` and ``test`` metrics (track and clip
        accuracy, loss, confusion matrix, per-genre recall), epochs, best epoch, timing.
    """
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    config = config.resolved()
    run = RunDir(out)
    if resume and run.finished() and not run.resumable():
        return run.read_metrics()  # a finished classical run
    prepared = prepare(config, progress=progress)
    engine = ENGINES[models.info(config.model).kind]
    return engine(config, prepared.genres, prepared.train, prepared.valid, prepared.test, prepared.frames,
                  prepared.hop, out, resume=resume, progress=progress, context=prepared.context)
