"""Shared fixtures: paths to ../shared/data (tests using it skip when it is absent) and
small generated signals and files."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
#: The test Ray instances (local ones and the loopback cluster) run without token authentication, every
#: one of them: Ray 2.60 turns it on for `ray start --head` once ~/.ray/auth_token exists (a local ray.init
#: writes one), and a process that met one mode cannot start or join an instance of the other.
os.environ["RAY_AUTH_MODE"] = "disabled"

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


# A real Ray cluster ----------------------------------------------------------------------------------
#: Ports of this project's test clusters (another checkout's tests on the same machine use others).
RAY_PORTS = range(6390, 6400, 4)


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(parent, []).append(int(entry))
    return tree


def descendants(pids) -> list[int]:
    """Every process below ``pids`` (not themselves)."""
    tree, out, todo = _children(), [], list(pids)
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def command_line(pid: int) -> str:
    """A process's command line (a Ray worker's shows its title, e.g. ``ray::MapWorker(...)``); '' once gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class RayCluster:
    """A Ray cluster the tests started: the head's address and the ``ray start --block`` processes."""

    address: str
    nodes: list[subprocess.Popen] = field(default_factory=list)

    def processes(self, text: str) -> list[int]:
        """Pids of this cluster's processes whose command line holds ``text`` (only ours, never another
        checkout's cluster on the same machine)."""
        return [pid for pid in descendants(n.pid for n in self.nodes) if text in command_line(pid)]


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _start_node(args: list[str], folder: str, log: Path) -> subprocess.Popen:
    ray = Path(sys.executable).with_name("ray")
    command = [str(ray), "start", *args, "--node-ip-address", "127.0.0.1", "--num-cpus", "1",
               "--object-store-memory", "200000000", "--disable-usage-stats", "--temp-dir", folder, "--block"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}  # RAY_AUTH_MODE: set by ray_cluster
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _wait_started(node: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Ray runtime started" in log.read_text(errors="replace"):
            return
        if node.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"ray start did not start (exit {node.poll()}):\n{log.read_text(errors='replace')[-3000:]}")


def _stop_nodes(nodes: list[subprocess.Popen]) -> None:
    """Stop the nodes we started, by their pids and their processes' (never ``ray stop``: that stops every
    Ray of the user on the machine)."""
    below = descendants(n.pid for n in nodes)
    for node in reversed(nodes):  # the second node first, then the head
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 3  # then killed: a head drains for up to 30 s
    for node in nodes:
        try:
            node.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
    for pid in below:
        if command_line(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory) -> Iterator[RayCluster]:
    """A real two-node Ray cluster on loopback: a head and a second node joined with ``ray start --address``,
    one CPU each, each with a temporary folder of its own (short: Ray's socket paths must stay under 108
    bytes). This process is connected to it (:func:`genrekit.scale.connect`). Skips when Ray is not
    installed. About 15 s to start."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'genrekit[ray]')")
    from genrekit import scale

    port = next((p for p in RAY_PORTS if all(_free(p + i) for i in range(4))), None)
    if port is None:
        pytest.skip(f"no free ports for a test Ray cluster in {RAY_PORTS.start}-{RAY_PORTS.stop - 1}")
    logs = tmp_path_factory.mktemp("ray-logs")
    # Ray 2.60 turns token authentication on for `ray start --head` when ~/.ray/auth_token exists (a local
    # ray.init() writes one), but not for a node joining it: said explicitly, for the nodes, this process
    # and the commands the tests start. A loopback test cluster needs no token.
    auth_mode = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    folders = [tempfile.mkdtemp(prefix="gkray-", dir="/tmp") for _ in range(2)]
    address = f"127.0.0.1:{port}"
    nodes: list[subprocess.Popen] = []
    try:
        nodes.append(_start_node(["--head", "--port", str(port), "--dashboard-agent-listen-port", str(port + 2),
                                  "--include-dashboard=false"],
                                 folders[0], logs / "head.log"))
        _wait_started(nodes[0], logs / "head.log")
        nodes.append(_start_node(["--address", address, "--dashboard-agent-listen-port", str(port + 3)],
                                 folders[1], logs / "node.log"))
        _wait_started(nodes[1], logs / "node.log")
        deadline = time.monotonic() + 60
        while scale.connect(address)["nodes"] < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("the second Ray node did not join the cluster")
            time.sleep(0.5)
        yield RayCluster(address, nodes)
    finally:
        scale.shutdown()
        _stop_nodes(nodes)
        for folder in folders:
            subprocess.run(["rm", "-rf", folder], capture_output=True)
        if auth_mode is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = auth_mode
