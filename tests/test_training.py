"""genrekit.training: learning, determinism, run directory, resume after a kill, classical baselines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from torch import nn

from genrekit import models, runs, training
from genrekit.data import TrackData
from genrekit.errors import ConfigError
from genrekit.models import registry
from genrekit.training import TrainConfig

TINY = "test_tiny_cnn"


class TinyNet(nn.Module):
    """Conv1d over bands, global average pooling, linear: enough for separable toy data."""

    def __init__(self, n_bands, n_frames, n_classes=10, width=8):
        super().__init__()
        self.conv = nn.Conv1d(n_bands, width, 3, padding=1)
        self.dropout = nn.Dropout(0.2)
        self.out = nn.Linear(width, n_classes)

    def forward(self, x):
        return self.out(self.dropout(torch.relu(self.conv(x)).mean(dim=2)))

    def regularization(self):
        return 1e-4 * (self.conv.weight ** 2).sum()


def register_tiny():
    if TINY not in registry._REGISTRY:
        registry.register(models.ModelInfo(TINY, TinyNet, "test", "yang2019", 16, 32,
                                           optimizer={"name": "adam", "lr": 0.01}, batch_size=16, epochs=4,
                                           sampling="fixed", aggregation="sum"))


@pytest.fixture(autouse=True)
def tiny_model():
    register_tiny()
    yield


def toy_tracks(n_per_class=6, n_classes=3, bands=16, frames=96, seed=0):
    """Each class lights up its own bands, under noise."""
    rng = np.random.default_rng(seed)
    features, labels = [], []
    for c in range(n_classes):
        for _ in range(n_per_class):
            x = rng.normal(-40, 6, size=(bands, frames)).astype(np.float32)
            x[c * 4:(c + 1) * 4] += 12
            features.append(x)
            labels.append(c)
    ids = [f"t{i}" for i in range(len(labels))]
    return TrackData(ids, features, np.array(labels))


def fit_toy(out, epochs=4, seed=0, **overrides):
    config = TrainConfig(model=TINY, epochs=epochs, seed=seed, **overrides)
    genres = ["a", "b", "c"]
    return training.fit(config, genres, toy_tracks(seed=1), toy_tracks(2, seed=2), toy_tracks(3, seed=3),
                        frames=32, hop=16, out=out, progress=False)


def test_fit_learns_and_writes_the_run_directory(tmp_path):
    metrics = fit_toy(tmp_path / "run")
    assert metrics["test"]["track_accuracy"] == 1.0 and metrics["valid"]["track_accuracy"] == 1.0
    assert metrics["test"]["n_tracks"] == 9 and metrics["test"]["n_clips"] == 9 * 5
    assert np.array(metrics["test"]["confusion"]).trace() == 9
    run = tmp_path / "run"
    for name in ("config.yaml", "curves.csv", "metrics.json", "predictions.npz", "checkpoints/best.pt",
                 "checkpoints/last.pt"):
        assert (run / name).exists(), name
    assert len((run / "curves.csv").read_text().splitlines()) == 1 + 4
    saved = np.load(run / "predictions.npz")
    assert saved["test_probabilities"].shape == (45, 3) and saved["test_offsets"][-1] == 45
    assert json.loads((run / "metrics.json").read_text())["best_epoch"] >= 1


def test_training_is_deterministic(tmp_path):
    a = fit_toy(tmp_path / "a", epochs=2)
    b = fit_toy(tmp_path / "b", epochs=2)
    assert a["valid"] == b["valid"] and a["test"] == b["test"]
    assert (tmp_path / "a" / "curves.csv").read_text().split("\n")[1].split(",")[:6] == \
        (tmp_path / "b" / "curves.csv").read_text().split("\n")[1].split(",")[:6]


def test_random_crop_sampling_and_mean_aggregation(tmp_path):
    metrics = fit_toy(tmp_path / "run", epochs=6, sampling="random_crop", aggregation="mean")
    assert metrics["test"]["track_accuracy"] >= 0.8


def test_early_stopping_keeps_the_best_epoch(tmp_path):
    # Labels unrelated to the features: validation stops improving while training overfits.
    noisy = toy_tracks(seed=1)
    noisy.labels = np.random.default_rng(0).permutation(noisy.labels)
    metrics = training.fit(TrainConfig(model=TINY, epochs=30, patience=2), ["a", "b", "c"], noisy,
                           toy_tracks(2, seed=2), toy_tracks(2, seed=3), 32, 16, tmp_path / "run", progress=False)
    assert metrics["stopped_early"] and metrics["epochs_run"] < 30
    assert metrics["epochs_run"] - metrics["best_epoch"] == 2


def test_an_existing_run_needs_resume_and_the_same_config(tmp_path):
    fit_toy(tmp_path / "run", epochs=2)
    with pytest.raises(ConfigError, match="resume"):
        fit_toy(tmp_path / "run", epochs=2)
    with pytest.raises(ConfigError, match="configuration changed.*seed"):
        training.fit(TrainConfig(model=TINY, epochs=2, seed=5), ["a", "b", "c"], toy_tracks(), toy_tracks(2),
                     toy_tracks(2), 32, 16, tmp_path / "run", resume=True, progress=False)


def test_load_run_rebuilds_the_model(tmp_path):
    fit_toy(tmp_path / "run")
    model, config = runs.load_run(tmp_path / "run")
    assert config["genres"] == ["a", "b", "c"] and config["clip_frames"] == 32
    data = toy_tracks(1, seed=9)
    probabilities = training.clip_probabilities(model, data, 32, 16, torch.device("cpu"))
    assert [int(p.sum(axis=0).argmax()) for p in probabilities] == [0, 1, 2]


KILLABLE = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[2])
    import test_training as t
    from genrekit.runs import RunDir
    t.register_tiny()
    original = RunDir.save_checkpoint
    def slow_save(self, which, state):
        original(self, which, state)
        if which == "last":
            time.sleep(1.5)  # time for the test to kill us after a finished epoch
    RunDir.save_checkpoint = slow_save
    t.fit_toy(sys.argv[1], epochs=4)
""")


