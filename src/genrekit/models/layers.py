"""Building blocks shared by the papers' networks.

All networks here take ``[batch, bands, frames]``. The 1-D blocks treat the bands as the
channels of a convolution over time: a ``torch.nn.Conv1d`` with ``n_bands`` input channels and
kernel width ``w`` *is* the papers' ``n_bands x w`` kernel spanning the whole frequency axis
(Keras ``Conv2D`` on a ``[bands, frames, 1]`` image with a ``(n_bands, w)`` kernel): the same
``n_bands * w * K + K`` parameters and the same ``[batch, K, frames - w + 1]`` output, without a
singleton frequency axis to carry around. The 2-D blocks (Dong, Wang) add a channel axis.

The L2 penalties follow Keras' ``kernel_regularizer=l2(c)``: ``loss += c * sum(kernel ** 2)``
on the kernels only (biases are not penalised), summed over the penalised layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from genrekit.errors import ConfigError

__all__ = ["ConvPool2d", "DenseHead", "GenreNet", "TimeConv", "flat_size", "global_max_avg", "keras_l2",
           "same_padding"]


def keras_l2(terms: Iterable[tuple[torch.Tensor, float]], like: torch.Tensor) -> torch.Tensor:
    """Keras-style L2 penalty ``sum(coef * sum(w ** 2))``.

    Parameters
    ----------
    terms : iterable of (torch.Tensor, float)
        Penalised kernels and their coefficients.
    like : torch.Tensor
        Any parameter of the model: the result is put on its device and dtype (a model
        without penalties still returns a 0-dim tensor that can be added to the loss).

    Returns
    -------
    torch.Tensor [shape=()]
    """
    total = torch.zeros((), device=like.device, dtype=like.dtype)
    for weight, coef in terms:
        total = total + coef * weight.pow(2).sum()
    return total


class GenreNet(nn.Module):
    """Base of the papers' networks: input checks and the ``regularization()`` hook.

    Subclasses set ``n_bands`` and ``min_frames`` (or ``fixed_frames``), list their penalised
    kernels in :meth:`l2_terms` and end their constructor with :meth:`keras_init`.

    Attributes
    ----------
    n_bands : int
        Bands (channels of the feature map) the network was built for.
    min_frames : int
        Shortest clip the network can take (valid convolutions and poolings shrink time).
    fixed_frames : int or None
        The only clip length a network with a flattening dense layer can take (2-D nets).
    """

    n_bands: int
    min_frames: int = 1
    fixed_frames: int | None = None

    def keras_init(self) -> None:
        """Keras' default initialisation: Glorot-uniform kernels, zero biases.

        The papers built their networks with Keras (Yang & Zhang, Dong, Wang) or on Theano
        (Senac; Lasagne's default is the same) and none mentions an initialisation, so the
        framework default is what they trained from; torch's own default (He-uniform with
        a = sqrt(5), non-zero biases) is smaller. Glorot's fans count the receptive field, as
        ``nn.init.xavier_uniform_`` does.
        """
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def l2_terms(self) -> Sequence[tuple[torch.Tensor, float]]:
        """``(kernel, coefficient)`` pairs of the paper's L2 penalty; none by default."""
        return ()

    def regularization(self) -> torch.Tensor:
        """The paper's weight penalty, to be added to the loss.

        Returns
        -------
        torch.Tensor [shape=()]
            ``sum(coef * sum(kernel ** 2))`` over :meth:`l2_terms`; 0 when the paper gives none.
        """
        return keras_l2(self.l2_terms(), like=next(self.parameters()))

    def check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Raise ``ConfigError`` unless ``x`` is ``[batch, n_bands, frames]`` with frames the network takes.

        Returns
        -------
        torch.Tensor
            ``x`` itself.
        """
        frames_ok = x.dim() == 3 and (x.shape[2] == self.fixed_frames if self.fixed_frames is not None
                                      else x.shape[2] >= self.min_frames)
        if not frames_ok or x.shape[1] != self.n_bands:
            frames = self.fixed_frames if self.fixed_frames is not None else f">= {self.min_frames}"
            raise ConfigError(
                f"{type(self).__name__} takes [batch, {self.n_bands} bands, {frames} frames], got shape "
                f"{list(x.shape)}; use the model's feature preset or build it with n_bands/n_frames matching "
                "the features")
        return x

    @staticmethod
    def check_frames(name: str, n_frames: int, min_frames: int) -> None:
        """Raise ``ConfigError`` when a clip of ``n_frames`` is too short for the network."""
        if n_frames < min_frames:
            raise ConfigError(f"{name} needs clips of at least {min_frames} frames, got n_frames={n_frames}")


def same_padding(width: int) -> tuple[int, int]:
    """Keras/TensorFlow ``"same"`` padding of a stride-1 kernel: the extra zero goes on the right.

    A width-4 kernel is padded 1 frame before and 2 after (torch's ``padding="same"`` agrees,
    but pads through a copy with a warning for even widths, so the padding is explicit here).
    """
    return (width - 1) // 2, width // 2


class TimeConv(nn.Module):
    """Convolution over time with all input channels in every kernel, then ReLU.

    With ``in_channels = n_bands`` this is the papers' first layer, kernels spanning the
    whole frequency axis; with ``in_channels`` = the previous layer's kernels it is their
    ``1 x w`` layers.

    Parameters
    ----------
    in_channels, out_channels : int
    width : int
        Kernel width in frames (4 in Zhang, Senac and Yang).
    padding : {"valid", "same"}
        ``"same"`` keeps the number of frames (Keras padding, see :func:`same_padding`).

    Notes
    -----
    Shapes: ``[batch, in_channels, T]`` -> ``[batch, out_channels, T]`` (same) or ``T - width + 1`` (valid).
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 4, padding: str = "valid"):
        super().__init__()
        if padding not in ("valid", "same"):
            raise ConfigError(f"padding must be 'valid' or 'same', got {padding!r}")
        self.conv = nn.Conv1d(in_channels, out_channels, width)
        self.pad = same_padding(width) if padding == "same" else None

    @property
    def kernel(self) -> torch.Tensor:
        """The weights an L2 penalty applies to (not the bias)."""
        return self.conv.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = F.pad(x, self.pad)
        return F.relu(self.conv(x))


