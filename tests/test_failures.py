"""Bad input: every kind of unreadable file gives one clear error naming the file, and
batches (dataset indexing, feature extraction) go on with the rest."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SR, noise, odd_files, pipe_watch, tone, write
from genrekit import audio, datasets, features
from genrekit.errors import AudioError, ConfigError, DatasetError, FeatureError, GenrekitError
from genrekit.features import clips


def _truncate(path, fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def bad_files(tmp_path):
    """Each kind of bad file, with a word its error message must contain."""
    cases = {}
    cases["missing"] = (tmp_path / "nope.wav", "not found")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    cases["empty"] = (empty, "empty")
    cases["zero-length"] = (write(tmp_path / "zero.wav", np.zeros(0, np.float32)), "zero length")
    text = tmp_path / "notes.mp3"
    text.write_text("this is a text file, not audio\n" * 20)
    cases["not audio"] = (text, "not a recognised audio file")
    cases["truncated wav"] = (_truncate(write(tmp_path / "t.wav", tone(seconds=2.0))), "truncated")
    cases["truncated au"] = (_truncate(write(tmp_path / "t.au", tone(seconds=2.0), subtype="PCM_16")), "truncated")
    cases["truncated flac"] = (_truncate(write(tmp_path / "t.flac", noise(4.0))), "")
    cases["truncated ogg"] = (_truncate(write(tmp_path / "t.ogg", noise(4.0), format="OGG", subtype="VORBIS")), "")
    cases["truncated mp3"] = (_truncate(write(tmp_path / "t.mp3", noise(4.0), format="MP3")), "")
    cases["folder"] = (tmp_path, "folder")
    nan = write(tmp_path / "nan.wav", np.array([0.1, np.nan, 0.2] * 1000, np.float32), subtype="FLOAT")
    cases["nan"] = (nan, "NaN")
    return cases


def test_every_bad_file_raises_audio_error_naming_it(tmp_path):
    for kind, (path, word) in bad_files(tmp_path).items():
        with pytest.raises(AudioError) as caught:
            audio.load(path)
        message = str(caught.value)
        assert str(path) in message, kind
        assert word.lower() in message.lower(), (kind, message)
        assert caught.value.path == str(path)
        assert isinstance(caught.value, GenrekitError)


def test_stream_raises_for_bad_files_too(tmp_path):
    for kind, (path, _) in bad_files(tmp_path).items():
        with pytest.raises(AudioError):
            for _ in audio.stream(path, block_seconds=0.5):
                pass


def test_offset_past_the_end(tmp_path):
    path = write(tmp_path / "short.wav", tone(seconds=1.0))
    with pytest.raises(AudioError, match="beyond the end"):
        audio.load(path, offset=5.0)


def test_folder_skips_bad_files_with_reasons_and_keeps_the_rest(tmp_path):
    write(tmp_path / "rock" / "good.wav", noise(1.0))
    write(tmp_path / "jazz" / "good.flac", noise(1.0))
    (tmp_path / "jazz" / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    (tmp_path / "jazz" / "cover.jpg").write_bytes(b"\xff\xd8\xff")  # not an audio extension: ignored
    collection = datasets.folder(tmp_path)
    assert [t.id for t in collection] == ["jazz/good", "rock/good"]
    assert len(collection.skipped) == 1 and collection.skipped[0].path.endswith("broken.wav")
    assert "broken.wav" in collection.summary()


def test_dataset_errors_are_clear(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        datasets.folder(tmp_path / "absent")
    with pytest.raises(DatasetError, match="no sub-folders"):
        datasets.folder(tmp_path)
    (tmp_path / "rock").mkdir()
    with pytest.raises(DatasetError, match="no readable audio"):
        datasets.folder(tmp_path)
    with pytest.raises(DatasetError, match="no GTZAN genre folders"):
        datasets.gtzan(tmp_path / "rock")
    with pytest.raises(ConfigError, match="unknown dataset"):
        datasets.load("mnist", tmp_path)
    with pytest.raises(ConfigError, match="needs a root"):
        datasets.load("gtzan")


def test_extraction_reports_silent_short_and_broken_files_and_finishes_the_rest(tmp_path):
    write(tmp_path / "a" / "music.wav", noise(4.0))
    write(tmp_path / "a" / "silence.wav", np.zeros(4 * SR, np.float32))
    write(tmp_path / "b" / "blip.wav", noise(0.5))
    write(tmp_path / "b" / "music.wav", noise(4.0, seed=1))
    collection = datasets.folder(tmp_path)
    spec = features.get("yang2019").replace(clip={"short": "reject"})
    report = features.extract(collection, spec, cache=tmp_path / "cache", workers=1, progress=False)
    assert sorted(report.computed) == ["a/music", "b/music"]
    reasons = {f.track_id: f.reason for f in report.failed}
    assert set(reasons) == {"a/silence", "b/blip"}
    assert "silent" in reasons["a/silence"]
    assert "too short" in reasons["b/blip"] and "pad" in reasons["b/blip"]
    assert "a/silence" in report.summary()


def test_short_tracks_are_padded_under_the_pad_policy(tmp_path):
    path = write(tmp_path / "short.wav", noise(2.0))  # 2 s: more than half a clip of 2.97 s
    spec = features.get("yang2019")
    values = features.compute_features(path, spec)
    clips = spec.clips(values)
    assert clips.shape == (1, 256, 128)
    with pytest.raises(FeatureError, match="fewer than one clip"):
        features.clip_frames(values, 128, 64, short="reject", name="short")


def test_dataset_indexing_skips_pipes_devices_and_bad_links_by_name(tmp_path):
    write(tmp_path / "jazz" / "song.wav", noise(4.0))
    reasons = odd_files(tmp_path / "jazz")
    with pipe_watch(tmp_path / "jazz" / "pipe.wav") as opened:
        collection = datasets.folder(tmp_path)
    assert not opened
    assert [t.id for t in collection] == ["jazz/song"]
    skipped = {s.path.rsplit("/", 1)[-1]: s.reason for s in collection.skipped}
    assert set(skipped) == set(reasons)
    for name, says in reasons.items():
        assert says in skipped[name], (name, skipped[name])


def test_one_rule_for_short_input_in_features_and_predict(tmp_path, coarse_model):
    spec = coarse_model.spec
    least = clips.min_frames(spec.clip.frames, spec.clip.short) * spec.hop_seconds  # half a clip: 1.55 s
    write(tmp_path / "g" / "blip.wav", noise(0.1))
    write(tmp_path / "g" / "under.wav", noise(least - 0.2, seed=1))
    write(tmp_path / "g" / "over.wav", noise(least + 0.3, seed=2))
    collection = datasets.folder(tmp_path)
    report = features.extract(collection, spec, cache=tmp_path / "cache", workers=1, progress=False)
    predictions = {p.path.rsplit("/", 1)[-1]: p for p in coarse_model.predict(sorted(t.path for t in collection))}
    assert report.computed == ["g/over"] and predictions["over.wav"].ok
    extracted = {f.track_id: f.reason for f in report.failed}
    assert set(extracted) == {"g/blip", "g/under"}
    for name in ("blip", "under"):
        assert "too short" in extracted[f"g/{name}"] and f"{least:.2f} s" in extracted[f"g/{name}"]
        assert predictions[f"{name}.wav"].error == extracted[f"g/{name}"]  # the same words from both commands


def test_bad_specs_and_options():
    with pytest.raises(ConfigError, match="unknown feature spec"):
        features.get("nope")
    with pytest.raises(ConfigError, match="scale"):
        features.LogMelSpec(scale="cubic")
    with pytest.raises(ConfigError):
        features.ClipSpec(0, 1)
    with pytest.raises(ConfigError, match="policy"):
        features.ClipSpec(10, 5, short="wrap")
    with pytest.raises(ConfigError, match="unknown feature kind"):
        features.from_dict({"kind": "wavelet"})


def test_musicnn_bad_names_inputs_and_wheels(tmp_path):
    import torch

    from genrekit.models import musicnn

    with pytest.raises(ConfigError, match="unknown musicnn model 'MSD_vgg'; choose one of MSD_musicnn, MTT_musicnn"):
        musicnn.load("MSD_vgg")
    net = musicnn.Musicnn()
    for shape in [(187, 96), (2, 187, 128), (2, 0, 96)]:
        with pytest.raises(ConfigError, match=r"musicnn expects log-mel patches of shape \[batch, frames, 96\]"):
            net(torch.zeros(shape))
    fake = tmp_path / musicnn.WHEEL
    fake.write_bytes(b"not a wheel")
    with pytest.raises(GenrekitError, match=f"{fake}: SHA-256 .* is not that of"):
        musicnn.convert_wheel(fake, "MSD_musicnn")
    with pytest.raises(GenrekitError, match=r"nope\.whl: cannot read the musicnn wheel"):
        musicnn.convert_wheel(tmp_path / "nope.whl", "MSD_musicnn")
