"""genrekit.features.summary: descriptor values on signals whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SR, noise, tone
from genrekit.features import summary


def _row(names, values, name):
    return values[names.index(name)]


def test_names_match_rows():
    values = summary.summary_vectors(tone(440.0, 2.0), SR)
    names = summary.feature_names()
    assert values.shape == (len(names), 1) == (75, 1)


def test_tone_centroid_zcr_rms_and_chroma():
    values = summary.summary_vectors(tone(880.0, 3.0, amplitude=0.5), SR)[:, 0]
    names = summary.feature_names()
    assert _row(names, values, "centroid_mean") == pytest.approx(880.0, rel=0.05)
    assert _row(names, values, "zcr_mean") == pytest.approx(2 * 880.0 / SR, rel=0.05)
    assert _row(names, values, "rms_mean") == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    chroma = [_row(names, values, f"chroma{i}_mean") for i in range(12)]
    assert int(np.argmax(chroma)) == 9  # A (pitch class 9 from C)


def test_noise_is_brighter_and_noisier_than_a_tone():
    names = summary.feature_names()
    t = summary.summary_vectors(tone(300.0, 2.0), SR)[:, 0]
    n = summary.summary_vectors(noise(2.0, amplitude=0.3), SR)[:, 0]
    for name in ("centroid_mean", "bandwidth_mean", "rolloff_mean", "zcr_mean"):
        assert _row(names, n, name) > 3 * _row(names, t, name), name


def test_tempo_of_a_click_track():
    y = np.zeros(8 * SR, np.float32)
    for beat in np.arange(0, 8, 0.5):  # 120 bpm
        start = int(beat * SR)
        y[start:start + 200] = noise(200 / SR, seed=int(beat * 10), amplitude=0.8)[:200]
    tempo = summary.summary_vectors(y, SR)[-1, 0]
    assert tempo == pytest.approx(120.0, rel=0.05) or tempo == pytest.approx(240.0, rel=0.05)


def test_segments():
    values = summary.summary_vectors(noise(10.0), SR, segment_seconds=3.0)
    assert values.shape == (75, 3)
    assert summary.summary_vectors(noise(1.0), SR, segment_seconds=3.0).shape == (75, 1)


def test_tempo_of_a_long_envelope_is_computed_in_blocks_with_librosa_s_value():
    """A 3-hour track's tempogram would take 1.4 GB at once; in blocks of frames it gives librosa's tempo."""
    import librosa

    rng = np.random.default_rng(0)
    onset = np.zeros(20_000, np.float32)
    onset[::22] = 1.0 + rng.random(onset[::22].size).astype(np.float32)  # about 117 bpm at hop 512
    onset += 0.1 * rng.random(onset.size).astype(np.float32)
    expected = librosa.feature.tempo(onset_envelope=onset, sr=SR, hop_length=512)[0]
    assert summary._tempo(onset, SR, 512, columns=1000) == pytest.approx(expected, rel=1e-6)
    assert summary._tempo(onset[:900], SR, 512, columns=1000) == librosa.feature.tempo(
        onset_envelope=onset[:900], sr=SR, hop_length=512)[0]
