"""genrekit.features.spectral equals librosa's definitions (to float32 rounding)."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal

from conftest import SR, noise, tone
from genrekit.features import spectral


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman"])
@pytest.mark.parametrize("length", [512, 1023, 1024])
def test_windows_equal_scipy_periodic(name, length):
    np.testing.assert_allclose(spectral.window(name, length, length),
                               scipy.signal.get_window(name, length, fftbins=True), atol=1e-6)


def test_short_window_is_centred_in_the_fft():
    w = spectral.window("hann", 400, 512)
    assert w.shape == (512,) and w[:56].sum() == 0 and w[-56:].sum() == 0


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [(22050, 1024, 256, 0.0, None), (22050, 512, 64, 0.0, None),
                                                      (16000, 400, 40, 20.0, 7600.0), (44100, 2048, 128, 0.0, 8000.0)])
def test_mel_filterbank_equals_librosa(sr, n_fft, n_mels, fmin, fmax):
    weights, first, last = spectral.mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    full = np.zeros((n_mels, n_fft // 2 + 1), np.float32)
    full[:, first:last] = weights.T
    np.testing.assert_allclose(full, librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax),
                               atol=1e-7)


def test_hz_mel_round_trip():
    hz = np.array([0.0, 100.0, 999.0, 1000.0, 4000.0, 11025.0])
    np.testing.assert_allclose(spectral.mel_to_hz(spectral.hz_to_mel(hz)), hz, rtol=1e-9)
    np.testing.assert_allclose(spectral.hz_to_mel(hz), librosa.hz_to_mel(hz), rtol=1e-9)


@pytest.mark.parametrize("n_fft,hop,window", [(1024, 512, "hann"), (512, 256, "hann"), (1024, 512, "hamming")])
def test_power_spectrogram_equals_librosa_stft(n_fft, hop, window):
    y = noise(2.0, seed=1, amplitude=0.3) + tone(440.0, 2.0)
    ours = spectral.power_spectrogram(y, n_fft, hop, window_name=window)
    ref = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, window=window, center=True, pad_mode="constant")) ** 2
    assert ours.shape == ref.T.shape == (spectral.n_frames(y.shape[0], hop), n_fft // 2 + 1)
    np.testing.assert_allclose(ours.T, ref, rtol=2e-3, atol=1e-6 * ref.max())


def test_mel_spectrogram_and_db_equal_librosa():
    y = noise(3.0, seed=2, amplitude=0.2)
    ours = spectral.mel_spectrogram(y, SR, 1024, 512, 256)
    ref = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=512, n_mels=256, pad_mode="constant")
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-6 * ref.max())
    np.testing.assert_allclose(spectral.power_to_db(ours), librosa.power_to_db(ref, ref=np.max), atol=1e-3)


def test_power_to_db_floor_and_reference():
    S = np.array([1.0, 0.1, 1e-12], np.float32)
    np.testing.assert_allclose(spectral.power_to_db(S, top_db=None), [0.0, -10.0, -100.0], atol=1e-4)
    np.testing.assert_allclose(spectral.power_to_db(S, top_db=80.0), [0.0, -10.0, -80.0], atol=1e-4)
    np.testing.assert_allclose(spectral.power_to_db(S, top_db=None, ref=0.1), [10.0, 0.0, -90.0], atol=1e-4)
    assert np.isfinite(spectral.power_to_db(np.zeros(4, np.float32))).all()


def test_minmax():
    np.testing.assert_allclose(spectral.minmax(np.array([-80.0, -40.0, 0.0])), [0.0, 0.5, 1.0])
    assert not spectral.minmax(np.full(3, -5.0)).any()


def test_frames_are_centred_views():
    y = np.arange(10, dtype=np.float32)
    framed = spectral.frames(y, 4, 2)
    assert framed.shape == (6, 4)
    np.testing.assert_array_equal(framed[0], [0, 0, 0, 1])
    np.testing.assert_array_equal(framed[1], [0, 1, 2, 3])
    assert spectral.n_frames(10, 2) == 6 and spectral.n_frames(10, 2, center=False, n_fft=4) == 4
