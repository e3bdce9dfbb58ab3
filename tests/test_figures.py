"""genrekit.explain.figures and the ``genrekit plot`` command: PNGs of the right size, clean errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import SR, noise, tone, write
from genrekit.apps.cli import app
from genrekit.errors import AudioError
from genrekit.explain import figures

runner = CliRunner()


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def chords(seconds: float = 4.0) -> np.ndarray:
    half = seconds / 2
    first = tone(261.63, half, amplitude=0.2) + tone(329.63, half, amplitude=0.2) + tone(392.0, half, amplitude=0.2)
    second = tone(349.23, half, amplitude=0.2) + tone(440.0, half, amplitude=0.2) + tone(523.25, half, amplitude=0.2)
    return np.concatenate([first, second]) + noise(seconds, amplitude=0.01)


def test_plot_music_features_writes_a_png_of_the_requested_size(tmp_path):
    path = figures.plot_music_features(chords(), SR, tmp_path / "deep" / "features.png", title="two chords",
                                       width=900, height=600)
    assert path == tmp_path / "deep" / "features.png" and png_size(path) == (900, 600)


def test_plot_music_features_draws_silence(tmp_path):
    path = figures.plot_music_features(np.zeros(2 * SR, dtype=np.float32), SR, tmp_path / "silence.png")
    assert png_size(path) == (1400, 800)


def test_plot_command_draws_a_wav(tmp_path):
    wav = write(tmp_path / "track.wav", chords(5.0))
    out = tmp_path / "track.png"
    result = runner.invoke(app, ["plot", "music-features", str(wav), "--out", str(out), "--width", "1000",
                                 "--height", "500"])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and png_size(out) == (1000, 500)


def test_plot_command_default_size_and_help(tmp_path):
    wav = write(tmp_path / "track.wav", chords(3.0))
    result = runner.invoke(app, ["plot", "music-features", str(wav), "-o", str(tmp_path / "a.png")])
    assert result.exit_code == 0, result.output
    assert png_size(tmp_path / "a.png") == (1400, 800)
    for command in (["plot", "--help"], ["plot", "music-features", "--help"]):
        helped = runner.invoke(app, command)
        assert helped.exit_code == 0 and "Usage" in helped.output


def test_plot_command_rejects_a_bad_file(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    result = runner.invoke(app, ["plot", "music-features", str(bad), "--out", str(tmp_path / "b.png")])
    assert result.exit_code != 0 and isinstance(result.exception, AudioError)
    assert not (tmp_path / "b.png").exists()
    missing = runner.invoke(app, ["plot", "music-features", str(bad), "--out", str(tmp_path / "c.png"),
                                  "--width", "10"])
    assert missing.exit_code == 2  # below the minimum size: a usage error


@pytest.mark.filterwarnings("error")
def test_plot_music_features_uses_precomputed_values(tmp_path):
    from genrekit.features import music

    y = chords(3.0)
    values = music.compute(y)
    path = figures.plot_music_features(y, SR, tmp_path / "v.png", values=values, width=640, height=400)
    assert png_size(path) == (640, 400)
