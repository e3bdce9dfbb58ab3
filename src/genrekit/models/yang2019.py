"""Yang & Zhang 2019: duplicated convolutional layers (net1) and its residual contrast (net2).

H. Yang, W.-Q. Zhang, "Music Genre Classification Using Duplicated Convolutional Layers in
Neural Networks", Interspeech 2019. Input: 256-band log-mel clips of 128 frames (sec. 4.2).
Both nets' parameter counts match the paper's Table 2 exactly (1,001,162 and 857,322).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genrekit.models.layers import DenseHead, GenreNet, TimeConv, global_max_avg
from genrekit.models.registry import ModelInfo, register

__all__ = ["YangNet1", "YangNet2"]

WIDTH = 4                               # every kernel is 4 frames wide (sec. 3.1)
L2_FIRST, L2_OTHER = 0.02, 0.01         # L2 weights: conv1, every other convolution (sec. 3.1)
DROPOUT_CONV1, DROPOUT_LAST = 0.2, 0.1  # after conv1, before the last dense layer (sec. 3.1)


class _YangNet(GenreNet):
    """What net1 and net2 share: conv1 and its dropout, conv2, the L2 scheme.

    conv1 spans all bands (no padding) and is followed by dropout 0.2; conv2 is 1 x 4 with
    "same" padding; L2 0.02 on conv1's kernels and 0.01 on every later convolution's.
    """

    later_convs: tuple[str, ...] = ()  # the convolutions after conv1, penalised with L2_OTHER

    def __init__(self, n_bands: int, n_frames: int):
        super().__init__()
        self.check_frames(type(self).__name__, n_frames, WIDTH)
        self.n_bands, self.n_frames, self.min_frames = n_bands, n_frames, WIDTH
        self.conv1 = TimeConv(n_bands, 256, WIDTH, "valid")
        self.conv2 = TimeConv(256, 256, WIDTH, "same")

    def front(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """conv1 (then its dropout, which everything downstream sees) and conv2."""
        h1 = F.dropout(self.conv1(self.check_input(x)), DROPOUT_CONV1, self.training)
        return h1, self.conv2(h1)

    def l2_terms(self):
        return [(self.conv1.kernel, L2_FIRST)] + [(getattr(self, n).kernel, L2_OTHER) for n in self.later_convs]


class YangNet1(_YangNet):
    """Yang & Zhang 2019 net1: duplicated convolutional layers, each to its own global pooling.

    Section 3.1 and Fig. 1 of the paper; 1,001,162 parameters at 256 bands (Table 2).

    Layers (ReLU after every convolution and hidden dense layer)::

        x       [B, n_bands, T]
        conv1   256 kernels n_bands x 4, no padding   -> [B, 256, T-3]  -> dropout 0.2
        conv2   256 kernels 1 x 4, same, on conv1     -> [B, 256, T-3]
        conv3   128 kernels 1 x 4, same, on conv2     -> [B, 128, T-3]
        conv4   128 kernels 1 x 4, same, on conv2     -> [B, 128, T-3]
        pool    max(conv1) | avg(conv2) | max(conv3) | avg(conv4) over time -> [B, 768]
        dense   256 -> 64 -> dropout 0.1 -> n_classes (logits)

    Parameters
    ----------
    n_bands : int
        Mel bands (256 in the paper); conv1 spans all of them, so any count works.
    n_frames : int
        Clip length the network is built for (128 in the paper); the network takes any
        length of at least 4 frames (global pooling), ``n_frames`` is only checked.
    n_classes : int

    Notes
    -----
    Input ``[batch, n_bands, frames]`` float32, output logits ``[batch, n_classes]``.
    The paper pairs conv1/conv2 and conv3/conv4 with "different kinds of pooling" without
    saying which gets which: conv1 and conv3 take max-pooling, conv2 and conv4 average-pooling
    (the counts are the same either way). :meth:`regularization` is the paper's L2 penalty.
    """

    later_convs = ("conv2", "conv3", "conv4")

    def __init__(self, n_bands: int = 256, n_frames: int = 128, n_classes: int = 10):
        super().__init__(n_bands, n_frames)
        # conv3 and conv4 are the duplicated layers: same input, same shape, different pooling.
        self.conv3 = TimeConv(256, 128, WIDTH, "same")
        self.conv4 = TimeConv(256, 128, WIDTH, "same")
        self.head = DenseHead(256 + 256 + 128 + 128, (256, 64), n_classes, dropout=(0.0, 0.0, DROPOUT_LAST))
        self.keras_init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[batch, n_bands, frames]`` -> logits ``[batch, n_classes]``."""
        h1, h2 = self.front(x)
        pooled = [h1.amax(-1), h2.mean(-1), self.conv3(h2).amax(-1), self.conv4(h2).mean(-1)]
        return self.head(torch.cat(pooled, dim=1))


