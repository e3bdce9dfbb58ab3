"""Run directories: the one place that knows the files of a training run.

A run directory (written by :mod:`genrekit.training`, read by inference, the protocols, the report,
the demo and the explanations) holds::

    RUN_DIR/config.yaml          the resolved configuration (reproduces the run)
    RUN_DIR/curves.csv           one row per epoch: losses, clip and track accuracies, seconds (networks)
    RUN_DIR/metrics.json         final metrics on the validation and test tracks; present once finished
    RUN_DIR/predictions.npz      clip probabilities of every validation / test track
    RUN_DIR/checkpoints/last.pt  everything needed to resume (networks)
    RUN_DIR/checkpoints/best.pt  the weights with the best validation track accuracy (networks)
    RUN_DIR/model.pkl            the fitted scikit-learn pipeline (classical models)

:class:`RunDir` reads and writes each of them; nothing else spells their names.
:func:`load_run` rebuilds a trained network from a run directory (without the training engine).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml

from genrekit import features
from genrekit.errors import GenrekitError
from genrekit.files import atomic_write, atomic_write_text

__all__ = ["RunDir", "CURVE_FIELDS", "feature_spec", "load_run", "plain", "run_spec"]

#: The columns of ``curves.csv``.
CURVE_FIELDS = ["epoch", "train_loss", "train_clip_accuracy", "valid_loss", "valid_clip_accuracy",
                "valid_track_accuracy", "seconds"]


class RunDir:
    """The files of one run directory.

    Parameters
    ----------
    path : path-like
        The run directory (need not exist yet).
    """

    CONFIG = "config.yaml"
    METRICS = "metrics.json"
    PREDICTIONS = "predictions.npz"
    CURVES = "curves.csv"
    CHECKPOINTS = "checkpoints"
    PIPELINE = "model.pkl"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # Paths ------------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / self.CONFIG

    @property
    def metrics_path(self) -> Path:
        return self.path / self.METRICS

    @property
    def predictions_path(self) -> Path:
        return self.path / self.PREDICTIONS

    @property
    def curves_path(self) -> Path:
        return self.path / self.CURVES

    @property
    def pipeline_path(self) -> Path:
        return self.path / self.PIPELINE

    def checkpoint_path(self, which: str = "best") -> Path:
        """``checkpoints/<which>.pt``: ``best`` or ``last``."""
        return self.path / self.CHECKPOINTS / f"{which}.pt"

    # State ------------------------------------------------------------------------------------
    def finished(self) -> bool:
        """True once the run wrote its final metrics."""
        return self.metrics_path.exists()

    def resumable(self) -> bool:
        """True when a network run has a checkpoint to continue from."""
        return self.checkpoint_path("last").exists()

    def has_pipeline(self) -> bool:
        """True for a run of a classical model (a fitted pipeline instead of checkpoints)."""
        return self.pipeline_path.exists()

    def weights_path(self) -> Path:
        """The file that holds what was learned: the pipeline of a classical run, else the best checkpoint."""
        return self.pipeline_path if self.has_pipeline() else self.checkpoint_path("best")

    def _missing(self, path: Path) -> GenrekitError:
        return GenrekitError(f"{self.path} is not a finished run directory ({path} is missing)")

    # config.yaml --------------------------------------------------------------------------------
    def read_config(self) -> dict:
        """The resolved configuration the run was trained with."""
        try:
            return yaml.safe_load(self.config_path.read_text())
        except FileNotFoundError:
            raise self._missing(self.config_path) from None

    def write_config(self, config: dict) -> None:
        """Write ``config.yaml`` (plain data: tuples become lists, as they read back)."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_path, yaml.safe_dump(plain(config), sort_keys=False))

    # metrics.json -------------------------------------------------------------------------------
    def read_metrics(self) -> dict:
        try:
            return json.loads(self.metrics_path.read_text())
        except FileNotFoundError:
            raise self._missing(self.metrics_path) from None

    def write_metrics(self, metrics: dict) -> None:
        atomic_write_text(self.metrics_path, json.dumps(metrics, indent=2))

    # predictions.npz ----------------------------------------------------------------------------
    def write_predictions(self, parts: dict[str, tuple[Sequence[str], np.ndarray, list[np.ndarray]]]) -> None:
        """Clip probabilities per part.

        Parameters
        ----------
        parts : dict
            ``part -> (track ids, labels [n_tracks], per-track probabilities [n_clips, n_classes])``.
        """
        arrays: dict[str, np.ndarray] = {}
        for part, (ids, labels, per_track) in parts.items():
            arrays[f"{part}_ids"] = np.array(ids)
            arrays[f"{part}_labels"] = labels
            arrays[f"{part}_offsets"] = np.cumsum([0] + [p.shape[0] for p in per_track])
            arrays[f"{part}_probabilities"] = np.concatenate(per_track).astype(np.float32)
        atomic_write(self.predictions_path, lambda stream: np.savez(stream, **arrays))

    def read_predictions(self, part: str = "test") -> dict[str, Any]:
        """``{"ids": [str], "labels": np.ndarray [n_tracks], "clips": [np.ndarray [n_clips, n_classes]]}``."""
        try:
            saved = np.load(self.predictions_path, allow_pickle=False)
        except FileNotFoundError:
            raise self._missing(self.predictions_path) from None
        with saved:
            offsets = saved[f"{part}_offsets"]
            probabilities = saved[f"{part}_probabilities"]
            return {"ids": [str(i) for i in saved[f"{part}_ids"]], "labels": saved[f"{part}_labels"],
                    "clips": [probabilities[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]}

    # curves.csv ---------------------------------------------------------------------------------
    def write_curves(self, history: list[dict]) -> None:
        """One row per epoch (:data:`CURVE_FIELDS`; other keys are left out)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CURVE_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)
        atomic_write_text(self.curves_path, buffer.getvalue())

    def read_curves(self) -> dict[str, list[float]] | None:
        """The columns of ``curves.csv`` as lists of floats (an empty or bad cell is NaN: a run without a
        validation set leaves the ``valid_*`` cells empty); None if the run has none (a classical
        baseline, a run not trained here)."""
        if not self.curves_path.is_file():
            return None
        with open(self.curves_path, newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            rows = list(reader)
            names = reader.fieldnames or []
        return {name: [_float(row.get(name)) for row in rows] for name in names}

    # checkpoints/ -------------------------------------------------------------------------------
    def save_checkpoint(self, which: str, state: dict) -> None:
        """Write ``checkpoints/<which>.pt`` atomically (a kill never leaves half a checkpoint)."""
        import torch

        path = self.checkpoint_path(which)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda stream: torch.save(state, stream))

    def load_checkpoint(self, which: str = "best") -> dict:
        import torch

        path = self.checkpoint_path(which)
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except FileNotFoundError:
            raise self._missing(path) from None

    # model.pkl ----------------------------------------------------------------------------------
    def save_pipeline(self, pipeline) -> None:
        atomic_write(self.pipeline_path, lambda stream: pickle.dump(pipeline, stream))

    def load_pipeline(self):
        try:
            with open(self.pipeline_path, "rb") as stream:
                return pickle.load(stream)
        except FileNotFoundError:
            raise self._missing(self.pipeline_path) from None

    # What the run was trained on -----------------------------------------------------------------
    def spec(self, config: dict | None = None) -> features.FeatureSpec:
        """The feature spec the run was trained on, with its clip grid."""
        return run_spec(self.read_config() if config is None else config)


def plain(values: Any) -> Any:
    """``values`` as JSON / YAML plain data (tuples -> lists), as a saved configuration reads back."""
    return json.loads(json.dumps(values))


def feature_spec(name: str | dict, clip_frames: int | None = None, clip_hop: int | None = None) -> features.FeatureSpec:
    """A preset with its clip grid optionally overridden (what a run's ``features``, ``clip_frames`` and
    ``clip_hop`` name); ``name`` may also be a mapping, a preset with some fields changed
    (``{"preset": "coarse_mel", "max_hz": 10500}``, :func:`genrekit.features.from_dict`)."""
    spec = features.from_dict(name) if isinstance(name, dict) else features.get(name)
    changes = {k: v for k, v in (("frames", clip_frames), ("hop", clip_hop)) if v is not None}
    return spec.replace(clip=changes) if changes else spec


def run_spec(config: dict) -> features.FeatureSpec:
    """The feature spec of a run's resolved configuration (its ``features``, ``clip_frames``, ``clip_hop``)."""
    return feature_spec(config["features"], config.get("clip_frames"), config.get("clip_hop"))


def load_run(run_dir: str | os.PathLike | RunDir, which: str = "best"):
    """Rebuild a trained network from a run directory.

    Returns
    -------
    model : genrekit.models.assembly.Network
        In eval mode, on the CPU; input ``[batch, bands, frames]`` as in training.
    config : dict
        The resolved configuration (``genres``, ``clip_frames``, ``clip_hop``, ``features``...).
    """
    from genrekit.models.assembly import model_from_state

    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    config = run.read_config()
    return model_from_state(config, run.load_checkpoint(which)["model"]), config


def _float(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")
