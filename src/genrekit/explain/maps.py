"""Feature maps: what each convolutional layer outputs for one clip (Yang & Zhang 2019, Fig. 6).

Yang & Zhang show the outputs of net1's and net2's convolutional layers for the same clip,
"from top to bottom", net1 left and net2 right, to argue that net1's duplicated layers (conv3
and conv4, each with its own pooling) extract distinct features while net2's sum of conv1,
conv2 and conv3 looks much like conv1 alone. :func:`feature_maps` records those outputs for
any network; :func:`plot_feature_maps` draws one column per network, the input on top.

A 1-D layer's output is an image of kernels x frames; a 2-D layer's (Dong, Wang) is a stack
of band x frame maps, of which the first 16 channels are tiled.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from torch import nn

from genrekit.errors import ConfigError
from genrekit.explain.activations import HIDDEN, INPUT, layer_names, record
from genrekit.plotting import new_figure, save_png

__all__ = ["feature_maps", "plot_feature_maps", "tile"]


def feature_maps(model: nn.Module, clip: np.ndarray) -> dict[str, np.ndarray]:
    """Outputs of every convolutional layer for one clip.

    Parameters
    ----------
    model : nn.Module
        A trained run's model or a bare network.
    clip : np.ndarray [shape=(bands, frames)]

    Returns
    -------
    dict of str to np.ndarray
        ``input`` (the standardised clip, ``[bands, frames]``) then each layer in forward
        order: ``[channels, frames]`` (1-D) or ``[channels, bands, frames]`` (2-D).
    """
    clip = np.asarray(clip, dtype=np.float32)
    if clip.ndim != 2:
        raise ConfigError(f"a clip is [bands, frames], got shape {clip.shape}")
    names = [name for name in layer_names(model) if name != HIDDEN]
    return {name: values[0] for name, values in record(model, clip[None], names).items()}


def tile(maps: np.ndarray, n: int = 16, columns: int = 4) -> np.ndarray:
    """Tile the first ``n`` of ``[channels, bands, frames]`` maps into one image (NaN gaps).

    Returns
    -------
    np.ndarray [shape=(rows * (bands + 1) - 1, columns * (frames + 1) - 1)]
    """
    maps = np.asarray(maps, dtype=np.float32)[:n]
    count, height, width = maps.shape
    columns = min(columns, count)
    rows = -(-count // columns)
    image = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan, dtype=np.float32)
    for i, values in enumerate(maps):
        r, c = divmod(i, columns)
        # Row 0 of the tiling is drawn at the top (origin lower puts the last row there).
        top = (rows - 1 - r) * (height + 1)
        image[top:top + height, c * (width + 1):c * (width + 1) + width] = values
    return image


def _image(values: np.ndarray) -> tuple[np.ndarray, str]:
    if values.ndim == 2:
        return values, "channel"
    shown = min(16, values.shape[0])
    return tile(values), f"{shown} of {values.shape[0]} channels (bands)"


def plot_feature_maps(columns: Mapping[str, Mapping[str, np.ndarray]], path: str | os.PathLike, *,
                      title: str = "", hop_seconds: float | None = None) -> Path:
    """Draw feature maps, one column per network, layers top to bottom, as a PNG.

    Parameters
    ----------
    columns : mapping of str to mapping of str to np.ndarray
        Network label -> :func:`feature_maps` output.
    path : path-like
    title : str
    hop_seconds : float, optional
        Seconds per input frame, to label the time axis of the input row.

    Returns
    -------
    pathlib.Path
    """
    if not columns:
        raise ConfigError("no feature maps to draw")
    rows = max(len(maps) for maps in columns.values())
    figure = new_figure(6.0 * len(columns), 2.0 * rows + 0.6)
    for c, (label, maps) in enumerate(columns.items()):
        for r, (name, values) in enumerate(maps.items()):
            axes = figure.add_subplot(rows, len(columns), r * len(columns) + c + 1)
            image, what = (values, "band") if name == INPUT else _image(values)
            finite = image[np.isfinite(image)]
            low, high = (np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0))
            axes.imshow(image, origin="lower", aspect="auto", cmap="magma" if name != INPUT else "gray",
                        vmin=low, vmax=max(high, low + 1e-6), interpolation="nearest")
            shape = "x".join(str(s) for s in values.shape)
            axes.set_title(f"{label}: {name} [{shape}]" if r == 0 else f"{name} [{shape}]", fontsize=9, loc="left")
            axes.set_ylabel(what, fontsize=8)
            axes.tick_params(labelsize=7)
            if name == INPUT and hop_seconds:
                axes.set_xlabel(f"frame ({hop_seconds * 1000:.1f} ms each)", fontsize=8)
    figure.suptitle(title or "outputs of the convolutional layers (colour: 1st-99th percentile of each map)")
    figure.tight_layout()
    return save_png(figure, path)
