"""genrekit.features.specs: the papers' presets, shapes, content hashes, round trips."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from conftest import SR, noise, tone
from genrekit import audio, features
from genrekit.features import specs

# (bands, clip frames, clip hop, clips in a 30 s GTZAN track of 661,794 samples)
EXPECTED = {
    "yang2019": (256, 128, 64, 19),
    "dong2018": (64, 256, 128, 19),
    "wang": (128, 660, 660, 3),
    "zhang2016": (513, 128, 65, 18),
    "senac2017_stft": (513, 128, 65, 18),
    "summary": (75, 1, 1, 1),
}


def test_every_preset_is_expected():
    assert set(features.names()) >= set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_shapes_on_synthetic_audio(name):
    spec = features.get(name)
    bands, frames, hop, _ = EXPECTED[name]
    y = noise(6.0, seed=3, amplitude=0.2) + tone(330.0, 6.0, amplitude=0.3)
    values = spec.compute(y)
    assert values.dtype == np.float32 and values.shape == (bands, spec.n_frames(y.shape[0]))
    assert np.isfinite(values).all()
    assert (spec.clip.frames, spec.clip.hop) == (frames, hop)
    cut = spec.clips(values)
    assert cut.shape[1:] == (bands, frames)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_shapes_on_real_gtzan_audio(samples_dir, name):
    spec = features.get(name)
    bands, frames, _, n_clips = EXPECTED[name]
    y = audio.load(samples_dir / "blues.00000.wav", sr=spec.sr)
    assert y.shape == (661794,)
    values = spec.compute(y)
    assert values.shape[0] == bands and np.isfinite(values).all()
    assert spec.clips(values).shape == (n_clips, bands, frames)


def test_scales_match_the_papers_definitions():
    y = noise(3.0, seed=4, amplitude=0.2)
    mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=256, n_mels=64, pad_mode="constant")
    np.testing.assert_allclose(features.get("dong2018").compute(y), np.log1p(mel), rtol=1e-3, atol=1e-6)
    wang = features.get("wang").compute(y)
    assert wang.min() == 0.0 and wang.max() == pytest.approx(1.0)
    yang = features.get("yang2019").compute(y)
    assert yang.max() == 0.0 and yang.min() >= -80.0
    stft = features.get("zhang2016").compute(y)
    ref = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=1024, hop_length=512, window="hamming",
                                                      pad_mode="constant")), ref=np.max)
    np.testing.assert_allclose(stft, ref, atol=2e-2)


def test_content_hash_ignores_name_and_clip_and_sees_every_number():
    base = features.get("yang2019")
    assert base.key() == features.get("yang2019").key()
    assert base.replace(name="other", clip={"hop": 10}).key() == base.key()
    for change in ({"n_mels": 128}, {"hop_length": 256}, {"scale": "log1p"}, {"sr": 16000}, {"fmax": 8000.0}):
        assert base.replace(**change).key() != base.key(), change
    assert features.get("zhang2016").key() == features.get("senac2017_stft").key()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_to_dict_from_dict_round_trip(name):
    spec = features.get(name)
    assert features.from_dict(spec.to_dict()) == spec


def test_from_dict_with_a_preset_base():
    spec = features.from_dict({"preset": "yang2019", "n_mels": 128, "clip": {"frames": 64, "hop": 32}})
    assert spec.n_mels == 128 and spec.clip.frames == 64 and spec.n_fft == 1024


def test_register_adds_a_preset():
    spec = features.LogMelSpec(name="test_tiny", n_mels=16)
    try:
        specs.register(spec)
        assert features.get("test_tiny") is spec
    finally:
        specs.PRESETS.pop("test_tiny")


def test_clip_seconds_are_about_three_for_the_3_s_papers():
    assert features.get("yang2019").clip_seconds == pytest.approx(2.97, abs=0.01)
    assert features.get("dong2018").clip_seconds == pytest.approx(2.97, abs=0.01)
    assert features.get("zhang2016").clip.hop * features.get("zhang2016").hop_seconds == pytest.approx(1.5, abs=0.02)


def test_which_presets_stream():
    from genrekit.models import transfer  # noqa: F401  (registers the embedding presets)

    streaming = {n for n in features.names() if features.get(n).streams}
    assert streaming >= {"yang2019", "dong2018", "wang", "zhang2016", "summary", "coarse_mel", "senac2017_music"}
    assert not streaming & {"musicnn", "musicnn_coarse", "musicnn_msd", "musicnn_msd_coarse"}
