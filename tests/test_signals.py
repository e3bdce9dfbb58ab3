"""Killing a genrekit command: its worker processes die with it, whatever the signal, and SIGTERM
stops it as cleanly as Ctrl-C (``genrekit.pool.worker_pool``, ``genrekit.apps.cli.main``).

Each test starts the real command with its standard output on a pipe, waits until its decoding
workers run, records every descendant (resource tracker, fork server, workers), signals the main
process only, and then checks that every descendant is gone within 5 s, that the pipe reaches
end-of-file (a ``genrekit ... | jq`` pipeline ends), and that nothing is left in the command's
temporary folder.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import SR, write
from test_cli import genrekit_command

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

#: Seconds within which every process of a killed command must be gone.
GRACE = 5.0


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """Twelve 2-minute recordings: a few seconds of work for two workers, whatever the command."""
    root = tmp_path_factory.mktemp("signals-library")
    rng = np.random.default_rng(0)
    pattern = (0.1 * rng.standard_normal(SR * 10)).astype(np.float32)
    for i in range(12):
        write(root / f"g{i % 2}" / f"track{i:02d}.wav", np.tile(pattern * (0.5 + 0.05 * i), 12))
    return root


def commands(library: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "features": ["features", "--dataset", "folder", "--root", str(library), "--spec", "senac2017_music",
                     "--cache", str(tmp / "cache"), "-j", "2", "--json"],
        "predict": ["predict", str(library), "-j", "2", "--format", "json"],
        "tag": ["tag", str(library), "--db", str(tmp / "catalogue.sqlite"), "-j", "2", "--json"],
    }


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (state Z, waiting for a parent or init to reap it) is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(root: int) -> dict[int, int]:
    """pid -> parent pid of every live process below ``root``."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = parent_of(int(entry))
            if parent is not None:
                parents[int(entry)] = parent
    found: dict[int, int] = {}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found and alive(child):
                found[child] = parent
                frontier.append(child)
    return found


def read_to_eof(stream, deadline: float) -> bytes | None:
    """What remains on a pipe, or ``None`` if it is still open at ``deadline``."""
    data = b""
    fd = stream.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return data
            data += chunk


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("command", ["features", "predict", "tag"])
def test_workers_die_with_the_command_and_its_output_ends(command, signum, library, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    process = subprocess.Popen(genrekit_command() + commands(library, tmp_path)[command], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    family: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            family = descendants(process.pid)
            workers = [pid for pid, parent in family.items() if parent != process.pid]
            if len(workers) >= 2:
                break
            time.sleep(0.02)
        assert process.poll() is None, ("the command ended before its workers could be seen; make the library "
                                        f"longer: {process.stderr.read()[-2000:]!r}")
        assert len(workers) >= 2, f"no worker processes after 120 s: {family}"
        process.send_signal(signum)

        deadline = time.monotonic() + GRACE
        out = read_to_eof(process.stdout, deadline)
        assert out is not None, f"standard output still open {GRACE} s after {signum.name}"
        process.wait(timeout=max(0.1, deadline - time.monotonic()))
        while time.monotonic() < deadline and any(alive(pid) for pid in family):
            time.sleep(0.05)
        survivors = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:120] for pid in family if alive(pid)}
        assert not survivors, f"still running {GRACE} s after {signum.name} of the main process: {survivors}"
        err = process.stderr.read().decode()
        assert not list(tmpdir.glob("pymp-*")), f"multiprocessing's temporary folder was left: {os.listdir(tmpdir)}"
        if signum == signal.SIGTERM:
            assert process.returncode == 128 + signal.SIGTERM, err
            assert "Traceback" not in err, err
            assert err.rstrip().splitlines()[-1].startswith("stopped by SIGTERM"), err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in family:  # only what this test started, by pid
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_cli_says_why_it_stopped_on_sigterm_and_ctrl_c(tmp_path):
    """SIGINT and SIGTERM both unwind as KeyboardInterrupt and end with one line and 128 + the signal."""
    script = tmp_path / "stopper.py"
    script.write_text(
        "import os, signal, sys, time\n"
        "from genrekit.apps import cli\n"
        "@cli.app.command('sleep-then-signal')\n"
        "def _sleep(name: str) -> None:\n"
        "    try:\n"
        "        os.kill(os.getpid(), getattr(signal, name))\n"
        "        time.sleep(5)\n"
        "    finally:\n"
        "        print('cleaned up', file=sys.stderr)\n"
        "cli.main()\n")
    for name, code, message in (("SIGTERM", 143, "stopped by SIGTERM"), ("SIGINT", 130, "interrupted")):
        done = subprocess.run([sys.executable, str(script), "sleep-then-signal", name], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == code, done.stderr
        assert "cleaned up" in done.stderr and "Traceback" not in done.stderr
        assert done.stderr.rstrip().splitlines()[-1].startswith(message)
