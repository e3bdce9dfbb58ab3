"""genrekit.features.music: Senac et al.'s eight music features, known answers, real clips, the map spec."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from conftest import SR, noise, tone, write
from genrekit import audio, datasets, features, models
from genrekit.errors import ConfigError, FeatureError
from genrekit.features import music
from genrekit.trim import Trimmed

# Every test here runs with warnings as errors: silence and odd signals must not warn either.
pytestmark = pytest.mark.filterwarnings("error")

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
HOP_S = 512 / SR


def inner(values: np.ndarray, margin: int = 12) -> np.ndarray:
    """Frames away from the zero-padded track edges."""
    return values[margin:-margin]


def midi(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def chord(notes, seconds: float) -> np.ndarray:
    return sum(tone(midi(n), seconds, amplitude=0.15) for n in notes)


C, F, G, A_MINOR = (60, 64, 67), (65, 69, 72), (67, 71, 74), (69, 72, 76)


# -- interface ------------------------------------------------------------------------------------
def test_compute_returns_the_eight_features_one_value_per_frame():
    y = noise(2.0, seed=1) + tone(330.0, 2.0, amplitude=0.3)
    values = music.compute(y)
    assert tuple(values) == music.FEATURES
    n = features.get("zhang2016").n_frames(y.shape[0])
    for name, curve in values.items():
        assert curve.shape == (n,) and curve.dtype == np.float32 and np.isfinite(curve).all(), name


def test_bad_parameters_and_signals_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown music-feature parameter"):
        music.compute(noise(1.0), colour="blue")
    with pytest.raises(ConfigError, match="Nyquist"):
        music.compute(noise(1.0), brightness_cutoff=15000.0)  # the paper's 15 kHz at 22,050 Hz
    with pytest.raises(FeatureError, match="mono"):
        music.compute(np.zeros((2, 100), dtype=np.float32))
    with pytest.raises(FeatureError, match="NaN"):
        music.compute(np.full(1000, np.nan, dtype=np.float32))


# -- known answers --------------------------------------------------------------------------------
@pytest.mark.parametrize("freq", [100.0, 440.0, 1000.0, 3000.0])
def test_zcr_of_a_sine_is_two_f_over_sr_per_sample(freq):
    zcr = inner(music.compute(tone(freq, 1.5))["zcr"])
    # 1023 pairs of neighbouring samples in a 1024-sample frame hold 2 f 1023 / sr crossings,
    # give or take one, and mirzerocross divides by the frame length (1024).
    expected = 2 * freq / SR * 1023 / 1024
    np.testing.assert_allclose(zcr, expected, atol=1.01 / 1024)
    assert abs(float(np.mean(zcr)) - expected) < 0.1 / 1024


def test_energy_is_the_rms():
    values = inner(music.compute(tone(440.0, 1.5, amplitude=0.5))["energy"])
    np.testing.assert_allclose(values, 0.5 / np.sqrt(2), rtol=2e-3)
    assert inner(music.compute(noise(1.5, amplitude=0.1))["energy"]).mean() == pytest.approx(0.1, rel=0.03)


def test_white_noise_is_flat_and_high_entropy_a_pure_tone_is_not():
    white = music.compute(noise(2.0, seed=2))
    pure = music.compute(tone(440.0, 2.0))
    # Geometric / arithmetic mean of a Rayleigh-distributed magnitude: sqrt(4 exp(-gamma) / pi) = 0.845.
    assert inner(white["flatness"]).mean() == pytest.approx(0.845, abs=0.02)
    assert inner(white["entropy"]).min() > 0.95
    assert inner(pure["flatness"]).max() < 0.2 and inner(pure["entropy"]).max() < 0.5
    assert inner(white["flatness"]).min() > inner(pure["flatness"]).max()


def test_brightness_at_the_mirtoolbox_cutoff_and_a_parameter_cutoff():
    low = inner(music.compute(tone(500.0, 1.5))["brightness"])
    high = inner(music.compute(tone(5000.0, 1.5))["brightness"])
    assert low.max() < 0.1 and high.min() > 0.95
    moved = inner(music.compute(tone(1000.0, 1.5), brightness_cutoff=500.0)["brightness"])
    assert moved.min() > 0.9


def test_plomp_levelt_curve():
    assert music.plomp_levelt(440.0, 440.0) == 0.0
    assert music.plomp_levelt(440.0, 466.0) == pytest.approx(music.plomp_levelt(466.0, 440.0))
    df = np.linspace(1, 200, 400)
    curve = music.plomp_levelt(440.0, 440.0 + df)
    # Maximum about 0.18, at about a quarter of the critical band (26 Hz at 440 Hz), then falling.
    assert curve.max() == pytest.approx(0.18, abs=0.005) and 20 < df[np.argmax(curve)] < 32
    assert music.plomp_levelt(440.0, 880.0) < 1e-5


def test_close_tones_are_rougher_than_an_octave_and_silence_is_smooth():
    beating = inner(music.compute(tone(440.0, 1.5) + tone(460.0, 1.5))["roughness"])
    octave = inner(music.compute(tone(440.0, 1.5) + tone(880.0, 1.5))["roughness"])
    single = inner(music.compute(tone(440.0, 1.5))["roughness"])
    assert beating.min() > 100 * octave.max() and beating.min() > 0.005
    assert (single == 0).all()
    assert (music.compute(np.zeros(SR, dtype=np.float32))["roughness"] == 0).all()


def _prominent_peaks(frame: np.ndarray, depth: float, threshold: float) -> set[int]:
    """Peaks by the definition, frame by frame: local maxima at least ``threshold`` high standing
    at least ``depth`` above the lowest point on the way to a higher candidate on either side
    (an earlier equal one counts as higher; a frame's edge as infinitely deep)."""
    x = np.concatenate([[-np.inf], frame, [-np.inf]])
    maxima = [k for k in range(1, x.size - 1) if x[k] > x[k - 1] and x[k] >= x[k + 1] and x[k] >= threshold]
    kept = set()
    for i, k in enumerate(maxima):
        left = [j for j in maxima[:i] if x[j] >= x[k]]
        right = [j for j in maxima[i + 1:] if x[j] > x[k]]
        base_left = x[left[-1]:k].min() if left else -np.inf
        base_right = x[k:right[0]].min() if right else -np.inf
        if x[k] - max(base_left, base_right) >= depth:
            kept.add(k - 1)
    return kept


def test_vectorised_peak_picking_equals_the_definition():
    rng = np.random.default_rng(5)
    spectra = np.abs(rng.standard_normal((12, 300))).astype(np.float32) * np.linspace(1, 0.05, 300)
    spectra[3] = 0.0  # an empty frame
    spectra[4, 10:20] = 1.0  # a plateau
    for contrast in (0.01, 0.05, 0.2):
        frame, bin_ = music.spectral_peaks(spectra, contrast)
        low, high = float(spectra.min()), float(spectra.max())
        for t in range(spectra.shape[0]):
            expected = _prominent_peaks(spectra[t], contrast * (high - low), low + contrast * (high - low))
            assert set(bin_[frame == t].tolist()) == expected, (contrast, t)


def test_vectorised_roughness_equals_the_sum_over_all_pairs():
    y = noise(1.0, seed=9) + tone(300.0, 1.0) + tone(317.0, 1.0)
    spec = features.get("senac2017_music")
    power = music.spectral.power_spectrogram(y, 4096, 512, window_name="hamming")
    magnitude = np.sqrt(power) * np.float32(2 / music.spectral.window("hamming", 4096, 4096).sum())
    freqs = np.fft.rfftfreq(4096, 1 / SR)
    fast = music.roughness(magnitude, freqs, spec.roughness_contrast)
    frame, bin_ = music.spectral_peaks(magnitude, spec.roughness_contrast)
    for t in range(0, magnitude.shape[0], 5):
        f = freqs[bin_[frame == t]]
        a = magnitude[t, bin_[frame == t]].astype(np.float64)
        pairs = np.triu(np.outer(a, a) * music.plomp_levelt(f[:, None], f[None, :]), 1)
        assert fast[t] == pytest.approx(pairs.sum(), rel=2e-5)


def test_key_strength_of_the_profiles_themselves():
    strengths = music.key_strength(np.stack([music.MAJOR_PROFILE, np.roll(music.MAJOR_PROFILE, 7),
                                             np.roll(music.MINOR_PROFILE, 9)]))
    assert [music.KEY_NAMES[i] for i in strengths.argmax(axis=1)] == ["C major", "G major", "A minor"]
    assert strengths.max(axis=1) == pytest.approx(1.0)
    assert (music.key_strength(np.zeros(12)) == 0).all()


def test_a_c_major_progression_is_clear_and_in_c_major_noise_is_not():
    progression = np.concatenate([chord(c, 1.0) for c in (C, F, G, C) * 3])
    strengths = music.key_strengths(progression)
    assert strengths.shape == (3, 24)  # 6 s windows starting at 0, 3 and 6 s
    assert music.best_key(strengths) == "C major"
    assert all(music.KEY_NAMES[i] == "C major" for i in strengths.argmax(axis=1))
    clear = music.compute(progression)["key_clarity"]
    hazy = music.compute(noise(12.0, seed=3))["key_clarity"]
    assert clear.min() > 0.9 and clear.min() > hazy.max() + 0.2
    # The same progression in G major is found in G major.
    shifted = np.concatenate([chord(np.add(c, 7), 1.0) for c in (C, F, G, C) * 2])
    assert music.best_key(music.key_strengths(shifted)) == "G major"


def test_key_clarity_repeats_each_window_value_over_its_frames():
    values = music.compute(np.concatenate([chord(C, 6.0), noise(6.0, seed=4) * 3]))["key_clarity"]
    changes = np.flatnonzero(np.diff(values))
    # 12 s: windows at 0, 3 and 6 s (centres 3, 6, 9 s): values change at 4.5 s and 7.5 s only.
    assert changes.size == 2
    np.testing.assert_allclose(changes * HOP_S, [4.5, 7.5], atol=2 * HOP_S)


def test_hcdf_peaks_at_chord_changes_and_stays_low_inside_chords():
    seconds = 1.0
    sequence = (C, F, G, A_MINOR, F, C)
    curve = music.compute(np.concatenate([chord(c, seconds) for c in sequence]))["hcdf"]
    per_chord = int(round(seconds / HOP_S))
    peaks = []
    for k in range(1, len(sequence)):
        at = int(round(k * seconds / HOP_S))
        near = curve[at - 6:at + 7]
        assert abs(int(np.argmax(near)) - 6) <= 3, k  # the peak is at the change, within 70 ms
        peaks.append(near.max())
    for k in range(len(sequence)):
        inside = curve[k * per_chord + 12:(k + 1) * per_chord - 12]  # more than 0.28 s from a change
        assert inside.max() < 0.2 * min(peaks), k


def test_chromagram_of_a_triad():
    chroma = inner(music.chromagram(chord(A_MINOR, 1.5)))
    top = np.argsort(chroma.mean(axis=0))[-3:]
    assert sorted(top.tolist()) == [0, 4, 9]  # C, E, A
    assert chroma.max() <= 1.0 + 1e-6


@pytest.mark.parametrize("y", [
    np.zeros(3 * SR, dtype=np.float32),
    np.zeros(0, dtype=np.float32),
    np.zeros(1, dtype=np.float32),
    np.full(SR, 0.5, dtype=np.float32),
    noise(2.0, amplitude=1e-7),
    np.concatenate([np.zeros(SR, dtype=np.float32), tone(440.0, 1.0), np.zeros(SR, dtype=np.float32)]),
], ids=["silence", "empty", "one-sample", "dc", "tiny-noise", "silence-tone-silence"])
def test_silence_and_odd_signals_give_finite_values_in_range(y):
    values = music.compute(y)
    for name, curve in values.items():
        low, high = music.RANGES[name]
        assert curve.shape == (1 + y.shape[0] // 512,) and np.isfinite(curve).all(), name
        assert curve.min() >= low and (high is None or curve.max() <= high), name
    if not y.any():
        assert all((curve == 0).all() for curve in values.values())


def test_quiet_frames_are_trimmed_as_mirtoolbox_minrms():
    loud_then_quiet = np.concatenate([noise(1.0, amplitude=0.3), noise(1.0, seed=1, amplitude=0.3 * 1e-3)])
    values = music.compute(loud_then_quiet)
    quiet = slice(-30, -5)
    assert (values["flatness"][quiet] == 0).all() and (values["entropy"][quiet] == 0).all()
    kept = music.compute(loud_then_quiet, flatness_min_rms=0.0, entropy_min_rms=0.0)
    assert kept["flatness"][quiet].min() > 0.7 and kept["entropy"][quiet].min() > 0.9


# -- real clips -----------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _real(path: str) -> dict[str, np.ndarray]:
    return music.compute(audio.load(path, sr=SR))


def test_real_clips_are_finite_and_in_range(samples_dir):
    for genre in GENRES:
        values = _real(str(samples_dir / f"{genre}.00000.wav"))
        for name, curve in values.items():
            low, high = music.RANGES[name]
            assert np.isfinite(curve).all() and curve.min() >= low, (genre, name)
            assert high is None or curve.max() <= high, (genre, name)
        assert values["roughness"].max() > 0 and values["hcdf"].max() > 0, genre
        assert 0.3 < values["key_clarity"].mean() < 0.95, genre


def test_real_clips_rank_plausibly(samples_dir):
    mean = {g: {k: float(v.mean()) for k, v in _real(str(samples_dir / f"{g}.00000.wav")).items()} for g in GENRES}
    by = lambda name: sorted(GENRES, key=lambda g: mean[g][name])  # noqa: E731
    # Metal is louder, noisier, brighter and rougher than classical (Senac, sec. 2.2.1-2.2.2).
    for name in ("energy", "zcr", "brightness", "roughness", "flatness", "entropy"):
        assert mean["metal"][name] > mean["classical"][name], name
    assert by("zcr")[-1] == "metal" and by("brightness")[-1] == "metal"
    assert by("energy")[0] == "classical" and by("roughness")[0] == "classical"


# -- the map spec ---------------------------------------------------------------------------------
def test_map_spec_is_the_paper_shape_and_pluggable():
    spec = features.get("senac2017_music")
    assert isinstance(spec, music.MusicFeatureMap) and spec.kind == "music_map" and spec.bands == 8
    assert spec.feature_names() == list(music.FEATURES)
    y = noise(30.0, seed=6, amplitude=0.05) + tone(220.0, 30.0, amplitude=0.2)
    assert y.shape[0] == 661500
    values = spec.compute(y)
    assert values.dtype == np.float32 and values.shape == (8, features.get("zhang2016").n_frames(y.shape[0]))
    assert spec.clips(values).shape == (18, 8, 128)
    np.testing.assert_array_equal(values[2], music.compute(y)["brightness"])
    info = models.info("senac2017_music")
    assert info.features == "senac2017_music" and info.n_bands == spec.bands and info.n_frames == spec.clip.frames


def test_map_spec_key_and_round_trip():
    spec = features.get("senac2017_music")
    others = {features.get(name).key() for name in features.names() if name != "senac2017_music"}
    assert spec.key() not in others
    assert features.from_dict(spec.to_dict()) == spec
    assert features.from_dict({"preset": "senac2017_music", "hcdf_sigma": 0.2}).hcdf_sigma == 0.2
    for change in ({"brightness_cutoff": 3000.0}, {"long_n_fft": 8192}, {"key_window": 4.0}, {"sr": 16000}):
        assert spec.replace(**change).key() != spec.key(), change
    assert spec.replace(name="other", clip={"hop": 32}).key() == spec.key()


def test_extract_caches_the_map(tmp_path):
    for i, genre in enumerate(("a", "b")):
        write(tmp_path / "music" / genre / f"{i}.wav", noise(4.0, seed=i) + tone(300.0 + 100 * i, 4.0))
    tracks = datasets.folder(tmp_path / "music")
    report = features.extract(tracks, "senac2017_music", cache=tmp_path / "cache", workers=2, progress=False)
    assert sorted(report.computed) == sorted(t.id for t in tracks) and not report.failed
    again = features.extract(tracks, "senac2017_music", cache=tmp_path / "cache", workers=1, progress=False)
    assert len(again.cached) == 2 and not again.computed
    stored, _ = features.load_features(tracks, "senac2017_music", cache=tmp_path / "cache", progress=False)
    for track in tracks:
        music = np.concatenate(list(Trimmed([audio.load(track.path, sr=SR)], SR)))  # what extraction reads
        expected = features.get("senac2017_music").compute(music)
        np.testing.assert_array_equal(stored[track.id], expected)
