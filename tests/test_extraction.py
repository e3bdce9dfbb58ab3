"""genrekit.features.extraction: parallel extraction, cache hits, invalidation, resume after a kill, memory
that does not grow with a recording's length."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import noise, tone, write
from genrekit import datasets, features
from genrekit.features import streaming


@pytest.fixture
def tree(tmp_path):
    for g, genre in enumerate(("low", "high")):
        for i in range(3):
            write(tmp_path / "music" / genre / f"{i}.wav", tone(200.0 * (g * 10 + 1), 3.0) + noise(3.0, seed=i))
    return datasets.folder(tmp_path / "music")


@pytest.mark.parametrize("workers", [1, 2])
def test_extract_computes_then_hits_the_cache(tree, tmp_path, workers):
    report = features.extract(tree, "yang2019", cache=tmp_path / "cache", workers=workers, progress=False)
    assert sorted(report.computed) == sorted(t.id for t in tree) and not report.failed and not report.cached
    assert report.audio_seconds == pytest.approx(18.0, abs=0.1)
    again = features.extract(tree, "yang2019", cache=tmp_path / "cache", workers=workers, progress=False)
    assert len(again.cached) == 6 and not again.computed
    direct = features.compute_features(tree[0].path, "yang2019")
    stored, _ = features.load_features(tree, "yang2019", cache=tmp_path / "cache", progress=False)
    np.testing.assert_array_equal(stored[tree[0].id], direct)
    assert "6 cached" in again.summary()


def test_a_changed_file_is_recomputed(tree, tmp_path):
    features.extract(tree, "dong2018", cache=tmp_path / "cache", workers=1, progress=False)
    changed = tree[1]
    write(changed.path, tone(3000.0, 3.0))
    os.utime(changed.path, ns=(10**9, 10**9))
    report = features.extract(tree, "dong2018", cache=tmp_path / "cache", workers=1, progress=False)
    assert report.computed == [changed.id] and len(report.cached) == 5
    stored, _ = features.load_features(tree, "dong2018", cache=tmp_path / "cache", progress=False)
    np.testing.assert_allclose(stored[changed.id], features.compute_features(changed.path, "dong2018"))


def test_a_changed_spec_is_recomputed(tree, tmp_path):
    features.extract(tree, "yang2019", cache=tmp_path / "cache", workers=1, progress=False)
    report = features.extract(tree, features.get("yang2019").replace(n_mels=64), cache=tmp_path / "cache",
                              workers=1, progress=False)
    assert len(report.computed) == 6


def test_progress_lines_when_not_a_terminal(tree, tmp_path, capsys):
    features.extract(tree, "dong2018", cache=tmp_path / "cache", workers=1, progress=True)
    err = capsys.readouterr().err
    assert "features dong2018: 6/6" in err


KILLABLE = textwrap.dedent("""
    import sys
    from genrekit import datasets, features
    if __name__ == "__main__":
        tracks = datasets.folder(sys.argv[1])
        features.extract(tracks, "summary", cache=sys.argv[2], workers=2, progress=False)
""")


def test_resume_after_a_killed_extraction(tmp_path):
    for i in range(40):
        write(tmp_path / "music" / ("a" if i % 2 else "b") / f"{i:02d}.wav", noise(6.0, seed=i))
    tracks = datasets.folder(tmp_path / "music")
    script = tmp_path / "killable.py"
    script.write_text(KILLABLE)
    cache_root = tmp_path / "cache"
    entries = lambda: [p for p in cache_root.glob("summary-*/*/*.npy") if not p.name.startswith(".")]  # noqa: E731
    process = subprocess.Popen([sys.executable, str(script), str(tmp_path / "music"), str(cache_root)],
                               start_new_session=True, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180  # start-up alone can take a minute on a loaded machine
        while len(entries()) < 4 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process.poll() is None or len(entries()) >= 4, \
            f"the extraction ended early ({process.returncode}): {process.stderr.read()[-2000:]!r}"
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the parent and its worker processes, mid-write
        process.wait()
        time.sleep(0.3)  # let the kernel finish off the workers before counting
    done_before = len(entries())
    assert 4 <= done_before < 40, "the extraction was not interrupted part-way; make it longer"
    report = features.extract(tracks, "summary", cache=cache_root, workers=2, progress=False)
    assert len(report.cached) == done_before
    assert len(report.computed) == 40 - done_before and not report.failed
    assert len(entries()) == 40 and not list(cache_root.glob("summary-*/*/.tmp-*"))
    stored, _ = features.load_features(tracks, "summary", cache=cache_root, progress=False)
    for track in tracks[:3]:
        np.testing.assert_allclose(stored[track.id], features.compute_features(track.path, "summary"), rtol=1e-5)


# Memory does not grow with a recording's length ---------------------------------------------
MEASURE = textwrap.dedent("""
    import json, resource, sys
    from genrekit import features
    from genrekit.datasets.base import Track
    from genrekit.pool import tune_process

    tune_process()  # a worker's thread and allocator settings
    spec, cache, *paths = sys.argv[1:]
    peaks = []
    for i, path in enumerate(paths):
        report = features.extract([Track(str(i), path, "x")], spec, cache=cache, workers=1, progress=False)
        assert report.computed == [str(i)], report.failed
        peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(peaks))
