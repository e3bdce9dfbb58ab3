"""Senac et al. 2017: net_STFT (Zhang et al.'s nnet2) and net_MUSIC (the same on 8 music features).

C. Senac, T. Pellegrini, F. Mouret, J. Pinquier, "Music Feature Maps with Convolutional Neural
Networks for Music Genre Classification", CBMI 2017. Both networks are
:class:`genrekit.models.zhang2016.ZhangNNet2` (sec. 3: "the two networks we used are
constructed on the same scheme"), built for 513 STFT bins or for the 8-feature map
(energy, ZCR, brightness, flatness, entropy, roughness, key clarity, HCDF; sec. 2.2).
"""

from __future__ import annotations

from genrekit.models.registry import ModelInfo, register
from genrekit.models.zhang2016 import SENAC_TRAINING, SENAC_TRAINING_NOTES, ZhangNNet2

__all__ = ["SenacNet"]

#: Senac's net_STFT and net_MUSIC: Zhang et al. 2016's nnet2 with ``n_bands`` = 513 or 8.
SenacNet = ZhangNNet2

_ARCHITECTURE_NOTES = (
    "Layers as zhang2016_nnet2: conv 256 x (n x 4) valid, conv 256 x 4 and conv 256 x 4 'same'-padded "
    "(Keras: 1 frame before, 2 after; the reading of 'zero padding is used before the element-wise "
    "adding operation'), shortcut conv1 + conv3 on the ReLU outputs, global max + average pooling, "
    "dense 300, 150, n_classes. ")

register(ModelInfo(
    name="senac2017_stft", builder=SenacNet,
    paper="Senac, Pellegrini, Mouret & Pinquier 2017 (CBMI), sec. 3, Fig. 1 (net_STFT); clips sec. 2.3; "
          "vote sec. 4.3",
    features="senac2017_stft", n_bands=513, n_frames=128, **SENAC_TRAINING,
    notes="The same network (and class) as zhang2016_nnet2. " + _ARCHITECTURE_NOTES + SENAC_TRAINING_NOTES))
register(ModelInfo(
    name="senac2017_music", builder=SenacNet,
    paper="Senac, Pellegrini, Mouret & Pinquier 2017 (CBMI), sec. 3, Fig. 1 (net_MUSIC); features sec. 2.2",
    features="senac2017_music", n_bands=8, n_frames=128, **SENAC_TRAINING,
    notes="net_STFT's network on the 128 x 8 music-feature map (733,808 parameters); the features are "
          "not standardised in the paper (sec. 3), their order does not matter to conv1. "
          + _ARCHITECTURE_NOTES + SENAC_TRAINING_NOTES))
