"""Zhang et al. 2016: CNNs on STFT clips with max + average pooling (nnet1) and a shortcut (nnet2).

W. Zhang, W. Lei, X. Xu, X. Xing, "Improved music genre classification with convolutional
neural networks", Interspeech 2016, pp. 3304-3308. The paper itself is not in
``shared/papers``; the networks are built from what Senac et al. 2017 (sec. 3, who reproduce
nnet2 as their net_STFT) and Yang & Zhang 2019 (Table 2: 464,906 and 1,250,928 parameters)
say about them. Input: 513-bin STFT magnitude clips of 128 frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from genrekit.models.layers import DenseHead, GenreNet, TimeConv, global_max_avg
from genrekit.models.registry import ModelInfo, register

__all__ = ["ZhangNNet1", "ZhangNNet2"]

WIDTH = 4       # kernels are 4 frames wide (Senac sec. 3: "4 x n size filters")
DROPOUT = 0.2   # Senac sec. 3: "the dropout rate is 0.2"


class ZhangNNet2(GenreNet):
    """Zhang et al. 2016 nnet2 = Senac et al. 2017 net_STFT / net_MUSIC: one residual block, two poolings.

    Senac et al. 2017 sec. 3 and Fig. 1 (the topology of Zhang et al. 2016's nnet2); 1,250,928
    parameters at 513 bins (Yang & Zhang 2019, Table 2) and 733,808 at Senac's 8 music features.

    Layers (ReLU after every convolution and hidden dense layer)::

        x       [B, n_bands, T]
        conv1   256 kernels n_bands x 4, no padding   -> [B, 256, T-3]
        conv2   256 kernels 4 x 1, same, on conv1     -> [B, 256, T-3]
        conv3   256 kernels 4 x 1, same, on conv2     -> [B, 256, T-3]
        add     conv1 + conv3 (the shortcut)          -> [B, 256, T-3]
        pool    global max | global average over time -> [B, 512]
        dense   dropout 0.2 -> 300 -> dropout 0.2 -> 150 -> dropout 0.2 -> n_classes (logits)

    Parameters
    ----------
    n_bands : int
        Input features per frame: 513 STFT bins (nnet2, net_STFT) or 8 music features
        (net_MUSIC). conv1 spans all of them, so any count works.
    n_frames : int
        Clip length the network is built for (128); any length of at least 4 frames works.
    n_classes : int
    hidden : sequence of int
        Hidden dense layers (Senac: 300, 150).

    Notes
    -----
    Input ``[batch, n_bands, frames]`` float32, output logits ``[batch, n_classes]``.
    "Zero padding is used before the element-wise adding operation" (Senac sec. 3) is read as
    conv2 and conv3 zero-padding their inputs (Keras "same": 1 frame before, 2 after), so
    conv3's output has conv1's length. The added maps are ReLU outputs (Senac: ReLU "in all
    convolutional and dense layers"); a ReLU after the sum would change nothing. No weight
    penalty is given, so :meth:`regularization` is 0.
    """

    def __init__(self, n_bands: int = 513, n_frames: int = 128, n_classes: int = 10,
                 hidden: Sequence[int] = (300, 150)):
        super().__init__()
        self.check_frames("ZhangNNet2", n_frames, WIDTH)
        self.n_bands, self.n_frames, self.min_frames = n_bands, n_frames, WIDTH
        self.conv1 = TimeConv(n_bands, 256, WIDTH, "valid")
        self.conv2 = TimeConv(256, 256, WIDTH, "same")
        self.conv3 = TimeConv(256, 256, WIDTH, "same")
        self.head = DenseHead(2 * 256, hidden, n_classes, dropout=(DROPOUT,) * (len(hidden) + 1))
        self.keras_init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[batch, n_bands, frames]`` -> logits ``[batch, n_classes]``."""
        h1 = self.conv1(self.check_input(x))
        return self.head(global_max_avg(h1 + self.conv3(self.conv2(h1))))


class ZhangNNet1(GenreNet):
    """Zhang et al. 2016 nnet1: three valid convolutions with max-pooling, then global max + average pooling.

    Zhang et al. 2016's plain network (no shortcut); 464,906 parameters at 513 bins, which is
    the count Yang & Zhang 2019 (sec. 4.3, Table 2) give for nnet1, exactly.

    Layers (ReLU after every convolution)::

        x       [B, n_bands, T]                       (T = 128 -> sizes in brackets)
        conv1   128 kernels n_bands x 4, no padding   -> [B, 128, T-3]   (125)
        pool    max 2 x 1 over time                   -> [B, 128, 62]
        conv2   128 kernels 4 x 1, no padding         -> [B, 128, 59]
        pool    max 2 x 1 over time                   -> [B, 128, 29]
        conv3   256 kernels 4 x 1, no padding         -> [B, 256, 26]
        pool    global max | global average over time -> [B, 512]
        dense   dropout 0.2 -> n_classes (logits)

    Parameters
    ----------
    n_bands : int
        STFT bins (513); conv1 spans all of them, so any count works.
    n_frames : int
        Clip length (128); any length of at least 25 frames works.
    n_classes : int
    hidden : sequence of int
        Hidden dense layers between the pooling and the output. Default none, which gives
        Table 2's 464,906 parameters; ``(300, 150)`` gives the classifier Senac describes for
        nnet2 (660,336 parameters).

    Notes
    -----
    Input ``[batch, n_bands, frames]`` float32, output logits ``[batch, n_classes]``.
    Neither paper here lists nnet1's layers. The front end (128/128/256 kernels of width 4,
    2 x 1 max-pooling after the first two, global max and average pooling) is the nnet1 that
    independent re-implementations of Zhang et al. 2016 agree on, and with a single dense
    output layer it gives exactly the 464,906 parameters of Yang & Zhang's Table 2; an
    exhaustive search over kernel counts (32-512), 1-3 convolutions, 1-3 global poolings and
    0-2 hidden layers of usual sizes finds no other plausible match. No penalty (0).
    """

    def __init__(self, n_bands: int = 513, n_frames: int = 128, n_classes: int = 10,
                 hidden: Sequence[int] = ()):
        super().__init__()
        # Time after conv(4), pool 2, conv(4), pool 2, conv(4) must stay >= 1: T >= 25.
        self.check_frames("ZhangNNet1", n_frames, 25)
        self.n_bands, self.n_frames, self.min_frames = n_bands, n_frames, 25
        self.conv1 = TimeConv(n_bands, 128, WIDTH, "valid")
        self.conv2 = TimeConv(128, 128, WIDTH, "valid")
        self.conv3 = TimeConv(128, 256, WIDTH, "valid")
        self.head = DenseHead(2 * 256, hidden, n_classes, dropout=(DROPOUT,) * (len(hidden) + 1))
        self.keras_init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[batch, n_bands, frames]`` -> logits ``[batch, n_classes]``."""
        h = F.max_pool1d(self.conv1(self.check_input(x)), 2)
        h = F.max_pool1d(self.conv2(h), 2)
        return self.head(global_max_avg(self.conv3(h)))


# Zhang et al.'s own training settings are not in the papers here; Senac et al. reproduce nnet2
# (their net_STFT, 87.8 % vs Zhang's 87.4 %) with these, so both Zhang models use them.
SENAC_TRAINING = dict(
    optimizer={"name": "adam", "lr": 1e-3}, batch_size=20, epochs=40, sampling="fixed", aggregation="vote",
    patience=None,
)
SENAC_TRAINING_NOTES = (
    "Batch 20, 40 epochs, majority vote over the 18 half-overlapping 3 s clips of a track (Senac sec. 3, 4.3). "
    "The optimiser is not given: Adam, lr 1e-3. No early stopping is mentioned (patience None; the epoch "
    "with the best validation track accuracy is kept). Dropout 0.2 on the input of every dense layer "
    "(the rate is Senac's, the placement is not given). No weight penalty is given (regularization 0). "
    "Weight initialisation: Keras defaults (Glorot-uniform kernels, zero biases).")

register(ModelInfo(
    name="zhang2016_nnet2", builder=ZhangNNet2,
    paper="Zhang, Lei, Xu & Xing 2016 (Interspeech), nnet2, as described in Senac et al. 2017 sec. 3 "
          "and Yang & Zhang 2019 sec. 4.3, Table 2",
    features="zhang2016", n_bands=513, n_frames=128, **SENAC_TRAINING,
    notes="Zhang's paper is not available here; the network is Senac's net_STFT (Senac reproduces it). "
          "Shortcut conv1 + conv3 with conv2/conv3 'same'-padded (Keras: 1 frame before, 2 after) as the "
          "reading of Senac's 'zero padding before the element-wise adding'; the added maps are ReLU "
          "outputs. Training settings are Senac's: " + SENAC_TRAINING_NOTES))
register(ModelInfo(
    name="zhang2016_nnet1", builder=ZhangNNet1,
    paper="Zhang, Lei, Xu & Xing 2016 (Interspeech), nnet1; parameter count from Yang & Zhang 2019 "
          "sec. 4.3, Table 2",
    features="zhang2016", n_bands=513, n_frames=128, **SENAC_TRAINING,
    notes="nnet1's layers are not in the papers here. Chosen: conv 128 x (513 x 4) valid, max-pool 2, "
          "conv 128 x 4 valid, max-pool 2, conv 256 x 4 valid, global max + average pooling (512), one "
          "dense output layer: exactly Yang & Zhang's 464,906 parameters, and the front end that public "
          "re-implementations of Zhang et al. 2016 use. Those re-implementations add dense 300/150 "
          "(660,336 parameters; model_args hidden=[300, 150]); that contradicts Table 2, which is the only "
          "published count, so the default has no hidden layer. Valid convolutions (the re-implementations' "
          "26-frame global pooling at 128 input frames). Training settings are those Senac uses for nnet2: "
          + SENAC_TRAINING_NOTES))
