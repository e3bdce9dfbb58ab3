"""The training engine: any registered model, the papers' settings, a resumable run directory.

:func:`train` takes a :class:`TrainConfig` (or a dict of its fields), resolves every unset
field from the model's paper (:func:`genrekit.models.info`), and writes a run directory::

    RUN_DIR/config.yaml          the resolved configuration (reproduces the run)
    RUN_DIR/curves.csv           one row per epoch: losses, clip and track accuracies, seconds
    RUN_DIR/metrics.json         final metrics on the validation and test tracks (best weights)
    RUN_DIR/predictions.npz      clip probabilities of every validation / test track
    RUN_DIR/checkpoints/last.pt  everything needed to resume (weights, optimiser, RNG states, history)
    RUN_DIR/checkpoints/best.pt  the weights with the best validation track accuracy

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

import csv
import dataclasses
import io
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from genrekit import aggregation, models
from genrekit.errors import ConfigError, GenrekitError
from genrekit.features import clips as clipping
from genrekit.files import atomic_write, atomic_write_text
from genrekit.progress import Progress

__all__ = ["TrainConfig", "Standardize", "TrackData", "train", "load_run", "evaluate", "clip_probabilities",
           "make_optimizer", "resolve_precision"]


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
    features : str, optional
        Feature preset; default the paper's.
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
    features: str | None = None
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
        """A copy with every paper default filled in."""
        values = dataclasses.asdict(self)
        if is_classical(self.model):
            # Wang's baselines: summary vectors (or vectors derived from the log-mel when the
            # data has no audio), one fit, majority vote over a track's segments. Transfer models:
            # musicnn embeddings averaged over the track, one fit.
            from genrekit.models import transfer

            if transfer.is_transfer(self.model):
                features, rule = transfer.default_features(self.model, self.dataset), "mean"
            else:
                features, rule = ("coarse_mel" if self.dataset == "coarse-mel" else "summary"), "vote"
            values.update(features=values["features"] or features, optimizer={}, batch_size=1, epochs=1,
                          sampling="fixed", aggregation=values["aggregation"] or rule, patience=0)
            return TrainConfig(**values)
        defaults = models.info(self.model).training_defaults()
        if values["features"] is None and values["dataset"] == "coarse-mel":
            values["features"] = models.info(self.model).coarse_features  # coarse_mel, or made from it
        for key in ("features", "optimizer", "batch_size", "epochs", "sampling", "aggregation"):
            if values[key] is None:
                values[key] = defaults[key]
        if values["patience"] is None:
            values["patience"] = defaults["patience"] or 0
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
        return TrainConfig(**values)


class Standardize(nn.Module):
    """Per-band standardisation with statistics of the training set, kept with the model.

    Input and output ``[batch, bands, frames]``.
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.reshape(1, -1, 1).float())
        self.register_buffer("std", std.reshape(1, -1, 1).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


@dataclass
class TrackData:
    """The feature arrays and labels of a set of tracks.

    Attributes
    ----------
    ids : list of str
    features : list of np.ndarray [shape=(bands, n_frames)], float32
        At least one clip long (shorter tracks are padded by the clip policy).
    labels : np.ndarray [shape=(n_tracks,)], int64
    """

    ids: list[str]
    features: list[np.ndarray]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


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
    decisions = aggregation.decide_tracks(per_track, rule)
    clip_labels = np.concatenate([np.full(p.shape[0], y) for p, y in zip(per_track, labels)])
    stacked = np.concatenate(per_track)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, decisions), 1)
    support = confusion.sum(axis=1)
    recall = np.divide(np.diag(confusion), support, out=np.full(n_classes, np.nan), where=support > 0)
    return {
        "track_accuracy": float((decisions == labels).mean()),
        "clip_accuracy": float((stacked.argmax(axis=1) == clip_labels).mean()),
        "loss": float(-np.log(np.maximum(stacked[np.arange(len(clip_labels)), clip_labels], 1e-12)).mean()),
        "confusion": confusion.tolist(),
        "recall": [None if np.isnan(r) else float(r) for r in recall],
        "n_tracks": int(len(labels)),
        "n_clips": int(len(clip_labels)),
    }


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda stream: torch.save(obj, stream))


