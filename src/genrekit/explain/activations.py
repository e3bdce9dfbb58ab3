"""Recording what a trained network computes: the outputs of its named layers.

The layers are those of :func:`genrekit.explain.receptive.network_graph` (``conv1``...,
``block1``..., the derived ``sum`` / ``add`` of Yang net2 and Zhang nnet2), plus two views:

- ``input``: what the network's first layer sees (the features after the run's per-band
  standardisation);
- ``hidden``: the input of the output layer, i.e. the last hidden layer's activations (Dong
  2018, Fig. 5: dense 32 after its ReLU; for networks without a hidden dense layer, the
  pooled features).

The model is put in eval mode (dropout off), so a summed layer is the sum of its recorded terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from genrekit.errors import ConfigError
from genrekit.explain.receptive import network_graph

__all__ = ["HIDDEN", "INPUT", "layer_names", "record"]

INPUT, HIDDEN = "input", "hidden"


def _network(model: nn.Module) -> nn.Module:
    """The network inside a trained run's model (standardisation + network), or the model itself."""
    return getattr(model, "net", model)


def layer_names(model: nn.Module) -> list[str]:
    """Names :func:`record` accepts, in forward order: ``input``, the convolutional layers, ``hidden``."""
    return [INPUT] + [node.name for node in network_graph(model)] + [HIDDEN]


def _output_layer(net: nn.Module) -> nn.Linear:
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError(f"{type(net).__name__} has no dense output layer, so no 'hidden' activations")
    return linears[-1]


def record(model: nn.Module, x: np.ndarray, layers: Sequence[str], batch_size: int = 128) -> dict[str, np.ndarray]:
    """Run clips through a model and keep the outputs of some layers.

    Parameters
    ----------
    model : nn.Module
        A trained run's model (:func:`genrekit.runs.load_run`) or a bare network.
    x : np.ndarray [shape=(n_clips, bands, frames)]
        Clips as the run's features give them (standardisation is the model's job).
    layers : sequence of str
        Names from :func:`layer_names`.
    batch_size : int
        Clips per forward pass (bounds memory).

    Returns
    -------
    dict of str to np.ndarray, float32
        By layer name: ``[n_clips, channels, frames]`` for 1-D convolutions,
        ``[n_clips, channels, bands, frames]`` for 2-D ones, ``[n_clips, bands, frames]`` for
        ``input``, ``[n_clips, units]`` for ``hidden``.

    Raises
    ------
    ConfigError
        For a layer name the model does not have (the message lists the names it has).
    """
    known = layer_names(model)
    unknown = [name for name in layers if name not in known]
    if unknown:
        raise ConfigError(f"unknown layer(s) {unknown} of {type(_network(model)).__name__}; "
                          f"choose from {', '.join(known)}")
    if np.ndim(x) != 3 or len(x) == 0:
        raise ConfigError(f"record needs clips [n_clips, bands, frames] with n_clips >= 1, got shape {np.shape(x)}")
    net = _network(model)
    graph = {node.name: node for node in network_graph(model)}
    # Sums are computed from their terms: hook the terms instead.
    hooked = {name for name in layers if name not in (INPUT, HIDDEN) and graph[name].steps}
    for name in layers:
        if name in graph and not graph[name].steps:
            hooked.update(graph[name].inputs)
    outputs: dict[str, list[torch.Tensor]] = {name: [] for name in hooked | {INPUT, HIDDEN}}
    handles = [net.get_submodule(name).register_forward_hook(
        lambda _m, _i, out, name=name: outputs[name].append(out.detach().float())) for name in hooked]
    handles.append(net.register_forward_pre_hook(lambda _m, args: outputs[INPUT].append(args[0].detach().float())))
    if HIDDEN in layers:
        handles.append(_output_layer(net).register_forward_pre_hook(
            lambda _m, args: outputs[HIDDEN].append(args[0].detach().float())))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):  # a copy per batch: clips may be read-only views
                model(torch.from_numpy(np.array(x[start:start + batch_size], dtype=np.float32)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    arrays = {name: torch.cat(values).numpy() for name, values in outputs.items() if values}
    for name in layers:
        if name in graph and not graph[name].steps:
            arrays[name] = sum(arrays[term] for term in graph[name].inputs)
    return {name: arrays[name] for name in layers}