def global_max_avg(x: torch.Tensor) -> torch.Tensor:
    """Global max- and average-pooling over time, concatenated (Zhang et al. 2016's idea).

    ``[batch, K, T]`` -> ``[batch, 2 K]``: the K maxima, then the K means.
    """
    return torch.cat([x.amax(dim=-1), x.mean(dim=-1)], dim=1)


class ConvPool2d(nn.Module):
    """2-D convolution, ReLU, max-pooling and dropout: one block of Dong's and Wang's CNNs.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel, pool : (int, int)
        (bands, frames) sizes; pooling is non-overlapping and drops a ragged edge (Keras and
        torch agree on this).
    padding : {"valid", "same"}
    dropout : float
        Rate of the dropout after the pooling (0: none).

    Notes
    -----
    Shapes: ``[batch, in_channels, H, W]`` -> ``[batch, out_channels, H', W']`` with
    :meth:`output_size` giving ``(H', W')``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int], pool: tuple[int, int],
                 padding: str = "valid", dropout: float = 0.0):
        super().__init__()
        if padding not in ("valid", "same"):
            raise ConfigError(f"padding must be 'valid' or 'same', got {padding!r}")
        self.kernel_size, self.pool, self.dropout = tuple(kernel), tuple(pool), dropout
        self.same = padding == "same"
        # Odd kernels pad symmetrically, which the convolution does without copying its input
        # (Wang's first block sees 128 maps of 128 x 660 per clip); even ones need F.pad, whose
        # list starts at the last axis: (frames before, after, bands before, after).
        symmetric = all(k % 2 for k in kernel)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel,
                              padding=tuple(k // 2 for k in kernel) if self.same and symmetric else 0)
        self.pad = same_padding(kernel[1]) + same_padding(kernel[0]) if self.same and not symmetric else None

    @property
    def kernel(self) -> torch.Tensor:
        """The weights an L2 penalty applies to (not the bias)."""
        return self.conv.weight

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """``(H, W)`` after this block for an ``(H, W)`` input (may be < 1: too small an input)."""
        if not self.same:
            size = tuple(s - k + 1 for s, k in zip(size, self.kernel_size))
        return tuple(s // p for s, p in zip(size, self.pool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = F.pad(x, self.pad)
        x = F.max_pool2d(F.relu(self.conv(x), inplace=True), self.pool)
        return F.dropout(x, self.dropout, self.training)


def flat_size(blocks: Iterable[ConvPool2d], n_bands: int, n_frames: int, name: str) -> int:
    """Features after a stack of :class:`ConvPool2d` blocks, flattened (sizes a 2-D net's dense layer).

    Raises
    ------
    ConfigError
        When the input is too small for the stack.
    """
    size, channels = (n_bands, n_frames), 1
    for block in blocks:
        size = block.output_size(size)
        channels = block.conv.out_channels
        if min(size) < 1:
            raise ConfigError(f"{name}: an input of {n_bands} bands x {n_frames} frames is too small for "
                              "its convolution and pooling layers")
    return channels * size[0] * size[1]


class DenseHead(nn.Module):
    """Fully connected classifier: ReLU hidden layers, linear output (logits, no softmax).

    Parameters
    ----------
    in_features : int
    hidden : sequence of int
        Hidden layer sizes (may be empty: a single linear layer).
    n_classes : int
    dropout : sequence of float
        ``len(hidden) + 1`` rates, the dropout applied to the *input* of each linear layer
        (0: none), so "dropout before the last dense layer" is ``(0, ..., 0, rate)``.

    Notes
    -----
    Shapes: ``[batch, in_features]`` -> ``[batch, n_classes]``.
    """

    def __init__(self, in_features: int, hidden: Sequence[int], n_classes: int, dropout: Sequence[float]):
        super().__init__()
        if len(dropout) != len(hidden) + 1:
            raise ConfigError(f"DenseHead needs {len(hidden) + 1} dropout rates, got {len(dropout)}")
        sizes = [in_features, *hidden, n_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))
        self.dropout = tuple(float(p) for p in dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, (layer, rate) in enumerate(zip(self.layers, self.dropout)):
            x = layer(F.dropout(x, rate, self.training) if rate else x)
            if i < last:
                x = F.relu(x)
        return x
