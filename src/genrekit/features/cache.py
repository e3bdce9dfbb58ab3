"""An on-disk cache of per-track features.

Layout::

    <root>/<spec kind>-<spec key>/spec.json            what the entries are (FeatureSpec.to_dict)
    <root>/<spec kind>-<spec key>/<ab>/<path hash>-<identity hash>.npy   (ab: the path hash's first two digits)

- The folder is named by the spec's content hash (:meth:`FeatureSpec.key`): a changed
  spec reads and writes another folder, and two presets with the same numbers (e.g.
  ``zhang2016`` and ``senac2017_stft``) share one.
- An entry is named by a hash of the file's resolved path and a hash of its identity
  (size and modification time in ns): a changed file is a miss, and writing its new
  features removes the stale entry of the same path. Entries are spread over 256 shard
  folders so that finding a path's stale entry lists a small folder, even for a library
  of millions of files.
- Entries are written to a temporary name and renamed into place (``os.replace``), so
  a killed extraction never leaves a half-written entry: every ``.npy`` present is whole,
  and running the extraction again resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from genrekit.errors import ConfigError, disk_full_as_error
from genrekit.features.specs import FeatureSpec
from genrekit.files import TEMP_PREFIX, atomic_write, cache_home

__all__ = ["FeatureCache", "default_root", "file_identity"]

#: What a person keeps when the cache's disk fills up: every entry is whole (written by rename).
_KEPT = "the features computed so far are kept, and the next run computes only the rest"


def default_root() -> Path:
    """``$GENREKIT_CACHE/features``, else ``~/.cache/genrekit/features``."""
    return cache_home() / "features"


def file_identity(path: str | os.PathLike) -> tuple[str, str]:
    """``(path hash, identity hash)`` of a file: its resolved path, and its size and mtime.

    ``FILE#MEMBER`` names one member of a file that holds many tracks (the tracks of
    ``gtzan-coarse-mel`` are ``.../gtzan_coarse_mel_dev.npz#blues.00000``): its identity is the
    file's, so features made from it are cached like those of audio files.

    Raises ``FileNotFoundError`` for a missing file.
    """
    resolved = os.path.realpath(path)
    try:
        stat = os.stat(resolved)
    except FileNotFoundError:
        container, sep, member = os.fspath(path).rpartition("#")
        if not sep or not os.path.isfile(container):
            raise
        resolved = f"{os.path.realpath(container)}#{member}"
        stat = os.stat(container)
    path_hash = hashlib.sha1(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    identity = hashlib.sha1(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return path_hash, identity


class FeatureCache:
    """Features of one spec, stored per audio file.

    Parameters
    ----------
    root : str or path-like, optional
        The cache root (default :func:`default_root`); one folder per spec is made inside.
    spec : FeatureSpec

    Examples
    --------
    >>> cache = FeatureCache("/tmp/cache", get("yang2019"))        # doctest: +SKIP
    >>> cache.get(track.path) is None                              # doctest: +SKIP
    True
    """

    def __init__(self, root: str | os.PathLike | None, spec: FeatureSpec):
        self.spec = spec
        self.root = Path(root) if root is not None else default_root()
        self.dir = self.root / f"{spec.kind}-{spec.key()}"
        try:
            with disk_full_as_error(self.root, _KEPT):
                self.dir.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):  # the root, or a folder above or below it, is a file
            file = next((p for p in (self.dir, *self.dir.parents) if p.exists() and not p.is_dir()), self.root)
            where = "" if file == self.root else f", so the feature cache cannot be kept in {self.root}"
            raise ConfigError(f"{file}: is a file, not a folder{where}; give the feature cache a folder "
                              "(it is created if missing)") from None
        manifest = self.dir / "spec.json"
        if not manifest.exists():
            text = json.dumps(spec.to_dict(), indent=2, sort_keys=True, default=str).encode()
            with disk_full_as_error(self.root, _KEPT):
                atomic_write(manifest, lambda stream: stream.write(text))

    def entry(self, path: str | os.PathLike) -> Path:
        """Where the features of the file at ``path``, as it is now, are stored."""
        path_hash, identity = file_identity(path)
        return self.dir / path_hash[:2] / f"{path_hash}-{identity}.npy"

    def __contains__(self, path) -> bool:
        try:
            return self.entry(path).exists()
        except FileNotFoundError:
            return False

    def get(self, path: str | os.PathLike, mmap: bool = False) -> np.ndarray | None:
        """The cached features of a file, or ``None`` when absent or stale.

        Parameters
        ----------
        mmap : bool
            Memory-map instead of reading (cheap for looking at the shape only).
        """
        try:
            entry = self.entry(path)
            return np.load(entry, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (FileNotFoundError, ValueError, OSError):
            # ValueError/OSError: an unreadable entry (e.g. a disk filled up mid-copy) is a miss.
            return None

    def put(self, path: str | os.PathLike, features: np.ndarray) -> Path:
        """Store a file's features atomically and drop stale entries of the same file.

        Raises
        ------
        genrekit.errors.DiskFullError
            The disk is full: no entry was written, and every earlier entry is whole.
        """
        array = np.ascontiguousarray(features, dtype=np.float32)
        return self.write(path, lambda stream: np.save(stream, array, allow_pickle=False))

    def write(self, path: str | os.PathLike, fill: Callable[[BinaryIO], object]) -> Path:
        """Store a file's features as ``fill(stream)`` writes them: a whole float32 ``.npy`` file,
        e.g. through :class:`~genrekit.features.streaming.NpySink`, so that they need not be in
        memory at once. Atomic: if ``fill`` raises, nothing is stored. Stale entries of the same
        file are dropped. Temporary files go to the entry's folder (:meth:`temp_dir`).

        Raises
        ------
        genrekit.errors.DiskFullError
            The disk is full: no entry was written, and every earlier entry is whole.
        """
        entry = self.entry(path)
        with disk_full_as_error(self.root, _KEPT):
            entry.parent.mkdir(exist_ok=True)
            atomic_write(entry, fill)
        prefix = entry.name.split("-", 1)[0]
        for stale in entry.parent.glob(f"{prefix}-*.npy"):
            if stale != entry:
                stale.unlink(missing_ok=True)
        return entry

    def temp_dir(self, path: str | os.PathLike) -> Path:
        """The folder of ``path``'s entry: where its temporary files go while it is computed."""
        folder = self.entry(path).parent
        folder.mkdir(exist_ok=True)
        return folder

    def entries(self) -> list[Path]:
        """All stored (whole) entries; temporary files of writers in progress are not entries."""
        return sorted(p for p in self.dir.glob("*/*.npy") if not p.name.startswith(TEMP_PREFIX))

    def clean_partials(self) -> int:
        """Remove temporary files left by killed writers; returns how many."""
        removed = 0
        for tmp in self.dir.glob(f"*/{TEMP_PREFIX}*"):
            tmp.unlink(missing_ok=True)
            removed += 1
        return removed

    def prune(self, paths) -> int:
        """Remove entries that belong to none of ``paths`` as they are now; returns how many."""
        keep = set()
        for path in paths:
            try:
                keep.add(self.entry(path).name)
            except FileNotFoundError:
                continue
        removed = 0
        for entry in self.entries():
            if entry.name not in keep:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.dir)!r})"
