"""genrekit.audio: decoding every format, mono mixing, resampling, ranges, streaming."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import soundfile as sf

from conftest import SR, long_folder, noise, odd_files, pipe_watch, tone, write
from genrekit import audio

FORMATS = {
    "wav": {},
    "flac": {},
    "ogg": {"format": "OGG", "subtype": "VORBIS"},
    "mp3": {"format": "MP3", "subtype": "MPEG_LAYER_III"},
    "au": {"format": "AU", "subtype": "PCM_16"},
    "aiff": {"format": "AIFF", "subtype": "PCM_16"},
}


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_every_format_decodes_to_the_same_tone(tmp_path, ext):
    y = tone(440.0, 2.0)
    path = write(tmp_path / f"tone.{ext}", y, **FORMATS[ext])
    decoded = audio.load(path, sr=SR)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    # Lossy codecs add encoder delay/padding of a few ms; lossless ones are exact in length.
    assert abs(decoded.shape[0] - y.shape[0]) <= (0 if ext in ("wav", "flac", "au", "aiff") else 2400)
    spectrum = np.abs(np.fft.rfft(decoded))
    peak_hz = np.argmax(spectrum) * SR / decoded.shape[0]
    assert abs(peak_hz - 440.0) < 2.0
    info = audio.info(path)
    assert info.sr == SR and info.channels == 1 and info.duration == pytest.approx(2.0, abs=0.2)


def test_lossless_formats_are_bit_exact(tmp_path):
    y = (np.round(tone(220.0, 0.5) * 32767) / 32768).astype(np.float32)
    for ext in ("wav", "flac", "au"):
        path = write(tmp_path / f"x.{ext}", y, **FORMATS[ext], **({} if ext == "au" else {"subtype": "PCM_16"}))
        np.testing.assert_array_equal(audio.load(path, sr=None), y)


def test_stereo_is_mixed_to_mono_and_kept_with_mono_false(tmp_path):
    left, right = tone(440.0, 1.0, amplitude=0.4), np.zeros(SR, dtype=np.float32)
    path = write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), subtype="FLOAT")
    mono = audio.load(path)
    np.testing.assert_allclose(mono, left / 2, atol=1e-6)
    both = audio.load(path, mono=False)
    assert both.shape == (2, SR)
    np.testing.assert_allclose(both[0], left, atol=1e-6)


@pytest.mark.parametrize("fmt, order", [("wav", ("FL", "FR", "FC", "LFE", "BL", "BR")),
                                        ("flac", ("FL", "FR", "FC", "LFE", "BL", "BR")),
                                        ("ogg", ("FL", "FC", "FR", "BL", "BR", "LFE"))])
def test_surround_is_down_mixed_as_players_do(tmp_path, fmt, order):
    """5.1: centre and surrounds at -3 dB, the LFE left out (ITU-R BS.775), in each container's channel order."""
    music, rumble = tone(440.0, 1.0, amplitude=0.2), tone(50.0, 1.0, amplitude=0.5)
    gains = {"FL": 1.0, "FR": 1.0, "FC": 1.0, "BL": 1.0, "BR": 1.0}
    channels = np.stack([rumble if name == "LFE" else gains[name] * music for name in order], axis=1)
    path = write(tmp_path / f"surround.{fmt}", channels, subtype="FLOAT" if fmt == "wav" else None)
    mono = audio.load(path)
    # The music in every channel but the LFE: the mix is the music, without the 50 Hz rumble.
    spectrum = np.abs(np.fft.rfft(mono))
    assert spectrum[50] < 0.02 * spectrum[440]
    np.testing.assert_allclose(mono, music, atol={"wav": 1e-5, "flac": 1e-3}.get(fmt, 0.02))  # float, 16-bit, lossy
    assert audio.load(path, mono=False).shape == (6, SR)


def test_resampling_changes_rate_and_keeps_the_pitch(tmp_path):
    path = write(tmp_path / "44k.wav", tone(1000.0, 1.0, sr=44100), sr=44100)
    y = audio.load(path, sr=SR)
    assert y.shape[0] == SR
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * SR / y.shape[0]
    assert abs(peak_hz - 1000.0) < 2.0
    assert audio.load(path, sr=None).shape[0] == 44100


