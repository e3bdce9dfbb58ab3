"""genrekit.models.senac2017: net_STFT is Zhang's nnet2, net_MUSIC the same on 8 features."""

from __future__ import annotations

import torch

from genrekit import models
from genrekit.models.senac2017 import SenacNet
from genrekit.models.zhang2016 import ZhangNNet2


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_net_stft_is_the_nnet2_class_under_both_names():
    assert SenacNet is ZhangNNet2
    assert models.info("senac2017_stft").builder is models.info("zhang2016_nnet2").builder
    assert n_params(models.build("senac2017_stft")) == 1_250_928


def test_net_music_takes_the_128_x_8_feature_map():
    net = models.build("senac2017_music")
    assert n_params(net) == 733_808
    assert net(torch.randn(2, 8, 128)).shape == (2, 10)


def test_training_defaults_are_the_papers():
    for name, bands in [("senac2017_stft", 513), ("senac2017_music", 8)]:
        info = models.info(name)
        assert (info.features, info.n_bands, info.n_frames) == (name, bands, 128)
        assert (info.batch_size, info.epochs, info.aggregation, info.sampling) == (20, 40, "vote", "fixed")
        assert "Senac" in info.paper and "sec. 3" in info.paper
