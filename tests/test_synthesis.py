"""Tests of genrekit.datasets.synthesis: rendering, files on disk, idempotence, errors.

The ``synthetic()`` tests at the end go through ``genrekit.datasets.genre_folders`` and
``genrekit.datasets.gtzan_genre``; everything else only needs this module and soundfile.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genrekit.files import cache_home

from genrekit.datasets.synthesis import (
    FORMATS,
    GENERATOR_VERSION,
    GENRES,
    LAYOUTS,
    MANIFEST_NAME,
    render,
    synthetic,
    track_seed,
    write_tree,
)
from genrekit.errors import ConfigError

SR = 22050
SECONDS = 2.0
N = int(round(SECONDS * SR))
MP3_FRAME = 1152  # samples per MPEG-1/2 layer III frame; the decoder may pad or trim one or two


def _files(tree: Path) -> dict[str, int]:
    """Every file below ``tree`` (relative path -> mtime in ns)."""
    return {str(p.relative_to(tree)): p.stat().st_mtime_ns for p in sorted(tree.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- render


@pytest.mark.parametrize("genre", GENRES)
def test_render_shape_dtype_peak(genre):
    y = render(genre, seconds=SECONDS, seed=3)
    assert y.dtype == np.float32
    assert y.shape == (N,)
    assert np.isfinite(y).all()
    assert 0.05 < np.abs(y).max() <= 1.0
    # Not a constant or a near-silent signal: there is music in every second.
    assert all(np.sqrt(np.mean(y[i : i + SR] ** 2)) > 0.005 for i in range(0, N - SR + 1, SR))


def test_render_length_follows_seconds_and_sr():
    assert render("jazz", seconds=1.2345, sr=16000).shape == (round(1.2345 * 16000),)
    assert render("metal", seconds=0.5, sr=44100).shape == (22050,)
    assert render("classical", seconds=0.01).shape == (round(0.01 * SR),)


def test_render_is_deterministic_and_varies():
    a = render("reggae", seconds=SECONDS, seed=7)
    assert np.array_equal(a, render("reggae", seconds=SECONDS, seed=7))
    assert not np.allclose(a, render("reggae", seconds=SECONDS, seed=8))
    assert not np.allclose(a, render("rock", seconds=SECONDS, seed=7))


def test_track_seed_differs_across_genres_and_tracks():
    seeds = {track_seed(0, g, i) for g in GENRES for i in range(5)}
    assert len(seeds) == 50
    assert track_seed(0, "pop", 1) == track_seed(0, "pop", 1) != track_seed(1, "pop", 1)


def _flatness_and_flux(y: np.ndarray) -> tuple[float, float]:
    """Mean spectral flatness and mean positive spectral flux (dB per frame) of ``y``.

    Frames of 1024 samples, hop 512, Hann window.
    """
    frames = np.lib.stride_tricks.sliding_window_view(y, 1024)[::512] * np.hanning(1024)
    mag = np.abs(np.fft.rfft(frames, axis=1)) + 1e-10
    flatness = np.exp(np.mean(np.log(mag**2), axis=1)) / np.mean(mag**2, axis=1)
    # dB with a floor 60 dB under the peak, so the noise floor's fluctuations do not count.
    db = 20.0 * np.log10(mag)
    db = np.maximum(db, db.max() - 60.0)
    flux = np.maximum(np.diff(db, axis=0), 0.0).mean(axis=1)
    return float(flatness.mean()), float(flux.mean())


def test_genres_are_separable_on_simple_statistics():
    # Classical (sustained tonal strings, no drums) against metal (distorted chords, double
    # kick, cymbals): every metal track must be flatter (noisier) and more percussive
    # (larger spectral flux) than every classical track. A broken style would fail this.
    classical = [_flatness_and_flux(render("classical", 3.0, seed=s)) for s in range(3)]
    metal = [_flatness_and_flux(render("metal", 3.0, seed=s)) for s in range(3)]
    assert max(f for f, _ in classical) < min(f for f, _ in metal)
    assert max(x for _, x in classical) < min(x for _, x in metal)


def test_tempo_ranges_order_genres():
    # Beat period from the autocorrelation of the low-band (kick) onset envelope: reggae's
    # one-drop / hip-hop's boom-bap are much slower than disco's four-on-the-floor.
    def kick_period(y):
        frames = np.lib.stride_tricks.sliding_window_view(y, 1024)[::256] * np.hanning(1024)
        low = np.abs(np.fft.rfft(frames, axis=1))[:, 1:8].sum(axis=1)  # ~20-150 Hz
        onset = np.maximum(np.diff(low), 0.0)
        onset = onset - onset.mean()
        ac = np.correlate(onset, onset, "full")[onset.size - 1 :]
        lo, hi = int(0.3 * SR / 256), int(2.5 * SR / 256)  # 24..200 bpm
        return (lo + int(np.argmax(ac[lo:hi]))) * 256 / SR

    disco = [kick_period(render("disco", 8.0, seed=s)) for s in range(2)]
    reggae = [kick_period(render("reggae", 8.0, seed=s)) for s in range(2)]
    # Disco's strongest kick period is a beat or two (0.47..1.05 s at 114..128 bpm); the
    # one-drop kick comes once a bar (2.9..3.6 s) or, folded, at least every 1.5 s.
    assert max(disco) < 1.1 < 1.5 < min(reggae)


# ------------------------------------------------------------------------- write_tree


@pytest.mark.parametrize(
    "layout, fmt",
    [("folder", "wav"), ("genres", "au"), ("genres_original", "wav"),
     ("folder", "flac"), ("folder", "ogg"), ("folder", "mp3")],
)
def test_write_tree_layouts_and_formats(tmp_path, layout, fmt):
    tree = write_tree(tmp_path, n_per_genre=1, seconds=SECONDS, seed=0, layout=layout, fmt=fmt)
    assert tree == (tmp_path if layout == "folder" else tmp_path / layout)
    assert sorted(p.name for p in tree.iterdir() if p.is_dir()) == list(GENRES)
    assert (tree / MANIFEST_NAME).is_file()
    for genre in GENRES:
        names = sorted(p.name for p in (tree / genre).iterdir())
        assert names == [f"{genre}.00000.{fmt}"]  # and no temp file left behind
        path = tree / genre / names[0]
        info = sf.info(str(path))
        assert info.format == FORMATS[fmt][0] and info.subtype == FORMATS[fmt][1]
        y, sr = sf.read(str(path), dtype="float32")
        assert sr == SR and y.ndim == 1
        if fmt == "mp3":
            assert abs(y.size - N) <= 2 * MP3_FRAME
        else:
            assert y.size == N
        assert 0.05 < np.abs(y).max() <= 1.0
    if fmt == "au":
        # Sun AU as GTZAN ships it: big-endian header magic ".snd", 16-bit linear PCM (3).
        head = (tree / "blues" / "blues.00000.au").read_bytes()[:16]
        assert head[:4] == b".snd" and int.from_bytes(head[12:16], "big") == 3


def test_write_tree_content_is_render_of_track_seed(tmp_path):
    tree = write_tree(tmp_path, n_per_genre=2, seconds=1.0, seed=5)
    for genre in ("blues", "hiphop"):
        a, _ = sf.read(str(tree / genre / f"{genre}.00000.wav"), dtype="float32")
        b, _ = sf.read(str(tree / genre / f"{genre}.00001.wav"), dtype="float32")
        expected = render(genre, 1.0, SR, track_seed(5, genre, 0))
        assert np.abs(a - expected).max() <= 1.0 / 32768 + 1e-6  # PCM_16 rounding only
        assert not np.allclose(a, b)  # tracks of a genre differ


def test_write_tree_is_bit_identical_across_runs(tmp_path):
    a = write_tree(tmp_path / "a", n_per_genre=1, seconds=1.0, seed=2, fmt="flac")
    b = write_tree(tmp_path / "b", n_per_genre=1, seconds=1.0, seed=2, fmt="flac")
    for genre in GENRES:
        name = f"{genre}/{genre}.00000.flac"
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_write_tree_manifest_skips_regeneration(tmp_path):
    tree = write_tree(tmp_path, n_per_genre=2, seconds=1.0)
    manifest = json.loads((tree / MANIFEST_NAME).read_text())
    assert manifest["generator_version"] == GENERATOR_VERSION
    assert (manifest["n_per_genre"], manifest["seconds"], manifest["fmt"]) == (2, 1.0, "wav")
    before = _files(tree)
    assert len(before) == 21
    assert write_tree(tmp_path, n_per_genre=2, seconds=1.0) == tree
    assert _files(tree) == before  # nothing rewritten

    # A lost file is re-rendered alone.
    (tree / "jazz" / "jazz.00001.wav").unlink()
    write_tree(tmp_path, n_per_genre=2, seconds=1.0)
    after = _files(tree)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed <= {"jazz/jazz.00001.wav", MANIFEST_NAME}
    assert "jazz/jazz.00001.wav" in changed


def test_write_tree_new_arguments_rewrite_and_drop_stale_files(tmp_path):
    write_tree(tmp_path, n_per_genre=2, seconds=1.0)
    before = (tmp_path / "rock" / "rock.00000.wav").read_bytes()
    (tmp_path / "rock" / "notes.txt").write_text("mine")
    write_tree(tmp_path, n_per_genre=1, seconds=1.0, seed=1)
    assert sorted(p.name for p in (tmp_path / "rock").iterdir()) == ["notes.txt", "rock.00000.wav"]
    assert (tmp_path / "rock" / "rock.00000.wav").read_bytes() != before
    assert json.loads((tmp_path / MANIFEST_NAME).read_text())["seed"] == 1


def test_write_tree_interrupted_run_is_redone(tmp_path):
    # A run killed after some files: no manifest yet, so the next call renders everything.
    tree = write_tree(tmp_path, n_per_genre=1, seconds=1.0)
    (tree / MANIFEST_NAME).unlink()
    (tree / "pop" / "pop.00000.wav").write_bytes(b"half a file")
    write_tree(tmp_path, n_per_genre=1, seconds=1.0)
    y, sr = sf.read(str(tree / "pop" / "pop.00000.wav"))
    assert sr == SR and y.size == SR


@pytest.mark.parametrize(
    "kwargs, allowed",
    [
        ({"n_per_genre": 0}, ">= 1"),
        ({"n_per_genre": 1.5}, ">= 1"),
        ({"seconds": 0.0}, "positive"),
        ({"seconds": -3.0}, "positive"),
        ({"seconds": float("nan")}, "positive"),
        ({"layout": "flat"}, "genres_original"),
        ({"fmt": "aiff"}, "mp3"),
        ({"seed": -1}, ">= 0"),
        ({"sr": 100}, "8000"),
    ],
)
def test_bad_arguments_raise_config_error(tmp_path, kwargs, allowed):
    with pytest.raises(ConfigError, match=allowed):
        write_tree(tmp_path, **{"n_per_genre": 1, "seconds": 1.0, **kwargs})
    with pytest.raises(ConfigError, match=allowed):
        synthetic(root=tmp_path, **{"n_per_genre": 1, "seconds": 1.0, **kwargs})
    assert not any(tmp_path.iterdir())  # checked before anything is written


def test_render_bad_arguments():
    with pytest.raises(ConfigError, match="blues"):
        render("polka")
    with pytest.raises(ConfigError, match="positive"):
        render("rock", seconds=0)
    with pytest.raises(ConfigError, match=">= 0"):
        render("rock", seconds=1.0, seed=-2)


def test_layouts_and_formats_constants():
    assert LAYOUTS == ("folder", "genres", "genres_original")
    assert set(FORMATS) == {"wav", "au", "flac", "ogg", "mp3"}


# ---------------------------------------------- synthetic() (needs folder.py and gtzan.py)


def test_synthetic_folder_collection(tmp_path):
    collection = synthetic(n_per_genre=2, seconds=1.0, root=tmp_path)
    assert len(collection) == 20
    assert tuple(collection.genres) == GENRES
    assert sorted({t.genre for t in collection}) == list(GENRES)
    track = collection[0]
    assert Path(track.path).is_file()
    y = track.audio()
    assert y.dtype == np.float32 and abs(y.size - SR) <= 1


def test_synthetic_gtzan_layout(tmp_path):
    collection = synthetic(n_per_genre=1, seconds=1.0, root=tmp_path, layout="genres", fmt="au")
    assert len(collection) == 10
    assert not collection.skipped
    assert sorted(t.id for t in collection) == sorted(f"{g}.00000" for g in GENRES)
    assert all(t.path.endswith(".au") for t in collection)


def test_synthetic_default_root_is_per_arguments_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREKIT_CACHE", str(tmp_path / "cache"))
    assert cache_home() == tmp_path / "cache"
    a = synthetic(n_per_genre=1, seconds=1.0)
    a_root = Path(a[0].path).parents[1]
    assert a_root.parent == tmp_path / "cache" / "synthetic"
    mtimes = _files(a_root)
    again = synthetic(n_per_genre=1, seconds=1.0)
    assert Path(again[0].path).parents[1] == a_root and _files(a_root) == mtimes
    b = synthetic(n_per_genre=1, seconds=1.0, seed=1)
    assert Path(b[0].path).parents[1] != a_root
    assert len(list((tmp_path / "cache" / "synthetic").iterdir())) == 2
    assert os.path.commonpath([a_root, tmp_path]) == str(tmp_path)