def test_offset_and_duration_read_only_that_part(tmp_path):
    ramp = (np.arange(3 * SR) / (3 * SR)).astype(np.float32) * 0.9
    path = write(tmp_path / "ramp.wav", ramp, subtype="FLOAT")
    part = audio.load(path, sr=None, offset=1.0, duration=0.5)
    np.testing.assert_allclose(part, ramp[SR:SR + SR // 2], atol=1e-7)
    tail = audio.load(path, sr=None, offset=2.5)
    assert tail.shape[0] == SR // 2


def test_stream_blocks_concatenate_to_load(tmp_path):
    path = write(tmp_path / "n.wav", noise(5.0, sr=16000, amplitude=0.3), sr=16000, subtype="FLOAT")
    blocks = list(audio.stream(path, sr=SR, block_seconds=1.0))
    assert len(blocks) >= 5 and all(b.dtype == np.float32 for b in blocks)
    streamed = np.concatenate(blocks)
    whole = audio.load(path, sr=SR)
    assert abs(streamed.shape[0] - whole.shape[0]) <= 1
    n = min(streamed.shape[0], whole.shape[0])
    # soxr's streaming and one-shot modes agree except within a filter length of the ends.
    np.testing.assert_allclose(streamed[1000:n - 1000], whole[1000:n - 1000], atol=2e-3)


def test_stream_native_rate_is_exact(tmp_path):
    y = noise(2.5, amplitude=0.3)
    path = write(tmp_path / "n.wav", y, subtype="FLOAT")
    np.testing.assert_array_equal(np.concatenate(list(audio.stream(path, sr=None, block_seconds=1.0))), y)


def test_paths_of_more_than_1024_bytes_decode_in_every_format(tmp_path):
    folder = long_folder(tmp_path)  # libsndfile refuses such paths itself ("Supplied filename too long")
    y = tone(440.0, 2.0)
    for ext, options in FORMATS.items():
        short = write(tmp_path / f"tone.{ext}", y, **options)
        path = folder / f"曲.{ext}"
        short.rename(path)
        assert len(str(path).encode()) > 1100
        assert audio.info(path).sr == SR and audio.info(path).path == str(path)
        decoded = audio.load(path, sr=SR)
        assert abs(decoded.shape[0] - y.shape[0]) <= 2400
        assert np.concatenate(list(audio.stream(path, block_seconds=0.5))).shape == decoded.shape
        assert audio.load(path, sr=None, offset=0.5, duration=0.5).shape == (SR // 2,)


def test_truncation_is_still_detected_in_long_paths(tmp_path):
    folder = long_folder(tmp_path)
    for ext, says in (("wav", "header declares"), ("ogg", "end-of-stream"), ("mp3", "could be decoded"),
                      ("flac", "decoding failed partway")):
        data = write(tmp_path / f"cut.{ext}", noise(4.0), **FORMATS[ext]).read_bytes()
        path = folder / f"cut.{ext}"
        path.write_bytes(data[:len(data) // 2])
        with pytest.raises(audio.AudioError, match="truncated") as caught:
            audio.load(path)
        assert says in caught.value.reason and caught.value.path == str(path)


def test_only_regular_files_are_opened(tmp_path):
    reasons = odd_files(tmp_path)
    with pipe_watch(tmp_path / "pipe.wav") as opened:
        for name, says in reasons.items():
            for read in (audio.info, audio.load, lambda p: list(audio.stream(p)), audio.check_file,
                         audio.open_regular):
                with pytest.raises(audio.AudioError) as caught:
                    read(tmp_path / name)
                assert says in caught.value.reason and caught.value.path == str(tmp_path / name)
        for device in ("/dev/null", "/dev/zero"):
            with pytest.raises(audio.AudioError, match="not a regular file \\(a character device\\)"):
                audio.load(device)
    assert not opened  # refused from its status: the pipe was never opened


def test_a_socket_is_not_a_regular_file(tmp_path):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(tmp_path / "s.wav"))
        with pytest.raises(audio.AudioError, match="not a regular file \\(a socket\\)"):
            audio.load(tmp_path / "s.wav")
    finally:
        server.close()


def test_reasons_never_call_a_file_damaged_before_reading_it(tmp_path):
    locked = write(tmp_path / "locked.wav", tone())
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user who reads any file (root)")
        with pytest.raises(audio.AudioError, match="permission denied") as caught:
            audio.load(locked)
        assert "damaged" not in caught.value.reason and "replace" not in caught.value.reason
    finally:
        locked.chmod(0o644)


def test_is_silent():
    assert audio.is_silent(np.zeros(100, np.float32))
    assert audio.is_silent(np.full(100, 1e-5, np.float32))
    assert not audio.is_silent(tone(440.0, 0.1))
    assert audio.is_silent(np.zeros(0, np.float32))


def test_real_gtzan_au_and_wav_are_identical(samples_dir):
    for name in ("blues.00000", "classical.00000"):
        au = audio.load(samples_dir / f"{name}.au", sr=None)
        wav = audio.load(samples_dir / f"{name}.wav", sr=None)
        assert au.shape == (661794,)
        np.testing.assert_array_equal(au, wav)


def test_real_gtzan_samples_decode(samples_dir):
    for path in sorted(samples_dir.glob("*.wav")):
        y = audio.load(path)
        assert y.dtype == np.float32 and 29.9 < y.shape[0] / SR < 30.2
        assert np.isfinite(y).all() and 0.05 < np.abs(y).max() <= 1.0
        assert sf.info(str(path)).samplerate == SR
