"""genrekit.progress: plain lines off a terminal, silence when disabled."""

from __future__ import annotations

import io

from genrekit.progress import Progress


def test_plain_lines_at_the_first_item_and_every_tenth():
    stream = io.StringIO()
    with Progress(100, "work", stream=stream) as progress:
        for _ in range(100):
            progress.advance(info="ok")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11 and lines[0].startswith("work: 1/100") and lines[-1].startswith("work: 100/100") and lines[-1].endswith("ok")
    assert progress.done == 100


def test_disabled_prints_nothing():
    stream = io.StringIO()
    with Progress(5, "work", enabled=False, stream=stream) as progress:
        progress.advance(5)
    assert stream.getvalue() == "" and progress.done == 5
