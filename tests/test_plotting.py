"""genrekit.plotting: Agg figures of the requested size, PNGs written atomically."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PIL import Image

from genrekit.plotting import new_figure, save_png

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_figure_is_saved_as_a_png_of_its_size_in_new_folders(tmp_path):
    figure = new_figure(4.0, 2.5, dpi=50)
    figure.add_subplot().plot([0, 1], [1, 0])
    path = save_png(figure, tmp_path / "deep" / "er" / "line.png")
    assert path == tmp_path / "deep" / "er" / "line.png" and path.read_bytes()[:8] == PNG
    with Image.open(path) as image:
        assert image.size == (200, 125)
    assert [p.name for p in path.parent.iterdir()] == ["line.png"]


def test_a_figure_that_fails_to_draw_writes_nothing(tmp_path):
    broken = new_figure(3.0, 2.0)
    broken.text(0.5, 0.5, r"$\frac{$")  # bad mathtext: raises while the figure is drawn
    with pytest.raises(ValueError):
        save_png(broken, tmp_path / "new.png")
    assert list(tmp_path.iterdir()) == []


# A write that fails half-way, for real: a file-size limit (RLIMIT_FSIZE) set in a child process
# makes write() fail with EFBIG once the PNG passes 4 kB, as a full disk would.
FAILING_SAVE = """
import resource, signal, sys
import numpy as np
from genrekit.plotting import new_figure, save_png

target = sys.argv[1]
small = new_figure(2.0, 1.0, dpi=40)
small.add_subplot().plot([0, 1])
save_png(small, target)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
noise = new_figure(6.0, 6.0)
noise.add_subplot().imshow(np.random.default_rng(0).random((300, 300)))
try:
    save_png(noise, target)
except OSError as exc:
    print("failed:", exc.strerror)
"""


def test_a_failed_save_keeps_the_old_png_and_leaves_no_partial_one(tmp_path):
    target = tmp_path / "figure.png"
    done = subprocess.run([sys.executable, "-c", FAILING_SAVE, str(target)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "failed: File too large" in done.stdout
    with Image.open(target) as image:  # the first figure, whole: 2 x 1 inches at 40 dpi
        image.load()
        assert image.size == (80, 40)
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]
