"""Model assembly: a registered model made ready to train or to score.

Networks: :func:`build_model` puts the per-band standardisation (:class:`Standardize`, statistics of
the training set, kept with the weights) in front of the registered network, in a :class:`Network`;
:func:`model_from_state` rebuilds one from a run's resolved configuration and its ``state_dict``.

Classical models (``ModelInfo.kind == "classical"``): :func:`pipeline` is the unfitted scikit-learn
pipeline, :func:`sample_vectors` the vectors it reads from one track's features.

Nothing here trains; the training engine (:mod:`genrekit.training`) and the loaders
(:func:`genrekit.runs.load_run`, :mod:`genrekit.inference`) both build through this module.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genrekit.errors import ConfigError
from genrekit.models import registry

__all__ = ["Standardize", "Network", "build_model", "model_from_state", "pipeline", "sample_vectors"]


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


class Network(nn.Module):
    """Standardisation (optional) + a registered network; ``regularization`` is the network's.

    Input ``[batch, bands, frames]``, output logits ``[batch, n_classes]``.
    """

    def __init__(self, standardize: Standardize, net: nn.Module, normalize: bool):
        super().__init__()
        self.standardize = standardize
        self.net = net
        self.normalize = normalize

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.standardize(x) if self.normalize else x)

    def regularization(self) -> torch.Tensor:
        return registry.regularization(self.net)

    def for_inference(self) -> "Network":
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


def build_model(model: str, n_bands: int, n_frames: int, n_classes: int, standardize: Standardize | None = None,
                normalize: str = "band", model_args: dict | None = None) -> Network:
    """The registered network ``model``, preceded by the standardisation when ``normalize == "band"``.

    Parameters
    ----------
    model : str
        A registered network (``ModelInfo.kind == "network"``).
    n_bands, n_frames, n_classes : int
        The input ``[batch, n_bands, n_frames]`` and the number of genres.
    standardize : Standardize, optional
        Training-set statistics; default identity (zero mean, unit deviation: loaded weights replace it).
    normalize : {"band", "none"}
    model_args : dict, optional
        Extra constructor arguments of the network.
    """
    net = registry.build(model, n_bands=n_bands, n_frames=n_frames, n_classes=n_classes, **(model_args or {}))
    if standardize is None:
        standardize = Standardize(torch.zeros(n_bands), torch.ones(n_bands))
    return Network(standardize, net, normalize=normalize == "band")


def model_from_state(config: dict, state: dict[str, torch.Tensor]) -> Network:
    """Rebuild a network from a run's resolved configuration and its ``state_dict``.

    Parameters
    ----------
    config : dict
        ``model``, ``model_args``, ``normalize``, ``clip_frames`` and ``genres`` of a run's ``config.yaml``.
    state : dict
        A :class:`Network` ``state_dict``.

    Returns
    -------
    Network
        In eval mode, on the CPU; input ``[batch, bands, config["clip_frames"]]``.
    """
    n_bands = state["standardize.mean"].shape[1]
    model = build_model(config["model"], n_bands, config["clip_frames"], len(config["genres"]),
                        normalize=config.get("normalize", "band"), model_args=config.get("model_args"))
    model.load_state_dict(state)
    model.eval()
    return model


def _classical(name: str) -> registry.ModelInfo:
    info = registry.info(name)
    if info.kind != "classical":
        raise ConfigError(f"{name} is a {info.kind} model, not a classical one")
    return info


def pipeline(name: str, seed: int = 0, model_args: dict | None = None):
    """The unfitted scikit-learn pipeline of classical model ``name``."""
    return _classical(name).builder(seed=seed, **(model_args or {}))


def sample_vectors(values: np.ndarray, model: str, model_args: dict | None = None) -> np.ndarray:
    """The samples ``[n, features]`` classical model ``model`` reads from one track's (or window's) features
    ``[rows, columns]`` (its registered ``vectors``)."""
    return _classical(model).vectors(values, **(model_args or {}))
