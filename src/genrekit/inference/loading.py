"""Loading classifiers: bundled models, run directories, model files and ONNX files.

Sources :func:`load_model` accepts: nothing (the bundled model, see ``docs/models.md``), a bundled
model's name, a run directory written by ``genrekit train``, a model file (``.pt``,
:mod:`genrekit.inference.model_file`) or an ONNX file written by ``genrekit export --onnx``
(:mod:`genrekit.inference.onnx`). Each carries the clip-to-track rule its model was evaluated with
(a run: its ``aggregation``; a model or ONNX file: its ``rule``), which the classifier applies unless
``rule=`` overrides it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path

import torch

from genrekit import aggregation, features
from genrekit.errors import ConfigError, GenrekitError
from genrekit.inference.classifier import Classifier
from genrekit.inference.model_file import read_model, write_model
from genrekit.inference.onnx import OnnxScorer, load_onnx
from genrekit.inference.scorers import ClassicalScorer, TorchScorer
from genrekit.models.assembly import model_from_state, sample_vectors
from genrekit.runs import RunDir, load_run, run_spec

__all__ = ["load_model", "save_model", "bundled_model_path", "BUNDLED", "BUNDLED_MODELS", "REPLACED"]

#: The bundled models by name; ``load_model()`` loads :data:`BUNDLED`, ``load_model("NAME")`` any of them.
BUNDLED_MODELS = {"genrekit-musicnn-v3": "genrekit-musicnn-v3.pt", "genrekit-coarse-mel-v2": "genrekit-coarse-mel-v2.pt"}
#: The bundled model, shipped inside the package.
BUNDLED = "genrekit-musicnn-v3.pt"
#: Bundled models no longer shipped -> what replaced them (their front end depended on the silence around the
#: music and on the file's sample rate: docs/models.md).
REPLACED = {"genrekit-musicnn-v2": "genrekit-musicnn-v3", "genrekit-coarse-mel-v1": "genrekit-coarse-mel-v2"}


def bundled_model_path(name: str | None = None) -> Path:
    """Where a bundled model (default :data:`BUNDLED`; or a key of :data:`BUNDLED_MODELS`) lives in the package."""
    return Path(__file__).parents[1] / "pretrained" / (BUNDLED_MODELS[name] if name else BUNDLED)


def _file_id(path: Path, name: str | None = None) -> str:
    """``NAME@SHA`` : the first 12 hex digits of the weights file's SHA-256."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{name or path.stem}@{digest}"


def save_model(run_dir: str | os.PathLike, path: str | os.PathLike, card: dict | None = None) -> Path:
    """Pack a finished network run (config + best weights + feature spec + its clip-to-track rule) into
    one model file (:mod:`genrekit.inference.model_file`).

    The file holds only tensors and plain data (loadable with ``weights_only=True``).
    """
    model, config, spec = _network_run(Path(run_dir))
    return write_model(path, config, model.state_dict(), spec, card or {}, rule=_run_rule(config))


