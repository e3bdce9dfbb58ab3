"""Dong 2018: a small two-convolution CNN on 3 s log-mel segments.

M. Dong, "Convolutional Neural Network Achieves Human-level Accuracy in Music Genre
Classification", CCN 2018 (arXiv 1802.09697). Input: 64 mel bands x 256 frames
(23 ms windows, 50 % overlap, ln(1 + x)).
"""

from __future__ import annotations

import torch

from genrekit.models.layers import ConvPool2d, DenseHead, GenreNet, flat_size
from genrekit.models.registry import ModelInfo, register

__all__ = ["DongCNN"]

# Penalty weights and dropout are not in the paper ("Dropout and L2 regularization were used");
# these are the ones of the author's released code (baseline_model_64 in ds7711/music_genre_classification).
L2_CONV, L2_DENSE, DROPOUT = 0.01, 0.02, 0.2


class DongCNN(GenreNet):
    """Dong 2018's CNN: two convolution + max-pooling blocks, dense 32, output.

    Section "Network Architecture" of the paper (items 1-7); 463,914 parameters at 64 x 256.

    Layers (ReLU after both convolutions and the hidden dense layer)::

        x       [B, 64, 256] -> unsqueezed to [B, 1, 64, 256] (one input channel)
        conv1   64 kernels 3 x 3, no padding      -> [B, 64, 62, 254]
        pool    max 2 x 4                         -> [B, 64, 31, 63]
        conv2   64 kernels 3 x 5, no padding      -> [B, 64, 29, 59]
        pool    max 2 x 4                         -> [B, 64, 14, 14]  -> dropout 0.2
        dense   flatten (12,544) -> 32 -> dropout 0.2 -> n_classes (logits)

    (First axis mel, second time, as in the paper.)

    Parameters
    ----------
    n_bands : int
        Mel bands (64); sizes the dense layer. At least 10.
    n_frames : int
        Frames per segment (256 = 3 s); sizes the dense layer, so the network takes exactly
        this many frames. At least 34.
    n_classes : int

    Notes
    -----
    Input ``[batch, n_bands, n_frames]`` float32, output logits ``[batch, n_classes]``.
    Where the paper is silent the author's released Keras code is followed: no padding
    (Keras' default), dropout 0.2 after the second pooling and after the dense layer, L2
    0.01 on both convolution kernels and 0.02 on the dense-32 kernel (:meth:`regularization`).
    """

    def __init__(self, n_bands: int = 64, n_frames: int = 256, n_classes: int = 10):
        super().__init__()
        self.n_bands, self.n_frames, self.fixed_frames = n_bands, n_frames, n_frames
        self.block1 = ConvPool2d(1, 64, (3, 3), (2, 4))
        self.block2 = ConvPool2d(64, 64, (3, 5), (2, 4), dropout=DROPOUT)
        features = flat_size([self.block1, self.block2], n_bands, n_frames, "DongCNN")
        self.head = DenseHead(features, (32,), n_classes, dropout=(0.0, DROPOUT))
        self.keras_init()

    def l2_terms(self):
        return [(self.block1.kernel, L2_CONV), (self.block2.kernel, L2_CONV), (self.head.layers[0].weight, L2_DENSE)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[batch, n_bands, n_frames]`` -> logits ``[batch, n_classes]``."""
        h = self.block2(self.block1(self.check_input(x).unsqueeze(1)))
        return self.head(h.flatten(1))


register(ModelInfo(
    name="dong2018", builder=DongCNN,
    paper="Dong 2018 (CCN, arXiv 1802.09697), 'Network Architecture' and 'Training & Prediction'",
    features="dong2018", n_bands=64, n_frames=256,
    optimizer={"name": "sgd", "lr": 0.01, "momentum": 0.9},
    batch_size=150, epochs=500, sampling="random_crop", aggregation="mean", patience=50,
    notes="463,914 parameters at 64 x 256 (640 + 61,504 conv, 401,440 + 330 dense). Paper silent, taken "
          "from the author's released Keras code (ds7711/music_genre_classification, baseline_model_64): "
          "'valid' convolutions, dropout 0.2 after the second pooling and after dense 32, L2 0.01 on both "
          "conv kernels and 0.02 on the dense-32 kernel (Keras-style, kernels only), batch 150. The paper "
          "says SGD (the code uses Adadelta): lr 0.01 (Keras' SGD default) and momentum 0.9 are our choice. "
          "One random 3 s crop per training track and epoch (the code shares one random start across a "
          "batch). 'Repeat until validation accuracy doesn't improve anymore' (the code: rounds of 500 "
          "passes until the validation accuracy plateaus): early stopping with patience 50 epochs (an "
          "epoch is only ~4 steps of 150 crops on a 500-track training set), keeping the best epoch, at "
          "most 500 epochs. Test: 3 s segments with 50 % overlap, genre = highest mean probability. "
          "Weight initialisation: Keras defaults (Glorot-uniform kernels, zero biases)."))