""")


def long_wav(path, seconds: float, sr: int = 22050):
    """A WAV of ``seconds`` (a 10 s pattern of a chord, gaps and noise, tiled), written block by block."""
    import soundfile as sf

    t = np.arange(10 * sr) / sr
    chord = (np.sin(2 * np.pi * 220.0 * t) + np.sin(2 * np.pi * 277.18 * t)) * (np.sin(2 * np.pi * 0.5 * t) > -0.5)
    pattern = (0.3 * chord + 0.05 * np.random.default_rng(0).standard_normal(t.size)).astype(np.float32)
    total = int(round(seconds * sr))
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, subtype="PCM_16") as out:
        for start in range(0, total, pattern.size):
            out.write(pattern[:min(pattern.size, total - start)])
    return path


def peaks_mb(spec: str, cache, *paths) -> list[float]:
    """Peak RSS (MB, ``ru_maxrss``) of a fresh process after extracting each of ``paths`` in turn, in-process
    with a worker's settings (what one extraction worker does)."""
    done = subprocess.run([sys.executable, "-c", MEASURE, spec, str(cache), *map(str, paths)], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def lengths(tmp_path_factory):
    """5 s (warm-up: lazy imports, FFT plans), 2 minutes and 10 minutes."""
    folder = tmp_path_factory.mktemp("lengths")
    return [long_wav(folder / f"{seconds}.wav", seconds) for seconds in (5, 120, 600)]


#: MB a 10-minute recording may take beyond a 2-minute one: what the row store keeps before it
#: spills and the sink gathers before it writes (both fill up only for the longer file), plus slack
#: (per-frame values that stay in memory, e.g. the 8-row music map, are kilobytes per minute).
GROWTH_MB = (streaming.SPILL_BYTES + streaming.WRITE_BYTES) / 2**20 + 20


@pytest.mark.parametrize("name", [n for n in features.names() if features.get(n).streams])
def test_extraction_memory_does_not_grow_with_the_recording(name, lengths, tmp_path):
    warm, short, long = peaks_mb(name, tmp_path / "cache", *lengths)
    assert long - short < GROWTH_MB, (f"{name}: the peak grew by {long - short:.0f} MB from a 2-minute to a 10-minute "
                                      f"recording (after warm-up {warm:.0f} MB, then {short:.0f} MB, {long:.0f} MB)")
    assert long - warm < 300, f"{name}: {long - warm:.0f} MB above the warm-up's peak for a 10-minute recording"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in features.names() if features.get(n).streams])
def test_an_hour_long_recording_takes_under_500_mb_per_worker(name, tmp_path):
    """The issue's case: one hour (``senac2017_music`` took 7.6 GB, ``yang2019`` 1.9 GB). Bound: 500 MB above
    the peak after importing and extracting a 5 s file in the same process."""
    files = long_wav(tmp_path / "warm.wav", 5), long_wav(tmp_path / "hour.wav", 3600)
    warm, hour = peaks_mb(name, tmp_path / "cache", *files)
    assert hour - warm < 500, f"{name}: {hour - warm:.0f} MB above the warm-up's {warm:.0f} MB for one hour"