def test_a_run_killed_after_an_epoch_resumes_to_the_same_result(tmp_path):
    reference = fit_toy(tmp_path / "reference", epochs=4)
    script = tmp_path / "killable.py"
    script.write_text(KILLABLE)
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, str(script), str(run), os.path.dirname(__file__)],
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            curves = run / "curves.csv"
            if curves.exists() and len(curves.read_text().splitlines()) >= 2:
                break
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    done = len((run / "curves.csv").read_text().splitlines()) - 1
    assert 1 <= done < 4, "the run was not interrupted part-way"
    assert not (run / "metrics.json").exists()
    resumed = training.fit(TrainConfig(model=TINY, epochs=4, seed=0), ["a", "b", "c"], toy_tracks(seed=1),
                           toy_tracks(2, seed=2), toy_tracks(3, seed=3), 32, 16, run, resume=True, progress=False)
    for part in ("valid", "test"):
        for key in ("track_accuracy", "clip_accuracy", "confusion", "recall"):
            assert resumed[part][key] == reference[part][key], (part, key)
        # The killed half ran in another process: float sums may differ in the last bits.
        assert resumed[part]["loss"] == pytest.approx(reference[part]["loss"], rel=1e-5)
    assert resumed["best_epoch"] == reference["best_epoch"]
    resumed_last = (run / "curves.csv").read_text().splitlines()[-1].split(",")
    reference_last = (tmp_path / "reference" / "curves.csv").read_text().splitlines()[-1].split(",")
    assert resumed_last[0] == reference_last[0] == "4"
    np.testing.assert_allclose([float(v) for v in resumed_last[1:6]], [float(v) for v in reference_last[1:6]],
                               rtol=1e-5)


