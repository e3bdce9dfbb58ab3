"""genrekit.explain.spectrogram: Hz and mel spectrograms of the same STFT, a preset's input, errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import SR, noise, tone
from genrekit import features
from genrekit.errors import FeatureError
from genrekit.explain import spectrogram


def test_hz_and_mel_of_a_tone_peak_at_its_frequency():
    hz, mel, centres = spectrogram.hz_and_mel(tone(1000.0, 3.0), SR)
    assert hz.shape[0] == 513 and mel.shape[0] == 256 and hz.shape[1] == mel.shape[1] == 130
    assert abs(hz.max()) < 1e-3 and hz.min() >= -80 and mel.min() >= -80
    assert abs(np.argmax(hz.mean(axis=1)) * SR / 1024 - 1000) < SR / 1024
    assert abs(centres[np.argmax(mel.mean(axis=1))] - 1000) < 60
    # The mel scale gives the low frequencies more rows: half the bands lie below ~2 kHz.
    assert centres[len(centres) // 2] < 2500


def test_segment_and_its_errors():
    y = noise(4.0)
    assert spectrogram.segment(y, SR, 1.0, 3.0).shape == (3 * SR,)
    with pytest.raises(FeatureError, match="too short for a 3 s segment from 2 s"):
        spectrogram.segment(y, SR, 2.0, 3.0, name="x.wav")
    with pytest.raises(FeatureError, match="log-mel preset"):
        spectrogram.hz_and_mel(y, SR, spec="zhang2016")


def test_plots_have_the_expected_size(tmp_path):
    y = tone(440.0, 3.0) + noise(3.0)
    with Image.open(spectrogram.plot_hz_mel(y, SR, tmp_path / "hz-mel.png", title="t")) as image:
        assert image.size == (800, 320)
    music = features.get("senac2017_music")
    values = np.random.default_rng(0).random((8, 200)).astype(np.float32)
    with Image.open(spectrogram.plot_spec_input(values, music, tmp_path / "music.png")) as image:
        assert image.size == (960, 360)
    with pytest.raises(FeatureError):
        spectrogram.plot_spec_input(values[0], music, tmp_path / "bad.png")
