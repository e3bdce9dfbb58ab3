"""The genrekit command: help everywhere, thin calls into the library, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import fill, noise, write
from genrekit.apps.cli import app

runner = CliRunner()
COMMANDS = ["dataset", "specs", "features", "train", "demo"]


def genrekit_command() -> list[str]:
    script = Path(sys.executable).with_name("genrekit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "genrekit.apps.cli"]


@pytest.mark.parametrize("command", [[]] + [[c] for c in COMMANDS])
def test_help_on_every_command(command):
    result = runner.invoke(app, command + ["--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("genrekit ")


def test_specs_lists_the_presets():
    result = runner.invoke(app, ["specs"])
    assert result.exit_code == 0
    for name in ("yang2019", "dong2018", "wang", "zhang2016", "senac2017_stft", "summary"):
        assert name in result.output


@pytest.fixture
def music(tmp_path):
    for genre in ("jazz", "rock"):
        for i in range(2):
            write(tmp_path / "music" / genre / f"{i}.wav", noise(3.5, seed=i + (genre == "rock") * 10))
    (tmp_path / "music" / "rock" / "broken.wav").write_bytes(b"not audio at all")
    return tmp_path / "music"


def test_features_command_extracts_and_caches_through_the_installed_script(music, tmp_path):
    cache = tmp_path / "cache"
    command = genrekit_command() + ["features", "--dataset", "folder", "--root", str(music), "--spec", "yang2019",
                                    "--cache", str(cache), "--json"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert len(report["computed"]) == 4 and not report["failed"]
    assert "skipped 1 unreadable" in first.stderr and "broken.wav" in first.stderr
    assert len(list(cache.glob("log_mel-*/*/[!.]*.npy"))) == 4
    second = json.loads(subprocess.run(command, capture_output=True, text=True, timeout=120).stdout)
    assert len(second["cached"]) == 4 and not second["computed"]


def test_user_errors_are_one_line_and_exit_2(tmp_path):
    result = subprocess.run(genrekit_command() + ["features", "--dataset", "gtzan", "--root", str(tmp_path / "nope")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    result = subprocess.run(genrekit_command() + ["features", "--dataset", "folder", "--root", str(tmp_path),
                                                  "--spec", "nope"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2


def test_dataset_command_shows_splits(music):
    result = runner.invoke(app, ["dataset", "--dataset", "folder", "--root", str(music), "--split", "holdout:1/1"])
    assert result.exit_code == 0, result.output
    assert "folder at" in result.output and "holdout 1/1 seed 0: train 2, valid 0, test 2" in result.output


def test_train_command_writes_metrics_json(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(genrekit_command() + [
        "train", "--model", "dong2018", "--dataset", "synthetic", "--root", str(tmp_path / "synthetic"),
        "--n-per-genre", "2", "--seconds", "4", "--split", "holdout:1/1", "--epochs", "2",
        "--cache", str(tmp_path / "cache"), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "dong2018" and metrics["epochs_run"] == 2 and metrics["test"]["n_tracks"] == 10
    assert "test: track accuracy" in result.stdout
    assert "epoch 2/2" in result.stderr  # one line per epoch when not on a terminal


def error_lines(stderr: str) -> list[str]:
    """The ``error:`` lines of a command's stderr, after checking that it printed no traceback."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_file_given_as_cache_folder_is_one_error_line(music, tmp_path):
    file = tmp_path / "cache.txt"
    file.write_text("a file, not a folder")
    result = subprocess.run(genrekit_command() + ["features", "--dataset", "folder", "--root", str(music),
                                                  "--cache", str(file)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [f"error: {file}: is a file, not a folder; give the feature cache a "
                                          "folder (it is created if missing)"]


def test_a_full_disk_stops_extraction_with_one_line_and_the_next_run_resumes(tmp_path, small_disk):
    """Twelve 3.5 s tracks make 155 kB entries; the disk has room for about four of them."""
    for i in range(12):
        write(tmp_path / "music" / ("jazz" if i % 2 else "rock") / f"{i}.wav", noise(3.5, seed=i))
    cache = small_disk / "cache"
    command = genrekit_command() + ["features", "--dataset", "folder", "--root", str(tmp_path / "music"),
                                    "--spec", "yang2019", "--cache", str(cache), "--workers", "2", "--json"]
    filler = fill(small_disk, 700_000)
    full = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert full.returncode == 2
    assert error_lines(full.stderr) == [f"error: disk full while writing {cache}: free some space and run the same "
                                        "command again; the features computed so far are kept, and the next run "
                                        "computes only the rest"]
    assert full.stderr.splitlines()[-1].startswith("error:")
    entries = list(cache.glob("log_mel-*/*/*.npy"))
    assert 0 < len(entries) < 12 and not list(cache.glob("log_mel-*/*/.tmp-*"))
    assert all(np.load(entry).shape[0] == 256 for entry in entries)

    filler.unlink()
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert len(report["cached"]) == len(entries) and len(report["computed"]) == 12 - len(entries)
    assert not report["failed"]


@pytest.mark.parametrize("arguments", [
    ["dataset", "--dataset", "synthetic", "--seconds", "nan"],
    ["features", "--dataset", "synthetic", "--seconds", "inf"],
    ["train", "--model", "zhang2016_nnet1", "--lr", "nan"],
    ["demo", "--seconds", "-inf"],
    ["explain", "spectrogram", "x.wav", "--out", "o", "--seconds", "nan"],
    ["explain", "spectrogram", "x.wav", "--out", "o", "--start", "inf"],
    ["explain", "strf", "--run", "r", "--out", "o", "--overlap", "nan"],
])
def test_float_options_refuse_nan_and_infinity(arguments, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, not into the checkout
    result = runner.invoke(app, arguments)
    said = " ".join(result.output.replace("│", " ").split())  # typer draws a box around the line
    assert result.exit_code == 2, result.output
    assert "is not allowed; give a finite number" in said


def test_features_take_a_preset_with_fields_changed():
    import typer

    from genrekit.apps.cli import _feature_option

    assert _feature_option("coarse_mel") == "coarse_mel" and _feature_option(None) is None
    assert _feature_option("coarse_mel:max_hz=10500,stretch=false") == {"preset": "coarse_mel", "max_hz": 10500,
                                                                        "stretch": False}
    for bad in ("coarse_mel:bogus=1", "coarse_mel:max_hz", "coarse_mel:phase=2"):
        with pytest.raises(typer.BadParameter):
            _feature_option(bad)
