"""genrekit.features.streaming: segments of whole frames, sinks, the spilling row store, and every
preset computed from a file in small blocks equal to the whole-file computation."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SR, noise, write
from genrekit import audio, features
from genrekit.trim import Trimmed


from genrekit.datasets.base import Track
from genrekit.errors import FeatureError
from genrekit.features import extraction, spectral, streaming
from genrekit.features.streaming import ArraySink, NpySink, RowStore, centred_segments, two_passes


@pytest.mark.parametrize("n", [0, 1, 511, 512, 513, 30_001])
@pytest.mark.parametrize("frame_length,hop,per", [(1024, 512, 3), (4096, 512, 7), (512, 256, 1000)])
def test_segments_hold_exactly_the_centred_frames_of_the_whole_signal(n, frame_length, hop, per):
    y = noise(n / SR, seed=n) if n else np.zeros(0, np.float32)
    whole = spectral.frames(y, frame_length, hop)
    for size in (1, 700, 10**6):
        blocks = [y[i:i + size] for i in range(0, n, size)]
        pieces = list(centred_segments(blocks, frame_length, hop, per))
        assert [first for first, _ in pieces] == list(range(0, whole.shape[0], per))
        joined = np.concatenate([spectral.frames(s, frame_length, hop, center=False) for _, s in pieces])
        assert np.array_equal(joined, whole)


def test_a_stereo_block_is_refused():
    with pytest.raises(FeatureError, match="mono"):
        list(centred_segments([np.zeros((100, 2), np.float32)], 64, 32, 4))


@pytest.mark.parametrize("limit", [None, 100, 1000])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_npy_sink_writes_what_numpy_saves(tmp_path, limit, order):
    array = np.random.default_rng(0).standard_normal((7, 53)).astype(np.float32)
    np.save(tmp_path / "numpy.npy", array)
    path = tmp_path / "out.npy"
    starts = list(range(0, 53, 10))
    with open(path, "w+b") as stream:
        sink = NpySink(stream, limit)
        sink.start(array.shape)
        for first in starts if order == "forward" else starts[::-1]:
            sink.write(first, array[:, first:first + 10])
        sink.flush()
    assert path.read_bytes() == (tmp_path / "numpy.npy").read_bytes()


def test_row_store_spills_to_an_unnamed_file_and_reads_back_in_order(tmp_path):
    rows = np.arange(1000 * 3, dtype=np.float32).reshape(1000, 3)
    with RowStore(3, tmp_path, limit=1000) as store:
        for i in range(0, 1000, 37):
            store.append(rows[i:i + 37])
        assert store.file is not None and len(store) == 1000
        assert list(tmp_path.iterdir()) == []  # nothing named: a killed process leaves no file behind
        chunks = list(store.chunks(128))
    assert [first for first, _ in chunks] == list(range(0, 1000, 128))
    assert np.array_equal(np.concatenate([c for _, c in chunks]), rows)
    with RowStore(3) as store:  # no folder: in memory, whatever the size
        store.append(rows)
        assert store.file is None and np.array_equal(next(store.chunks())[1], rows)


def test_two_passes_reads_a_one_segment_signal_once_and_a_longer_one_twice():
    y = noise(3.0)
    for per, reads, segments in ((10_000, 1, 1), (40, 2, 4)):
        calls, seen = [0], []

        def blocks():
            calls[0] += 1
            return (y,)

        count = two_passes(blocks, 1024, 512, per, lambda first, segment: ("state", first),
                           lambda first, segment, state: seen.append((first, state)))
        assert (calls[0], count) == (reads, segments)
        expected_state = [("state", 0)] if segments == 1 else [None] * segments
        assert [state for _, state in seen] == expected_state


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """2 minutes with the loudest passage late (so the first blocks cannot know the track's peak),
    a silent gap (MinRMS), a chord change (HCDF, key clarity) and noise; 44.1 kHz stereo, resampled."""
    sr = 44100
    t = np.arange(120 * sr) / sr
    chord = np.where(t < 70, np.sin(2 * np.pi * 261.63 * t) + np.sin(2 * np.pi * 329.63 * t),
                     np.sin(2 * np.pi * 293.66 * t) + np.sin(2 * np.pi * 369.99 * t))
    y = 0.2 * chord + 0.05 * np.random.default_rng(0).standard_normal(t.size)
    y[(t > 30) & (t < 33)] = 0.0
    y[(t > 95) & (t < 97)] *= 3.0
    return write(tmp_path_factory.mktemp("streaming") / "long.wav", np.stack([y, 0.8 * y], 1).astype(np.float32), sr)


@pytest.mark.parametrize("name", [n for n in features.names() if features.get(n).streams])
def test_every_preset_streamed_in_small_blocks_equals_the_whole_file_computation(name, recording, tmp_path,
                                                                                  monkeypatch):
    """Extraction decodes 7 s at a time, computes 97 frames per segment and spills per-frame values
    to disk after 64 kB; the cached result must equal the spec computed on the whole signal at once
    (one segment: the whole-track computation, value for value)."""
    spec = features.get(name)
    # Extraction reads the music (genrekit.trim: DC offset and the silence around it removed, the same
    # samples whatever the block sizes).
    y = np.concatenate(list(Trimmed([audio.load(recording, sr=spec.sr)], spec.sr)))
    whole = ArraySink()
    spec.stream(lambda: (y,), whole, block_frames=spec.n_frames(y.shape[0]) + 1)

    monkeypatch.setattr(extraction, "BLOCK_SECONDS", 7.0)
    monkeypatch.setattr(type(spec), "block_frames", 97)
    monkeypatch.setattr(streaming, "SPILL_BYTES", 64 << 10)
    report = features.extract([Track("long", str(recording), "x")], spec, cache=tmp_path, workers=1, progress=False)
    assert report.computed == ["long"], report.failed
    stored = features.FeatureCache(tmp_path, spec).get(recording)
    assert stored.shape == whole.array.shape
    np.testing.assert_allclose(stored, whole.array, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(spec.compute(y), whole.array, rtol=1e-5, atol=1e-5)  # compute() streams too
