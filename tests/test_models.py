"""genrekit.models: every paper network is registered, builds, documents itself and can learn."""

from __future__ import annotations

import pytest
import torch

from genrekit import models

NAMES = ["dong2018", "senac2017_music", "senac2017_stft", "wang_cnn2d", "yang2019_net1", "yang2019_net2",
         "zhang2016_nnet1", "zhang2016_nnet2"]

# Small inputs (bands, frames) that keep the overfitting test fast: the band-spanning nets keep
# their paper's band count, the 2-D nets shrink to what their poolings allow.
SMALL = {"yang2019_net1": (256, 16), "yang2019_net2": (256, 16), "zhang2016_nnet1": (513, 32),
         "zhang2016_nnet2": (513, 16), "senac2017_stft": (513, 16), "senac2017_music": (8, 16),
         "dong2018": (16, 64), "wang_cnn2d": (32, 64)}


def test_names_lists_the_eight_networks():
    assert set(NAMES) <= set(models.names())
    assert set(SMALL) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_build_gives_the_papers_input_and_output(name):
    info = models.info(name)
    net = models.build(name).eval()
    with torch.no_grad():
        out = net(torch.zeros(1, info.n_bands, info.n_frames))
    assert out.shape == (1, 10) and out.dtype == torch.float32
    assert models.regularization(net).dim() == 0
    assert info.paper and info.notes and "sec" in type(net).__doc__.lower()  # cites a section
    assert info.training_defaults()["features"] == info.features


@pytest.mark.parametrize("name", NAMES)
def test_overfits_a_tiny_batch(name):
    """8 clips of 4 classes (a class template plus as much noise): 60 Adam steps cut the loss by > 70 %."""
    bands, frames = SMALL[name]
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    net = models.build(name, n_bands=bands, n_frames=frames, n_classes=4)
    labels = torch.arange(8) % 4
    clips = torch.randn(4, bands, frames, generator=generator)[labels]
    clips = clips + torch.randn(8, bands, frames, generator=generator)
    loss = torch.nn.CrossEntropyLoss()

    def eval_loss():
        net.eval()
        with torch.no_grad():
            return loss(net(clips), labels).item()

    start = eval_loss()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()  # with the papers' dropout
    for _ in range(60):
        optimizer.zero_grad()
        loss(net(clips), labels).backward()
        optimizer.step()
    assert eval_loss() < 0.3 * start


def test_networks_and_classical_models_share_the_registry():
    from genrekit.errors import ConfigError

    classical = {"knn", "decision_tree", "random_forest", "svm", "logistic_regression", "musicnn_msd_logreg",
                 "musicnn_msd_svm", "musicnn_mtt_logreg", "musicnn_mtt_svm"}
    assert set(models.names(kind="classical")) == classical
    assert set(NAMES) <= set(models.names(kind="network")) and not classical & set(models.names(kind="network"))
    assert models.info("knn").kind == "classical" and models.info("knn").aggregation == "vote"
    assert models.info("musicnn_msd_svm").coarse_features == "musicnn_msd_coarse"
    with pytest.raises(ConfigError, match="kind"):
        models.ModelInfo("x", None, "p", "yang2019", kind="tree")
