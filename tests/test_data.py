"""genrekit.data: dataset + preset + split -> track arrays."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit import data, runs
from genrekit.errors import ConfigError
from genrekit.training import TrainConfig


def test_prepare_synthetic_with_a_clip_override(tmp_path):
    config = TrainConfig(model="dong2018", dataset="synthetic", root=str(tmp_path / "s"),
                         dataset_options={"n_per_genre": 2, "seconds": 4.0}, split="holdout:1/1",
                         clip_frames=128, clip_hop=64, cache=str(tmp_path / "cache")).resolved()
    prepared = data.prepare(config, progress=False)
    assert (prepared.frames, prepared.hop) == (128, 64)
    assert len(prepared.train) == 10 and len(prepared.test) == 10 and len(prepared.valid) == 0
    assert prepared.train.features[0].shape[0] == 64  # Dong's 64 mel bands
    assert sorted(prepared.train.labels.tolist()) == list(range(10))
    assert prepared.context["features"] == "dong2018"


def test_prepare_coarse_mel_uses_its_arrays(coarse_mel_dir):
    config = TrainConfig(model="yang2019_net1", dataset="coarse-mel", root=str(coarse_mel_dir),
                         split="filtered:dev").resolved()
    assert config.features == "coarse_mel"
    prepared = data.prepare(config, progress=False)
    assert len(prepared.test) == 197 and prepared.frames == 39
    with pytest.raises(ConfigError, match="holds only coarse_mel"):
        data.prepare(TrainConfig(model="yang2019_net1", dataset="coarse-mel", root=str(coarse_mel_dir),
                                 features="yang2019").resolved(), progress=False)


def test_split_index_out_of_range(tmp_path):
    config = TrainConfig(model="dong2018", dataset="synthetic", root=str(tmp_path / "s"),
                         dataset_options={"n_per_genre": 2, "seconds": 4.0}, split="holdout:1/1", split_index=3,
                         cache=str(tmp_path / "cache")).resolved()
    with pytest.raises(ConfigError, match="split_index"):
        data.prepare(config, progress=False)


def test_a_preset_made_from_the_held_arrays_is_converted(coarse_mel_dir):
    from genrekit import datasets
    collection = datasets.load("coarse-mel", coarse_mel_dir)
    spec = runs.feature_spec("musicnn_coarse")
    arrays, failed = data.track_features(collection, spec)
    assert not failed and len(arrays) == 639
    first = collection.tracks[0].id
    np.testing.assert_array_equal(arrays[first], spec.from_source(collection.features[first]))
    assert arrays[first].shape == (96, 1875)


def test_a_preset_with_fields_changed_reads_held_arrays_as_it_reads_audio(coarse_mel_dir):
    """``features`` as a mapping (``--features coarse_mel:max_hz=10500``): the held arrays conform to it (the two
    bands above 10.5 kHz at the floor), as the same spec leaves them unread from audio."""
    config = TrainConfig(model="zhang2016_nnet1", dataset="coarse-mel", root=str(coarse_mel_dir), split="filtered:dev",
                         features={"preset": "coarse_mel", "max_hz": 10500})
    spec = runs.feature_spec(config.features)
    assert spec.max_hz == 10500 and spec.kind == "coarse_mel"
    prepared = data.prepare(config)
    values = prepared.train.features[0]
    assert values.shape[0] == 128 and np.all(values[126:] == -80.0) and values[:126].max() > -80.0
