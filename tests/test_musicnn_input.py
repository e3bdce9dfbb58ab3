"""genrekit.features.musicnn_input: musicnn's own front end, and the coarse-mel adapter."""

import numpy as np
import pytest

from conftest import SHARED_DATA, SR, noise, tone
from genrekit import audio, features
from genrekit.errors import FeatureError
from genrekit.features import musicnn_input as mi, spectral

REFERENCE = SHARED_DATA / "musicnn-reference" / "musicnn_tf_reference.npz"


@pytest.fixture(scope="module")
def reference():
    if not REFERENCE.is_file():
        pytest.skip(f"{REFERENCE} not present")
    with np.load(REFERENCE) as data:
        return {"clips": data["clips"].tolist(), "inputs": data["inputs"]}


def test_front_end_equals_musicnns_own_inputs_on_real_gtzan(reference, samples_dir):
    # musicnn's inputs went through float16: values agree to its rounding (one float16 step of the
    # mel is at most 4.2e-4 after log10(10000 x + 1)), and nearly all cells exactly.
    for clip, expected in zip(reference["clips"], reference["inputs"]):
        y = audio.load(samples_dir / f"{clip}.wav", sr=mi.SR)
        ours = mi.patches(mi.mel_from_audio(y))[:10]
        assert ours.shape == expected.shape == (10, 187, 96)
        difference = np.abs(ours - expected)
        assert difference.max() < 5e-4, clip
        assert (difference > 1e-6).mean() < 1e-3, clip


def test_spec_is_the_front_end_band_major():
    y = noise(3.5, sr=mi.SR)
    spec = features.get("musicnn")
    values = spec.compute(y)
    assert values.shape == (96, spec.n_frames(len(y))) and values.dtype == np.float32
    np.testing.assert_array_equal(values.T, mi.mel_from_audio(y))
    assert spec.clips(values).shape == (1, 96, 187)


def test_projection_keeps_a_flat_spectrum_flat_below_the_top_bands():
    # White noise has equal power per FFT bin at any resolution: after projection every musicnn band
    # (but the two with the resampler's roll-off) holds its filter's weight times that power, times GAIN_DB.
    source = spectral.mel_filterbank(mi.COARSE_SR, mi.COARSE_N_FFT, mi.COARSE_MELS)[0].sum(axis=0)
    target = spectral.mel_filterbank(mi.SR, mi.N_FFT, mi.N_MELS)[0].sum(axis=0)
    projected = mi.coarse_projection() @ source.astype(np.float64)
    expected = target * 10 ** (mi.GAIN_DB / 10)
    np.testing.assert_allclose(projected[1:-2], expected[1:-2], rtol=0.02)
    assert projected[-1] < 0.2 * expected[-1]


def test_coarse_adapter_covers_the_clip_at_musicnns_frame_rate():
    db = np.full((128, 387), -80.0, np.float32)
    db[:, 200:] = 0.0                                      # loud from column 200 (15.5 s) on
    x = mi.mel_from_coarse(db)
    assert x.shape == (1875, 96) and x.dtype == np.float32   # ~30 s at 16 ms
    loud = np.flatnonzero(x[:, 40] > x[:, 40].min() + 1)
    onset = mi.coarse_frame_times(387)[199:201].mean()       # halfway between the two columns
    assert abs(loud[0] * mi.HOP / mi.SR - onset) < mi.HOP / mi.SR
    assert x.max() == pytest.approx(float(mi.log_compress(
        mi.coarse_projection() @ np.full(128, 10 ** (mi.PEAK_DB / 10))).max()), rel=1e-5)


def test_coarse_adapter_is_level_free():
    db = np.random.default_rng(0).uniform(-80, 0, (128, 50)).astype(np.float32)
    db[0, 0] = 0.0
    np.testing.assert_allclose(mi.mel_from_coarse(db), mi.mel_from_coarse(db - 7.0), rtol=1e-5)


def test_coarse_spec_from_audio_equals_the_adapter_on_the_coarse_preset():
    y = tone(440.0, 4.0) + noise(4.0)
    spec = features.get("musicnn_coarse")
    values = spec.compute(y)
    np.testing.assert_array_equal(values, spec.from_source(features.get("coarse_mel").compute(y)))
    assert values.shape == (96, spec.n_frames(len(y)))


def test_coarse_adapter_tracks_musicnns_input_on_real_gtzan(reference, samples_dir):
    # Not equal (coarse-mel keeps one frame in 3.3 and no absolute level), but close in shape.
    spec = features.get("musicnn_coarse")
    for clip, expected in zip(reference["clips"], reference["inputs"]):
        ours = mi.patches(spec.compute(audio.load(samples_dir / f"{clip}.wav", sr=SR)).T)[:10]
        assert ours.shape == expected.shape
        assert np.corrcoef(ours.ravel(), expected.ravel())[0, 1] > 0.7, clip


def test_patches():
    x = np.arange(400 * 96, dtype=np.float32).reshape(400, 96)
    cut = mi.patches(x)
    assert cut.shape == (2, 187, 96) and np.shares_memory(cut, x)
    np.testing.assert_array_equal(cut[1, 0], x[187])
    assert mi.patches(x[:10]).shape == (1, 187, 96)
    with pytest.raises(FeatureError):
        mi.patches(x[:0])
    with pytest.raises(FeatureError):
        mi.mel_from_coarse(np.zeros((64, 10)))
