"""Wang: a 2-D CNN of 3 x 3 convolution + 2 x 2 max-pooling blocks on 128-band mel clips.

Y. Wang, "Efficient Music Genre Classification with Convolutional Neural Networks".
Input: 128 mel bands x 660 frames (librosa, n_fft 1024, hop 256, scaled to [0, 1]).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from genrekit.models.layers import ConvPool2d, DenseHead, GenreNet, flat_size
from genrekit.models.registry import ModelInfo, register

__all__ = ["WangCNN2d"]

DROPOUT = 0.2  # sec. III.C: "the dropout as 0.2"


class WangCNN2d(GenreNet):
    """Wang's CNN: five blocks of 3 x 3 convolution, ReLU and 2 x 2 max-pooling; dropout 0.2; dense.

    Section III.C of the paper; 105,730 parameters at 128 x 660 with the default kernels.

    Layers (sizes for the paper's 128 x 660 input)::

        x       [B, 128, 660] -> unsqueezed to [B, 1, 128, 660] (one input channel)
        block1  128 kernels 3 x 3, same, ReLU, pool 2 x 2      -> [B, 128, 64, 330]
        block2   64 kernels                                    -> [B,  64, 32, 165]
        block3   32 kernels                                    -> [B,  32, 16,  82]
        block4   16 kernels                                    -> [B,  16,  8,  41]
        block5    8 kernels                                    -> [B,   8,  4,  20]
        dense   flatten (640) -> dropout 0.2 -> n_classes (logits)

    Parameters
    ----------
    n_bands : int
        Mel bands (128); sizes the dense layer. At least 2 ** len(channels).
    n_frames : int
        Frames per clip (660); sizes the dense layer, so the network takes exactly this many
        frames. At least 2 ** len(channels).
    n_classes : int
    channels : sequence of int
        Kernels of each convolution, one block per entry.
    hidden : sequence of int
        Hidden dense layers before the output (none by default).
    block_dropout : bool
        Put the dropout after every pooling instead of once before the dense layer(s).

    Notes
    -----
    Input ``[batch, n_bands, n_frames]`` float32, output logits ``[batch, n_classes]``.
    The paper's text fixes the 3 x 3 kernels, stride 1, ReLU, 2 x 2 max-pooling and dropout
    0.2, and walks through five convolutions whose "output" is 128, 64, 32, 16 and 8, each
    "compressed" to half by its pooling before a fully connected classifier (though it also
    says "4 convolutional layers"; its Fig. 5 is not available). Chosen: five blocks whose
    kernel counts are those numbers, with "same" padding, so the feature-map height also runs
    128 -> 64 -> 32 -> 16 -> 8 -> 4 as the text says under either reading; one dense layer; one
    dropout, on the flattened features. The text gives a single rate among the layer settings
    without its place; dropout after every pooling (``block_dropout=True``) compounds through
    the narrow 16- and 8-kernel blocks: on 8 noisy clips of 4 classes (32 x 64) the loss only
    falls from 1.48 to 1.18 in 150 Adam steps, against 0.25 after 60 steps with the single
    dropout. No weight penalty is given (:meth:`regularization` is 0).
    """

    def __init__(self, n_bands: int = 128, n_frames: int = 660, n_classes: int = 10,
                 channels: Sequence[int] = (128, 64, 32, 16, 8), hidden: Sequence[int] = (),
                 block_dropout: bool = False):
        super().__init__()
        self.n_bands, self.n_frames, self.fixed_frames = n_bands, n_frames, n_frames
        inputs = [1, *channels[:-1]]
        self.blocks = nn.ModuleList(
            ConvPool2d(a, b, (3, 3), (2, 2), padding="same", dropout=DROPOUT if block_dropout else 0.0)
            for a, b in zip(inputs, channels))
        features = flat_size(self.blocks, n_bands, n_frames, "WangCNN2d")
        head_dropout = 0.0 if block_dropout else DROPOUT
        self.head = DenseHead(features, hidden, n_classes, dropout=(head_dropout,) + (0.0,) * len(hidden))
        self.keras_init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[batch, n_bands, n_frames]`` -> logits ``[batch, n_classes]``."""
        h = self.check_input(x).unsqueeze(1)
        for block in self.blocks:
            h = block(h)
        return self.head(h.flatten(1))


register(ModelInfo(
    name="wang_cnn2d", builder=WangCNN2d,
    paper="Wang, 'Efficient Music Genre Classification with CNNs', sec. III.C (architecture), "
          "sec. IV.A (training, majority vote)",
    features="wang", n_bands=128, n_frames=660,
    optimizer={"name": "adam", "lr": 1e-3}, batch_size=32, epochs=100, sampling="fixed", aggregation="vote",
    patience=None,
    notes="105,730 parameters at 128 x 660 (convs 1,280 + 73,792 + 18,464 + 4,624 + 1,160; dense 6,410). "
          "The text describes five conv + pool stages with outputs 128/64/32/16/8 (while saying '4 "
          "convolutional layers'; Fig. 5 unavailable): chosen five 3 x 3 convolutions with 128, 64, 32, 16, "
          "8 kernels, Keras 'same' padding (heights 128 -> 64 -> 32 -> 16 -> 8 -> 4 as the text says), 2 x 2 "
          "max-pooling, then a single dense output layer (the text names one 'fully connected layer'). One "
          "dropout 0.2, on the flattened features before the dense layer: the text gives the rate, not the "
          "place, and dropout after every pooling (model_args block_dropout=true) nearly stops the net from "
          "fitting 8 noisy clips (loss 1.48 -> 1.18 in 150 Adam steps, vs 0.25 in 60 with one dropout). "
          "model_args channels/hidden change the layers. Adam with Keras' default lr 1e-3 (only 'ADAM' is "
          "stated). 100 epochs, batch 32, no early stopping (patience None). "
          "Clips of 660 frames on the preset's grid; track decision = majority vote over clips. "
          "Weight initialisation: Keras defaults (Glorot-uniform kernels, zero biases)."))