def test_train_on_the_synthetic_dataset_reaches_high_track_accuracy(tmp_path):
    config = TrainConfig(model=TINY, dataset="synthetic", root=str(tmp_path / "synthetic"),
                         dataset_options={"n_per_genre": 6, "seconds": 8.0}, split="holdout:4/1/1",
                         features="yang2019", clip_frames=64, clip_hop=32, model_args={"width": 32},
                         epochs=12, batch_size=32, cache=str(tmp_path / "cache"))
    metrics = training.train(config, tmp_path / "run", progress=False)
    assert metrics["split"].startswith("holdout 4/1/1")
    assert metrics["test"]["n_tracks"] == 10
    assert metrics["valid"]["track_accuracy"] >= 0.8 and metrics["test"]["track_accuracy"] >= 0.8


@pytest.mark.parametrize("baseline", ["knn", "logistic_regression", "random_forest", "svm", "decision_tree"])
def test_classical_baselines_share_the_engine(tmp_path, baseline):
    genres = ["a", "b", "c"]
    config = TrainConfig(model=baseline)
    metrics = training.fit_classical(config, genres, toy_tracks(10, seed=1), toy_tracks(3, seed=2),
                                     toy_tracks(3, seed=3), 1, 1, tmp_path / "run", progress=False)
    assert metrics["test"]["track_accuracy"] >= 0.6 and metrics["test"]["n_tracks"] == 9
    assert (tmp_path / "run" / "model.pkl").exists() and (tmp_path / "run" / "metrics.json").exists()


def test_unknown_options_are_refused():
    with pytest.raises(ConfigError, match="unknown training option"):
        TrainConfig.from_dict({"model": TINY, "learning_rate": 1})
    with pytest.raises(ConfigError, match="sampling"):
        TrainConfig(model=TINY, sampling="shuffle").resolved()
    with pytest.raises(ConfigError, match="unknown model"):
        TrainConfig(model="nope").resolved()


def test_standardisation_statistics_equal_those_of_all_training_frames():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(-40, 10, (5, int(rng.integers(50, 100)))).astype(np.float32) for _ in range(7)]
    standardize = training._standardizer(TrackData(["t"] * 7, arrays, np.zeros(7, dtype=np.int64)))
    stacked = np.concatenate(arrays, axis=1)
    np.testing.assert_allclose(standardize.mean.numpy().ravel(), stacked.mean(axis=1), atol=1e-4)
    np.testing.assert_allclose(standardize.std.numpy().ravel(), stacked.std(axis=1), rtol=1e-5)


def test_fit_leaves_the_callers_data_and_global_state_alone(tmp_path):
    short = toy_tracks(1, seed=4, frames=20)  # shorter than a clip: padded for training, not in place
    short.features = [f.astype(np.float64) for f in short.features]
    before = [f.copy() for f in short.features]
    threads = torch.get_num_threads()
    torch.manual_seed(99)
    expected = torch.rand(1).item()
    torch.manual_seed(99)
    training.fit(TrainConfig(model=TINY, epochs=1, threads=1), ["a", "b", "c"], toy_tracks(seed=1), short,
                 toy_tracks(1, seed=3), 32, 16, tmp_path / "run", progress=False)
    assert all(a.dtype == np.float64 and a.shape == (16, 20) and np.array_equal(a, b)
               for a, b in zip(short.features, before))
    assert torch.get_num_threads() == threads and torch.rand(1).item() == expected


def test_classical_models_resolve_to_one_fit():
    knn = TrainConfig(model="knn", epochs=30, batch_size=8, dataset="coarse-mel").resolved()
    assert (knn.features, knn.epochs, knn.batch_size, knn.aggregation, knn.patience) == ("coarse_mel", 1, 1, "vote", 0)
    head = TrainConfig(model="musicnn_msd_logreg").resolved()
    assert (head.features, head.aggregation, head.optimizer) == ("musicnn_msd", "mean", {})
