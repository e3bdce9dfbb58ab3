"""Which files to read: audio-file discovery in folders, and command-line inputs expanded to files.

Used by prediction and tagging (:mod:`genrekit.inference`, :mod:`genrekit.tagger`) and by the
folder-per-genre dataset (:mod:`genrekit.datasets.genre_folders`); only the standard library and
:data:`genrekit.audio.SUPPORTED_EXTENSIONS`, so a command that only classifies files imports no dataset.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable

from genrekit.audio import SUPPORTED_EXTENSIONS

__all__ = ["audio_files", "expand_paths"]


def audio_files(directory: str | os.PathLike) -> list[Path]:
    """Audio files below ``directory`` (recursive), by extension, hidden ones excluded, sorted.

    The order is by path string, independent of the file system's listing order.
    """
    directory = Path(directory)
    found = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return sorted(found, key=str)


def expand_paths(inputs: Iterable[str | os.PathLike]) -> list[str]:
    """Files from files, directories (recursive, audio extensions only) and glob patterns, in order.

    A directory or pattern that matches nothing, and a path that does not exist, are kept
    as they are, so the caller reports them by name; so are the named pipes, devices and broken
    links a folder or pattern holds (:mod:`genrekit.audio` refuses them without opening them).
    """
    out: list[str] = []
    for item in inputs:
        text = str(item)
        if os.path.isdir(text):
            out.extend(str(p) for p in audio_files(text))
        elif not os.path.exists(text) and glob.has_magic(text):
            matched = sorted(glob.glob(text, recursive=True))
            # folders are left out; anything else (a pipe, a broken link) is kept, to be refused by name
            out.extend(m for m in matched if not os.path.isdir(m)) if matched else out.append(text)
        else:
            out.append(text)
    return list(dict.fromkeys(out))