class YangNet2(_YangNet):
    """Yang & Zhang 2019 net2: three convolutions summed, then global max and average pooling.

    Section 3.2 and Fig. 2 of the paper; 857,322 parameters at 256 bands (Table 2).

    Layers (ReLU after every convolution and hidden dense layer)::

        x       [B, n_bands, T]
        conv1   256 kernels n_bands x 4, no padding   -> [B, 256, T-3]  -> dropout 0.2
        conv2   256 kernels 1 x 4, same, on conv1     -> [B, 256, T-3]
        conv3   256 kernels 1 x 4, same, on conv2     -> [B, 256, T-3]
        sum     conv1 + conv2 + conv3                 -> [B, 256, T-3]
        pool    global max | global average over time -> [B, 512]
        dense   128 -> 32 -> dropout 0.1 -> n_classes (logits)

    Parameters
    ----------
    n_bands : int
        Mel bands (256 in the paper); any count works.
    n_frames : int
        Clip length (128 in the paper); any length of at least 4 frames works.
    n_classes : int

    Notes
    -----
    Input ``[batch, n_bands, frames]`` float32, output logits ``[batch, n_classes]``.
    The summed outputs are the layers' ReLU outputs (the paper applies ReLU in all
    convolutional layers, and a ReLU after a sum of non-negative maps would change nothing);
    conv1's term is taken after its dropout, as is conv2's input. Same dropout and L2 scheme
    as net1 (sec. 3.2: "similar to net1").
    """

    later_convs = ("conv2", "conv3")

    def __init__(self, n_bands: int = 256, n_frames: int = 128, n_classes: int = 10):
        super().__init__(n_bands, n_frames)
        self.conv3 = TimeConv(256, 256, WIDTH, "same")
        self.head = DenseHead(2 * 256, (128, 32), n_classes, dropout=(0.0, 0.0, DROPOUT_LAST))
        self.keras_init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[batch, n_bands, frames]`` -> logits ``[batch, n_classes]``."""
        h1, h2 = self.front(x)
        return self.head(global_max_avg(h1 + h2 + self.conv3(h2)))


_TRAINING = dict(
    features="yang2019", n_bands=256, n_frames=128,
    optimizer={"name": "adadelta", "lr": 1.0},  # Keras Adadelta defaults otherwise (rho 0.95, eps 1e-7)
    batch_size=50, epochs=30, sampling="fixed", aggregation="sum", patience=None,
)
_SHARED_NOTES = (
    "Epochs: not given in the paper; 30, keeping the epoch with the best validation track accuracy. "
    "Adadelta with Keras' defaults besides the stated lr 1.0 (rho 0.95, epsilon 1e-7). "
    "No early stopping is mentioned (patience None). Conv1 takes the dropout (0.2) and its "
    "output after dropout feeds everything downstream. L2 is Keras-style, on kernels only: "
    "0.02 * sum(conv1 kernel^2) + 0.01 * sum of the other conv kernels^2; dense layers unpenalised "
    "(the paper names only convolutional layers). Clips of 128 frames with the preset's 50 % hop; "
    "track decision = argmax of the summed clip probabilities (sec. 4.2). Weight initialisation: "
    "Keras defaults (Glorot-uniform kernels, zero biases; the paper used Keras).")

register(ModelInfo(
    name="yang2019_net1", builder=YangNet1,
    paper="Yang & Zhang 2019 (Interspeech), sec. 3.1, Fig. 1; training sec. 4.2",
    notes="Pooling assignment not stated: conv1 max, conv2 average, conv3 max, conv4 average. " + _SHARED_NOTES,
    **_TRAINING))
register(ModelInfo(
    name="yang2019_net2", builder=YangNet2,
    paper="Yang & Zhang 2019 (Interspeech), sec. 3.2, Fig. 2; training sec. 4.2",
    notes="The summed maps are the ReLU outputs of conv1 (after dropout), conv2 and conv3, all 'same'-length "
          "(conv2/conv3 Keras 'same' padding, 1 frame before, 2 after). Dropout and L2 as net1 "
          "(the paper: 'similar to net1'). " + _SHARED_NOTES,
    **_TRAINING))
