"""genrekit.models.assembly: networks with their standardisation, rebuilt from a state; classical pipelines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genrekit.errors import ConfigError
from genrekit.features.summary import feature_names
from genrekit.models import assembly, transfer


def test_build_model_standardises_only_when_asked():
    mean, std = torch.arange(21.0), torch.full((21,), 2.0)
    banded = assembly.build_model("zhang2016_nnet1", 21, 39, 4, assembly.Standardize(mean, std))
    raw = assembly.build_model("zhang2016_nnet1", 21, 39, 4, assembly.Standardize(mean, std), normalize="none")
    raw.load_state_dict(banded.state_dict())
    x = torch.randn(3, 21, 39)
    banded.eval(), raw.eval()
    torch.testing.assert_close(banded(x), raw.net((x - mean[None, :, None]) / 2.0))
    torch.testing.assert_close(raw(x), raw.net(x))
    assert banded(x).shape == (3, 4)


def test_model_from_state_gives_the_same_outputs():
    torch.manual_seed(1)
    model = assembly.build_model("zhang2016_nnet1", 21, 39, 3,
                                 assembly.Standardize(torch.randn(21), torch.rand(21) + 0.5)).eval()
    config = {"model": "zhang2016_nnet1", "model_args": {}, "normalize": "band", "clip_frames": 39,
              "genres": ["a", "b", "c"]}
    rebuilt = assembly.model_from_state(config, model.state_dict())
    x = torch.randn(2, 21, 39)
    assert not rebuilt.training
    torch.testing.assert_close(rebuilt(x), model(x))


def test_a_network_is_not_a_pipeline_and_back():
    with pytest.raises(ConfigError, match="network model, not a classical one"):
        assembly.pipeline("zhang2016_nnet1")
    with pytest.raises(ConfigError, match="classical model, not a network"):
        assembly.build_model("knn", 21, 39, 3)


def test_classical_pipelines_and_the_vectors_they_read():
    summary = np.random.default_rng(0).normal(size=(len(feature_names()), 4))
    assert assembly.sample_vectors(summary, "knn").shape == (4, len(feature_names()))  # one per segment
    log_mel = np.random.default_rng(0).normal(-40, 5, size=(21, 50))
    assert assembly.sample_vectors(log_mel, "svm").shape[0] == 1  # one log-mel summary
    embeddings = np.random.default_rng(0).normal(size=(sum(transfer.LAYERS.values()), 3)).astype(np.float32)
    vector = assembly.sample_vectors(embeddings, "musicnn_msd_logreg", {"layers": "taggram"})
    np.testing.assert_allclose(vector[0], embeddings[:50].mean(axis=1), rtol=1e-6)
    assert assembly.pipeline("random_forest", seed=3).named_steps["model"].random_state == 3
    assert assembly.pipeline("musicnn_msd_logreg", model_args={"C": 0.5}).named_steps["model"].C == 0.5
