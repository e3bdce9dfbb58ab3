"""Shared fixtures: paths to ../shared/data (tests using it skip when it is absent) and
small generated signals and files."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GENREKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
SAMPLES = SHARED_DATA / "gtzan-samples"
SPLITS = SHARED_DATA / "gtzan-splits"
COARSE_MEL = SHARED_DATA / "gtzan-coarse-mel"
# The musicnn 0.1.0 wheel (pip download --no-deps musicnn==0.1.0), for the tests that re-read its checkpoints.
MUSICNN_WHEEL = os.environ.get("GENREKIT_MUSICNN_WHEEL")
SR = 22050


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never write into the user's ~/.cache from a test."""
    monkeypatch.setenv("GENREKIT_CACHE", str(tmp_path_factory.getbasetemp() / "genrekit-cache"))


@pytest.fixture
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} not present")
    return SAMPLES


@pytest.fixture
def coarse_mel_dir() -> Path:
    if not (COARSE_MEL / "gtzan_coarse_mel_dev.npz").is_file():
        pytest.skip(f"{COARSE_MEL} not present")
    return COARSE_MEL


@pytest.fixture
def splits_dir() -> Path:
    if not SPLITS.is_dir():
        pytest.skip(f"{SPLITS} not present")
    return SPLITS


@pytest.fixture
def musicnn_wheel() -> Path:
    """The musicnn 0.1.0 wheel named by ``GENREKIT_MUSICNN_WHEEL`` (skips without it)."""
    if not MUSICNN_WHEEL or not Path(MUSICNN_WHEEL).is_file():
        pytest.skip("set GENREKIT_MUSICNN_WHEEL to musicnn-0.1.0-py3-none-any.whl "
                    "(pip download --no-deps musicnn==0.1.0) to test against musicnn's own checkpoints")
    return Path(MUSICNN_WHEEL)


def tone(freq: float = 440.0, seconds: float = 1.0, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    """A sine, float32."""
    t = np.arange(int(round(seconds * sr))) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds: float = 1.0, sr: int = SR, seed: int = 0, amplitude: float = 0.1) -> np.ndarray:
    return (amplitude * np.random.default_rng(seed).standard_normal(int(round(seconds * sr)))).astype(np.float32)


def write(path, y: np.ndarray, sr: int = SR, **kwargs) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y, sr, **kwargs)
    return path


@pytest.fixture(scope="session")
def coarse_run(tmp_path_factory) -> Path:
    """A small network trained on synthetic audio through the bundled model's ``coarse_mel`` front end
    (zhang2016_nnet1, 39-column clips): a real run directory for inference, export, tagging and serving
    tests. About 10 s."""
    from genrekit.training import TrainConfig, train

    base = tmp_path_factory.mktemp("coarse-run")
    os.environ.setdefault("GENREKIT_CACHE", str(base / "cache"))
    config = TrainConfig(model="zhang2016_nnet1", dataset="synthetic", root=str(base / "audio"),
                         dataset_options={"n_per_genre": 4, "seconds": 8.0, "seed": 0}, features="coarse_mel",
                         split="holdout:2/1/1", epochs=4, seed=0, cache=str(base / "cache"))
    train(config, base / "run", progress=False)
    return base / "run"


@pytest.fixture(scope="session")
def coarse_model(coarse_run):
    """The :class:`genrekit.inference.Classifier` of :func:`coarse_run`."""
    from genrekit.inference import load_model

    return load_model(coarse_run)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "2m") -> Iterator[Path]:
    """A small RAM file system mounted at ``folder`` (created), to fill up for real; unmounted after.

    Skips the test when not root or when the mount fails (a container without the right to mount).
    """
    if os.geteuid() != 0:
        pytest.skip("filling a disk for real needs a small tmpfs, and mounting one needs root")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs at {folder}: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], capture_output=True)


def fill(folder: Path, leave: int) -> Path:
    """Write a filler file into ``folder`` that leaves about ``leave`` bytes free on its file system."""
    stat = os.statvfs(folder)
    filler = folder / "filler"
    with open(filler, "ab") as out:
        out.write(bytes(max(0, stat.f_bavail * stat.f_frsize - leave)))
    return filler


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 2 MB tmpfs in the test's folder (root only, see :func:`tmpfs`)."""
    with tmpfs(tmp_path / "small-disk") as folder:
        yield folder


def odd_files(folder) -> dict[str, str]:
    """Names with audio extensions that are not regular audio files, in ``folder``, and the words
    every command must give as the reason: a named pipe (opening it for reading would block), a
    character device (``/dev/zero`` would be read forever), a broken symbolic link and a loop."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.wav")
    os.symlink("/dev/zero", folder / "zero.mp3")
    os.symlink(folder / "gone" / "nothing.wav", folder / "dangling.wav")
    os.symlink("loop-b.flac", folder / "loop-a.flac")
    os.symlink("loop-a.flac", folder / "loop-b.flac")
    return {"pipe.wav": "not a regular file (a named pipe", "zero.mp3": "not a regular file (a character device",
            "dangling.wav": "a broken symbolic link", "loop-a.flac": "too many levels of symbolic links",
            "loop-b.flac": "too many levels of symbolic links"}


def long_folder(base, min_bytes: int = 1100) -> Path:
    """A folder whose absolute path is at least ``min_bytes`` bytes of UTF-8 (libsndfile refuses paths of
    1024 bytes or more), made of nested Japanese names of 210 bytes each (a name may have 255)."""
    folder = Path(base).absolute()
    while len(str(folder).encode()) < min_bytes:
        folder = folder / ("長いフォルダ名" * 10)
    folder.mkdir(parents=True)
    return folder


@contextmanager
def pipe_watch(pipe):
    """Watch a named pipe during a block: whoever opens it for reading (which blocks until a writer
    comes) gets a writer that closes at once, and reads an empty stream, so a regression fails the test
    instead of hanging it. Yields a list that is not empty once someone opened the pipe."""
    opened: list[bool] = []
    stop = threading.Event()

    def writer():
        while not stop.wait(0.1):
            try:
                fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)  # fails (ENXIO) while nobody reads
            except OSError:
                continue
            opened.append(True)
            os.close(fd)  # the reader sees the end of the stream

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield opened
    finally:
        stop.set()
        thread.join()