CURVE_FIELDS = ["epoch", "train_loss", "train_clip_accuracy", "valid_loss", "valid_clip_accuracy",
                "valid_track_accuracy", "seconds"]


def _write_curves(path: Path, history: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CURVE_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(path, buffer.getvalue())


def _pad_short(values: np.ndarray, frames: int) -> np.ndarray:
    return clipping.clip_frames(values, frames, frames, "pad")[0] if values.shape[1] < frames else values


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


def build_model(config: TrainConfig, n_bands: int, n_frames: int, n_classes: int,
                standardize: Standardize | None) -> nn.Module:
    """The registered network, preceded by the standardisation when ``normalize == "band"``."""
    net = models.build(config.model, n_bands=n_bands, n_frames=n_frames, n_classes=n_classes, **config.model_args)
    if standardize is None:
        standardize = Standardize(torch.zeros(n_bands), torch.ones(n_bands))
    return _Classifier(standardize, net, normalize=config.normalize == "band")


class _Classifier(nn.Module):
    """Standardisation (optional) + network; ``regularization`` is the network's."""

    def __init__(self, standardize: Standardize, net: nn.Module, normalize: bool):
        super().__init__()
        self.standardize = standardize
        self.net = net
        self.normalize = normalize

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.standardize(x) if self.normalize else x)

    def regularization(self) -> torch.Tensor:
        return models.regularization(self.net)

    def for_inference(self) -> "_Classifier":
        """For scoring only: the network's own faster equivalent where it has one (its ``for_inference``,
        e.g. :meth:`genrekit.models.transfer.TransferNetwork.for_inference`), in eval mode. The weights as
        trained stay available to save (:meth:`training_state`)."""
        if hasattr(self.net, "for_inference"):
            self._training_state = {k: v.clone() for k, v in self.state_dict().items()}
            self.net = self.net.for_inference()
        return self.eval()

    def training_state(self) -> dict[str, torch.Tensor]:
        """The ``state_dict`` of the network as built and trained (before :meth:`for_inference`), which
        :func:`model_from_state` rebuilds."""
        return getattr(self, "_training_state", None) or self.state_dict()


def _log(message: str, enabled: bool) -> None:
    if enabled:
        print(message, file=sys.stderr, flush=True)


