"""``genrekit explain ...`` on models trained on the synthetic set: files written, numbers printed, clean errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import noise, write
from genrekit.apps.cli import app
from genrekit.errors import ConfigError, FeatureError
from genrekit.training import TrainConfig, train

runner = CliRunner()
SUBCOMMANDS = ["strf", "lda", "feature-maps", "spectrogram"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """dong2018 and yang2019_net1 trained 1 epoch on 40 synthetic 6 s tracks, on the coarse-mel features."""
    base = tmp_path_factory.mktemp("explain")
    data = ["--dataset", "synthetic", "--root", str(base / "synthetic"), "--n-per-genre", "4", "--seconds", "6",
            "--cache", str(base / "cache")]
    for model in ("dong2018", "yang2019_net1"):
        config = TrainConfig(model=model, dataset="synthetic", root=str(base / "synthetic"),
                             dataset_options={"n_per_genre": 4, "seconds": 6.0}, split="holdout:2/1/1",
                             features="coarse_mel", epochs=1, batch_size=16, cache=str(base / "cache"),
                             device="cpu", precision="fp32")
        train(config, base / model, progress=False)
    return base, data


def png(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.mark.parametrize("command", [[]] + [[c] for c in SUBCOMMANDS])
def test_help(command):
    result = runner.invoke(app, ["explain"] + command + ["--help"])
    assert result.exit_code == 0 and "Usage" in result.output
    if command:
        assert "--out" in result.output


def test_strf_command(runs, tmp_path):
    base, _ = runs
    result = runner.invoke(app, ["explain", "strf", "--run", str(base / "dong2018"), "--out", str(tmp_path),
                                 "--units", "2", "--max-segments", "60", "--cache", str(base / "cache")])
    assert result.exit_code == 0, result.output
    assert "block1: field 4 bands x 6 frames" in result.output and "held-out median R^2" in result.output
    arrays = np.load(tmp_path / "dong2018-strf.npz")
    assert arrays["block2.filters"].shape == (2, 10, 34) and arrays["block1.filters"].shape == (2, 4, 6)
    assert arrays["block2.r2"].shape == (2,)
    assert png(tmp_path / "dong2018-strf.png")[0] > 300


def test_strf_command_on_files_and_a_named_layer(runs, tmp_path):
    base, _ = runs
    files = sorted((base / "synthetic").rglob("*.wav"))[:4]
    result = runner.invoke(app, ["explain", "strf", "--run", str(base / "yang2019_net1"), "--out", str(tmp_path),
                                 "--layers", "conv2", "--units", "1", *map(str, files)])
    assert result.exit_code == 0, result.output
    arrays = np.load(tmp_path / "yang2019_net1-strf.npz")
    assert arrays["conv2.filters"].shape == (1, 128, 7) and bool(arrays["conv2.all_bands"])
    assert "all bands x 7 frames" in result.output


def test_lda_command(runs, tmp_path):
    base, data = runs
    result = runner.invoke(app, ["explain", "lda", "--run", str(base / "dong2018"), "--out", str(tmp_path),
                                 "--cache", str(base / "cache")])
    assert result.exit_code == 0, result.output
    assert "last hidden layer: separability" in result.output and "raw input (coarse_mel)" in result.output
    arrays = np.load(tmp_path / "dong2018-lda.npz")
    assert arrays["hidden.test"].shape[1] == 3 and arrays["raw.test"].shape == arrays["hidden.test"].shape
    assert 0 <= float(arrays["hidden.separability"]) <= 1 and list(arrays["genres"])[0] == "blues"
    assert png(tmp_path / "dong2018-lda.png") == (960, 480)


def test_feature_maps_command_two_runs_side_by_side(runs, tmp_path):
    base, data = runs
    result = runner.invoke(app, ["explain", "feature-maps", "--run", str(base / "yang2019_net1"), "--run",
                                 str(base / "dong2018"), "--out", str(tmp_path), "--cache", str(base / "cache")])
    assert result.exit_code == 0, result.output
    arrays = np.load(tmp_path / "feature-maps-yang2019_net1-dong2018.npz")
    assert arrays["yang2019_net1.conv3"].shape == (128, 36) and arrays["dong2018.block1"].shape[0] == 64
    assert png(tmp_path / "feature-maps-yang2019_net1-dong2018.png") == (960, int(80 * (2.0 * 5 + 0.6)))


def test_spectrogram_command(tmp_path):
    wav = write(tmp_path / "track.wav", noise(4.0))
    result = runner.invoke(app, ["explain", "spectrogram", str(wav), "--out", str(tmp_path / "out"), "--start", "0.5",
                                 "--spec", "dong2018"])
    assert result.exit_code == 0, result.output
    assert png(tmp_path / "out" / "track-hz-mel.png") == (800, 320)
    assert np.load(tmp_path / "out" / "track-hz-mel.npz")["mel"].shape == (256, 130)
    assert np.load(tmp_path / "out" / "track-dong2018.npz")["features"].shape[0] == 64


def test_errors_are_clear(runs, tmp_path):
    base, _ = runs
    result = runner.invoke(app, ["explain", "strf", "--run", str(base / "dong2018"), "--out", str(tmp_path),
                                 "--layers", "conv9", "--cache", str(base / "cache")])
    assert isinstance(result.exception, ConfigError) and "choose from block1, block2" in str(result.exception)
    short = write(tmp_path / "short.wav", noise(1.0))
    result = runner.invoke(app, ["explain", "feature-maps", "--run", str(base / "dong2018"), "--out", str(tmp_path),
                                 str(short)])
    assert isinstance(result.exception, FeatureError) and "too short" in str(result.exception)
    result = runner.invoke(app, ["explain", "spectrogram", str(short), "--out", str(tmp_path)])
    assert isinstance(result.exception, FeatureError) and "too short for a 3 s segment" in str(result.exception)
    result = runner.invoke(app, ["explain", "strf", "--run", str(base / "dong2018"), "--out", str(tmp_path),
                                 "--part", "everything"])
    assert result.exit_code == 2 and "--part" in result.output


def test_missing_run_directory_is_one_error_line(tmp_path):
    script = Path(sys.executable).with_name("genrekit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "genrekit.apps.cli"]
    done = subprocess.run(command + ["explain", "lda", "--run", str(tmp_path / "nowhere"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "not a finished run directory" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
