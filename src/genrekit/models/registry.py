"""Model registry: name -> builder, with each paper's training defaults beside it.

Every model module registers its models with :func:`register`, giving the builder and
the paper's own settings (feature preset, optimiser, batch size, epochs, how clips are
sampled and aggregated). Those settings live here, next to the model that cites them, and
nowhere else; the training engine and the recipes read them from :func:`info`.

Two kinds of model share the registry (:attr:`ModelInfo.kind`):

- ``"network"``: a PyTorch network trained by the epoch loop; it takes a batch
  ``[batch, bands, frames]`` and returns logits ``[batch, n_classes]``;
- ``"classical"``: a scikit-learn pipeline fitted once on vectors (Wang's baselines, the musicnn
  transfer heads); ``builder(seed=..., **model_args)`` returns it unfitted and ``vectors`` gives the
  samples it reads from one track's features (:mod:`genrekit.models.assembly`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from genrekit.errors import ConfigError

__all__ = ["ModelInfo", "KINDS", "register", "build", "names", "info", "regularization"]

#: The kinds of registered model.
KINDS = ("network", "classical")


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model is and how its paper trained it.

    Attributes
    ----------
    name : str
    builder : callable
        Networks: ``builder(n_bands=..., n_frames=..., n_classes=..., **kwargs) -> nn.Module``.
        Classical models: ``builder(seed=..., **model_args)`` -> an unfitted scikit-learn pipeline.
    paper : str
        Short citation with section, e.g. ``"Yang & Zhang 2019, sec. 3.1"``.
    features : str
        The feature preset the paper used (``genrekit.features.get(features)``).
    n_bands, n_frames : int or None
        The paper's input size (bands x frames of one clip); None for classical models.
    optimizer : dict
        ``{"name": "adadelta" | "adam" | "sgd", "lr": ..., ...}``.
    batch_size, epochs : int
    sampling : {"fixed", "random_crop"}
        Fixed clips with the preset's hop, or a fresh random crop per track and epoch (Dong).
    aggregation : {"sum", "mean", "vote"}
        Clip probabilities -> track decision.
    patience : int or None
        Early-stopping patience in epochs (None: train all epochs, keep the best).
    notes : str
        Choices made where the paper is silent.
    coarse_features : str
        The preset to read on the ``coarse-mel`` data set when ``features`` cannot be made from it.
    kind : {"network", "classical"}
        How the model is trained: the epoch loop, or one scikit-learn fit.
    vectors : callable, optional
        Classical models: ``vectors(values, **model_args) -> [n_samples, n_features]``, the samples the
        pipeline reads from one track's features ``[rows, columns]``.
    """

    name: str
    builder: Callable[..., nn.Module]
    paper: str
    features: str
    n_bands: int | None = None
    n_frames: int | None = None
    optimizer: dict = field(default_factory=lambda: {"name": "adam", "lr": 1e-3})
    batch_size: int = 32
    epochs: int = 30
    sampling: str = "fixed"
    aggregation: str = "sum"
    patience: int | None = None
    notes: str = ""
    #: The preset to read on the ``coarse-mel`` data set when ``features`` cannot be made from it
    #: (default: ``coarse_mel`` itself).
    coarse_features: str = "coarse_mel"
    kind: str = "network"
    vectors: Callable[..., np.ndarray] | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError(f"model {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")

    def training_defaults(self) -> dict[str, Any]:
        """The paper's training settings as plain data."""
        return {"features": self.features, "optimizer": dict(self.optimizer), "batch_size": self.batch_size,
                "epochs": self.epochs, "sampling": self.sampling, "aggregation": self.aggregation,
                "patience": self.patience}


_REGISTRY: dict[str, ModelInfo] = {}


def register(info: ModelInfo) -> ModelInfo:
    """Add a model; a name may be registered once."""
    if info.name in _REGISTRY:
        raise ConfigError(f"model {info.name!r} is registered twice")
    _REGISTRY[info.name] = info
    return info


def names(kind: str | None = None) -> list[str]:
    """Registered model names, sorted; only those of one ``kind`` (``"network"``, ``"classical"``) if given."""
    return sorted(name for name, model in _REGISTRY.items() if kind is None or model.kind == kind)


def info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model; ``ConfigError`` listing the names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; registered: {', '.join(names())}") from None


def build(name: str, **kwargs) -> nn.Module:
    """Build a registered network for the paper's input (``n_bands``, ``n_frames``) unless overridden.

    Returns
    -------
    torch.nn.Module
        Takes ``[batch, bands, frames]``, returns logits ``[batch, n_classes]`` (10 by default).
    """
    model_info = info(name)
    if model_info.kind != "network":
        raise ConfigError(f"{name} is a {model_info.kind} model, not a network")
    kwargs.setdefault("n_bands", model_info.n_bands)
    kwargs.setdefault("n_frames", model_info.n_frames)
    kwargs.setdefault("n_classes", 10)
    return model_info.builder(**kwargs)


def regularization(model: nn.Module) -> torch.Tensor:
    """The model's weight penalty to add to the loss (0 when it has none).

    Models with the papers' Keras-style L2 penalties define ``model.regularization()``,
    returning ``sum(coef * sum(w ** 2))`` over the penalised kernels.
    """
    method = getattr(model, "regularization", None)
    if method is None:
        return torch.zeros(())
    return method()