def fit(config: TrainConfig, genres: list[str], train_data: TrackData, valid_data: TrackData,
        test_data: TrackData, frames: int, hop: int, out: Path, resume: bool = False,
        progress: bool = True, context: dict | None = None) -> dict[str, Any]:
    """Train and evaluate on prepared track data; see :func:`train` for the run directory.

    This is the engine itself, for callers that bring their own arrays (any feature source).
    """
    config = config.resolved()
    out = Path(out)
    checkpoints = out / "checkpoints"
    if config.threads:
        torch.set_num_threads(config.threads)
    device = _device(config.device)
    n_classes = len(genres)
    for data in (train_data, valid_data, test_data):
        data.features = [_pad_short(np.asarray(v, dtype=np.float32), frames) for v in data.features]
    if not len(train_data):
        raise ConfigError("the training split has no tracks")
    n_bands = train_data.features[0].shape[0]

    resolved = {**dataclasses.asdict(config), "clip_frames": frames, "clip_hop": hop, "genres": list(genres)}
    config_path = out / "config.yaml"
    state = None
    if (checkpoints / "last.pt").exists():
        if not resume:
            raise ConfigError(f"{out} already holds a run; pass resume=True (--resume) to continue it, "
                              "or choose another output folder")
        saved = yaml.safe_load(config_path.read_text())
        if saved != json.loads(json.dumps(resolved)):
            changed = sorted(k for k in set(saved) | set(resolved) if saved.get(k) != resolved.get(k))
            raise ConfigError(f"cannot resume {out}: the configuration changed ({', '.join(changed)})")
        state = torch.load(checkpoints / "last.pt", map_location="cpu", weights_only=False)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(config_path, yaml.safe_dump(json.loads(json.dumps(resolved)), sort_keys=False))

    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    standardize = _standardizer(train_data) if config.normalize == "band" else None
    model = build_model(config, n_bands, frames, n_classes, standardize).to(device)
    optimizer = make_optimizer(model.parameters(), config.optimizer)
    loss_fn = nn.CrossEntropyLoss()
    history: list[dict] = []
    best = {"epoch": 0, "track_accuracy": -1.0, "loss": float("inf")}
    start_epoch = 1
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, best = state["history"], state["best"]
        start_epoch = state["epoch"] + 1
        _set_rng_state(state["rng"])
        _log(f"resuming {out} after epoch {state['epoch']}", progress)
    stopped_early = bool(state and state.get("stopped"))
    n_parameters = sum(p.numel() for p in model.net.parameters())
    grid = _grid(train_data, frames, hop)
    precision = resolve_precision(config.precision, device)

    for epoch in range(start_epoch, config.epochs + 1):
        if stopped_early:
            break
        started = time.perf_counter()
        order = np.random.default_rng([config.seed, epoch])
        if config.sampling == "fixed":
            starts = [grid[i] for i in order.permutation(len(grid))]
        else:
            tracks = order.permutation(len(train_data))
            starts = [(int(t), int(order.integers(0, train_data.features[t].shape[1] - frames + 1)))
                      for t in tracks]
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        n_batches = -(-len(starts) // config.batch_size)
        with Progress(n_batches, f"epoch {epoch}/{config.epochs}",
                      enabled=progress and sys.stderr.isatty()) as bar:
            for x, y in _batches(train_data, starts, frames, config.batch_size):
                x, y = x.to(device), y.to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    logits = model(x)
                    loss = loss_fn(logits.float(), y)
                objective = loss + model.regularization().to(device)
                optimizer.zero_grad(set_to_none=True)
                objective.backward()
                optimizer.step()
                total_loss += float(loss.detach()) * len(y)
                correct += int((logits.argmax(dim=1) == y).sum())
                seen += len(y)
                bar.advance(info=f"loss {total_loss / seen:.3f} acc {correct / seen:.3f}")
        row = {"epoch": epoch, "train_loss": total_loss / seen, "train_clip_accuracy": correct / seen}
        if len(valid_data):
            valid = evaluate(clip_probabilities(model, valid_data, frames, hop, device, precision=precision),
                             valid_data.labels, config.aggregation, n_classes)
            row.update(valid_loss=valid["loss"], valid_clip_accuracy=valid["clip_accuracy"],
                       valid_track_accuracy=valid["track_accuracy"])
            better = (valid["track_accuracy"], -valid["loss"]) > (best["track_accuracy"], -best["loss"])
        else:
            better = True  # no validation set: the last epoch is the model
        row["seconds"] = time.perf_counter() - started
        history.append(row)
        if better:
            best = {"epoch": epoch, "track_accuracy": row.get("valid_track_accuracy", -1.0),
                    "loss": row.get("valid_loss", float("inf"))}
            _save(checkpoints / "best.pt", {"model": model.state_dict(), "epoch": epoch})
        stopped_early = bool(config.patience) and epoch - best["epoch"] >= config.patience
        _save(checkpoints / "last.pt", {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                        "epoch": epoch, "history": history, "best": best, "rng": _rng_state(),
                                        "stopped": stopped_early})
        _write_curves(out / "curves.csv", history)
        valid_text = (f" | valid loss {row['valid_loss']:.3f} clip {row['valid_clip_accuracy']:.3f} "
                      f"track {row['valid_track_accuracy']:.3f}" if "valid_loss" in row else "")
        _log(f"epoch {epoch}/{config.epochs} train loss {row['train_loss']:.3f} acc "
             f"{row['train_clip_accuracy']:.3f}{valid_text} | {row['seconds']:.1f} s"
             + (" *" if better else "") + (" (early stop)" if stopped_early else ""), progress)

    best_state = torch.load(checkpoints / "best.pt", map_location="cpu", weights_only=False)
    model.load_state_dict(best_state["model"])
    results: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for part, data in (("valid", valid_data), ("test", test_data)):
        if not len(data):
            continue
        per_track = clip_probabilities(model, data, frames, hop, device, precision=precision)
        results[part] = evaluate(per_track, data.labels, config.aggregation, n_classes)
        arrays[f"{part}_ids"] = np.array(data.ids)
        arrays[f"{part}_labels"] = data.labels
        arrays[f"{part}_offsets"] = np.cumsum([0] + [p.shape[0] for p in per_track])
        arrays[f"{part}_probabilities"] = np.concatenate(per_track).astype(np.float32)
    atomic_write(out / "predictions.npz", lambda stream: np.savez(stream, **arrays))
    metrics = {
        "model": config.model,
        "paper": models.info(config.model).paper,
        "dataset": config.dataset,
        "split": (context or {}).get("split", config.split),
        "genres": list(genres),
        "n_parameters": int(n_parameters),
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "stopped_early": stopped_early,
        "train_tracks": len(train_data),
        "train_seconds": float(sum(r["seconds"] for r in history)),
        "aggregation": config.aggregation,
        "device": device.type,
        "precision": precision,
        **results,
        **{k: v for k, v in (context or {}).items() if k != "split"},
    }
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


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
    from genrekit.data import prepare  # the data layer: datasets + features -> track arrays

    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    config = config.resolved()
    out = Path(out)
    if resume and (out / "metrics.json").exists() and not (out / "checkpoints" / "last.pt").exists():
        return json.loads((out / "metrics.json").read_text())  # a finished classical run
    prepared = prepare(config, progress=progress)
    engine = fit_classical if is_classical(config.model) else fit
    return engine(config, prepared.genres, prepared.train, prepared.valid, prepared.test, prepared.frames,
                  prepared.hop, out, resume=resume, progress=progress, context=prepared.context)


def is_classical(name: str) -> bool:
    """True for models fitted once by scikit-learn on vectors: Wang's classical baselines
    (``genrekit.models.classical``) and the musicnn transfer heads (``genrekit.models.transfer``)."""
    from genrekit.models import classical, transfer

    return name in classical.BASELINES or transfer.is_transfer(name)


def sample_vectors(values: np.ndarray, model: str, model_args: dict | None = None) -> np.ndarray:
    """The samples ``[n, features]`` a classical model reads from one track's (or window's) features.

    Transfer models: the chosen musicnn layers (``model_args["layers"]``) averaged over the patches,
    one sample. Baselines: summary columns as they are (one per segment), else a log-mel summary.
    """
    from genrekit.features.summary import feature_names, log_mel_summary
    from genrekit.models import transfer

    if transfer.is_transfer(model):
        return transfer.track_vector(values, (model_args or {}).get("layers", transfer.DEFAULT_LAYERS))[None]
    if values.shape[0] == len(feature_names()):  # a summary spec: one column per segment
        return values.T
    return log_mel_summary(values)[None]


def _classical_pipeline(config: TrainConfig):
    """The unfitted scikit-learn pipeline of a classical or transfer run."""
    from genrekit.models import classical, transfer

    if transfer.is_transfer(config.model):
        return transfer.build_head(config.model, config.seed, config.model_args.get("C"))
    return classical.build(config.model, config.seed)


def fit_classical(config: TrainConfig, genres: list[str], train_data: TrackData, valid_data: TrackData,
                  test_data: TrackData, frames: int, hop: int, out: Path, resume: bool = False,
                  progress: bool = True, context: dict | None = None) -> dict[str, Any]:
    """Fit a classical baseline and write its run directory (same metrics as :func:`fit`)."""
    import pickle

    config = config.resolved()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    resolved = {**dataclasses.asdict(config), "clip_frames": frames, "clip_hop": hop, "genres": list(genres)}
    atomic_write_text(out / "config.yaml", yaml.safe_dump(json.loads(json.dumps(resolved)), sort_keys=False))
    started = time.perf_counter()
    samples = [sample_vectors(v, config.model, config.model_args) for v in train_data.features]
    x = np.concatenate(samples)
    y = np.concatenate([np.full(len(s), label) for s, label in zip(samples, train_data.labels)])
    pipeline = _classical_pipeline(config).fit(x, y)
    seconds = time.perf_counter() - started
    results, arrays = {}, {}
    for part, data in (("valid", valid_data), ("test", test_data)):
        if not len(data):
            continue
        per_track = []
        for values in data.features:
            scores = pipeline.predict_proba(sample_vectors(values, config.model, config.model_args))
            probabilities = np.zeros((scores.shape[0], len(genres)))
            probabilities[:, pipeline.classes_] = scores  # classes absent from training get 0
            per_track.append(probabilities)
        results[part] = evaluate(per_track, data.labels, config.aggregation, len(genres))
        arrays[f"{part}_ids"] = np.array(data.ids)
        arrays[f"{part}_labels"] = data.labels
        arrays[f"{part}_offsets"] = np.cumsum([0] + [p.shape[0] for p in per_track])
        arrays[f"{part}_probabilities"] = np.concatenate(per_track).astype(np.float32)
    atomic_write(out / "model.pkl", lambda stream: pickle.dump(pipeline, stream))
    atomic_write(out / "predictions.npz", lambda stream: np.savez(stream, **arrays))
    from genrekit.models import transfer

    paper = ("musicnn transfer (Pons & Serra 2019 embeddings + scikit-learn head)" if transfer.is_transfer(config.model)
             else "Wang, Table II (classical baseline)")
    metrics = {"model": config.model, "paper": paper, "dataset": config.dataset,
               "split": (context or {}).get("split", config.split), "genres": list(genres),
               "train_tracks": len(train_data), "train_seconds": seconds, "aggregation": config.aggregation,
               **results, **{k: v for k, v in (context or {}).items() if k != "split"}}
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    _log(f"{config.model}: valid track accuracy {results.get('valid', {}).get('track_accuracy', float('nan')):.3f}, "
         f"test {results.get('test', {}).get('track_accuracy', float('nan')):.3f}", progress)
    return metrics


def load_run(run_dir: str | os.PathLike, which: str = "best") -> tuple[nn.Module, dict]:
    """Rebuild a trained model from a run directory.

    Returns
    -------
    model : torch.nn.Module
        In eval mode, on the CPU; input ``[batch, bands, frames]`` as in training.
    config : dict
        The resolved configuration (``genres``, ``clip_frames``, ``clip_hop``, ``features``...).
    """
    config = run_config(run_dir)
    try:
        state = torch.load(Path(run_dir) / "checkpoints" / f"{which}.pt", map_location="cpu", weights_only=False)
    except FileNotFoundError as exc:
        raise GenrekitError(f"{run_dir} is not a finished run directory ({exc.filename} is missing)") from None
    return model_from_state(config, state["model"]), config


def run_spec(config: dict):
    """The feature spec a run was trained on, with its clip grid (``config``: :func:`run_config`)."""
    from genrekit.data import feature_spec

    return feature_spec(config["features"], config.get("clip_frames"), config.get("clip_hop"))


def run_config(run_dir: str | os.PathLike) -> dict:
    """The resolved configuration a run directory was trained with (its ``config.yaml``)."""
    path = Path(run_dir) / "config.yaml"
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise GenrekitError(f"{run_dir} is not a finished run directory ({path} is missing)") from None


def model_from_state(config: dict, state: dict[str, torch.Tensor]) -> nn.Module:
    """Rebuild a network from a run's resolved configuration and its ``state_dict``.

    Returns
    -------
    torch.nn.Module
        In eval mode, on the CPU; input ``[batch, bands, config["clip_frames"]]``.
    """
    train_config = TrainConfig.from_dict({k: v for k, v in config.items()
                                          if k not in ("clip_frames", "clip_hop", "genres")})
    n_bands = state["standardize.mean"].shape[1]
    model = build_model(train_config, n_bands, config["clip_frames"], len(config["genres"]), None)
    model.load_state_dict(state)
    model.eval()
    return model