def load_model(source: str | os.PathLike | None = None, backend: str = "torch", clip_hop: int | None = None,
               workers: int | None = None, batch_size: int = 256, exact: bool = False,
               rule: str | None = None) -> Classifier:
    """Load a classifier.

    Parameters
    ----------
    source : path or str, optional
        ``None``: the bundled model (:data:`BUNDLED`); a bundled model's name
        (``"genrekit-coarse-mel-v2"``, :data:`BUNDLED_MODELS`). A run directory of ``genrekit train``, a model file
        (``.pt``, :func:`save_model`) or an ONNX file (``.onnx``, ``genrekit export --onnx``).
    backend : {"torch", "onnx"}
        Run a network with PyTorch or ONNX Runtime (an ``.onnx`` source always uses ONNX Runtime).
    clip_hop : int, optional
        Hop between scored clips; default: the model's training hop.
    workers : int, optional
        Decoding processes for :meth:`Classifier.predict`.
    batch_size : int
        Clips per network call.
    exact : bool
        Score with the network exactly as trained. By default a network that has a faster equivalent
        for scoring uses it: a transfer model on frozen musicnn weights (the bundled model v2) runs the
        pruned musicnn (:meth:`genrekit.models.transfer.TransferNetwork.for_inference`; the same
        decisions on all 639 dev tracks, probabilities within 1e-4), ~7x less work.
    rule : str, optional
        The clip-to-track rule (:data:`genrekit.aggregation.RULES`); default: the model's own (its
        run's ``aggregation``, or the ``rule`` stored in a model or ONNX file).

    Raises
    ------
    GenrekitError
        The source does not exist or is not a model.
    """
    if rule is not None:
        aggregation.check_rule(rule)
    path = _source_path(source)
    if path.suffix == ".onnx":
        return load_onnx(path, clip_hop=clip_hop, workers=workers, batch_size=batch_size, rule=rule)
    if path.is_dir() and RunDir(path).has_pipeline():
        return _classical_classifier(path, workers, rule)
    if backend not in ("torch", "onnx"):
        raise ConfigError(f"backend must be 'torch' or 'onnx', got {backend!r}")
    if path.is_dir():
        model, config, spec = _network_run(path)
        weights = RunDir(path).weights_path()
        model_id = _file_id(weights, path.resolve().name) if weights.exists() else f"{path.name}@?"
        card, stored_rule = {}, _run_rule(config)
    else:
        payload = read_model(path)
        config, card, stored_rule = payload["config"], payload["card"], payload["rule"]
        model = model_from_state(config, payload["state"])
        spec = features.from_dict(payload["spec"])
        model_id = _file_id(path)
    if not exact:
        model = model.for_inference()
    hop = clip_hop or config["clip_hop"]
    network_scorer = TorchScorer if backend == "torch" else OnnxScorer.from_network
    scorer = network_scorer(model, config["clip_frames"], hop, batch_size)
    return Classifier(scorer, config["genres"], spec, model_id, {"config": config, "card": card, "source": str(path)},
                      workers=workers, rule=rule or stored_rule)


def _source_path(source: str | os.PathLike | None) -> Path:
    """The file or folder a source names (a bundled model's name: its file in the package), which exists."""
    if source is not None and str(source) in REPLACED:
        raise GenrekitError(f"the bundled model {source} was replaced by {REPLACED[str(source)]}: its front end gave "
                            "the same song another genre after resampling or with silence before it (docs/models.md); "
                            f"use {REPLACED[str(source)]}")
    if source is not None and str(source) in BUNDLED_MODELS:
        source = bundled_model_path(str(source))
    path = bundled_model_path() if source is None else Path(source)
    if not path.exists():
        if source is None:
            raise GenrekitError(f"the bundled model is missing from this installation ({path}); "
                                "reinstall genrekit, or pass a run directory or model file")
        raise GenrekitError(f"{path}: no such model file or run directory")
    return path


def _run_rule(config: dict) -> str:
    """The clip-to-track rule a run was evaluated with (its resolved ``aggregation``)."""
    return config.get("aggregation") or "mean"


def _classical_classifier(path: Path, workers: int | None, rule: str | None) -> Classifier:
    """A classical (scikit-learn) run: its fitted pipeline on the vectors it was trained on."""
    config, spec, vectors = _classical_run(path)
    run = RunDir(path)
    scorer = ClassicalScorer(run.load_pipeline(), len(config["genres"]), vectors)
    return Classifier(scorer, config["genres"], spec, _file_id(run.weights_path(), path.resolve().name),
                      {"config": config, "source": str(path)}, workers=workers, rule=rule or _run_rule(config))


# Run directories and network assembly -----------------------------------------------------------------
def _network_run(path: Path) -> tuple[torch.nn.Module, dict, features.FeatureSpec]:
    """A network run's best model (eval mode, CPU), its resolved configuration and feature spec."""
    model, config = load_run(RunDir(path))
    return model, config, run_spec(config)


def _classical_run(path: Path):
    """A classical run's resolved configuration, feature spec, and what its pipeline reads from features."""
    config = RunDir(path).read_config()
    vectors = functools.partial(sample_vectors, model=config["model"], model_args=config.get("model_args"))
    return config, run_spec(config), vectors


if __name__ == "__main__":  # pragma: no cover
    print(load_model(sys.argv[1] if len(sys.argv) > 1 else None))
