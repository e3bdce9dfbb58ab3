"""Features of a recording of any length in bounded memory.

A spec's :meth:`~genrekit.features.specs.FeatureSpec.stream` reads its signal as a sequence of
blocks (:func:`genrekit.audio.stream` decoding a file, or one array already in memory), cuts
it into segments of whole frames with the overlap each frame needs (:func:`centred_segments`:
the frames of the segments are exactly the centred, zero-padded frames of the whole signal),
and hands its output to a sink, a block of columns at a time: an array in memory
(:class:`ArraySink`) or a ``.npy`` file written in place (:class:`NpySink`). Values that can
be finished only once the whole track has been seen (dB relative to the track's loudest cell)
wait in a :class:`RowStore`, which moves them to an unnamed temporary file when they grow
large. Nothing here holds the whole signal, or a whole spectrogram, in memory.
"""

from __future__ import annotations

import os
import tempfile
from typing import BinaryIO, Callable, Iterable, Iterator, Protocol

import numpy as np

from genrekit.errors import FeatureError
from genrekit.files import TEMP_PREFIX

__all__ = ["Blocks", "Sink", "ArraySink", "NpySink", "RowStore", "SPILL_BYTES", "WRITE_BYTES", "centred_segments",
           "two_passes"]

#: Bytes of per-frame values a :class:`RowStore` keeps in memory before it moves them to disk
#: (a 30 s track's log-mel or STFT is 1-3 MB: only long recordings spill).
SPILL_BYTES = 16 << 20
#: Bytes of output an :class:`NpySink` gathers before writing them (a 30 s track's output is one write).
WRITE_BYTES = 4 << 20

#: A signal as a function that returns its blocks, from the start, each time it is called
#: (specs that need the whole track's extremes before they can finish read it twice).
Blocks = Callable[[], Iterable[np.ndarray]]


class Sink(Protocol):
    """Where a spec writes its output ``[bands, n_columns]``, a block of columns at a time."""

    def start(self, shape: tuple[int, int]) -> None:
        """The output's shape, given once, before any :meth:`write`."""

    def write(self, first: int, columns: np.ndarray) -> None:
        """Columns ``first`` to ``first + columns.shape[1] - 1`` (``[bands, k]``, float32)."""


class ArraySink:
    """Output kept in memory: :attr:`array` ``[bands, n_columns]``, float32."""

    def __init__(self):
        self.array: np.ndarray | None = None

    def start(self, shape: tuple[int, int]) -> None:
        self.array = np.empty(shape, dtype=np.float32)

    def write(self, first: int, columns: np.ndarray) -> None:
        self.array[:, first:first + columns.shape[1]] = columns


class NpySink:
    """Output written into an open, seekable binary file as a float32 ``.npy`` array (C order,
    byte for byte what :func:`numpy.save` writes), a block of columns at a time.

    Consecutive blocks are gathered up to ``limit`` bytes, then written with one write per band
    (the file is band-major); an output that fits is written with one write. Call :meth:`flush`
    after the last block.

    Parameters
    ----------
    stream : binary file open for writing, seekable
    limit : int, optional
        Bytes gathered before writing (default :data:`WRITE_BYTES`).
    """

    def __init__(self, stream: BinaryIO, limit: int | None = None):
        self.stream = stream
        self.limit = WRITE_BYTES if limit is None else limit
        self.shape: tuple[int, int] = (0, 0)
        self.offset = 0
        self.pending: list[np.ndarray] = []
        self.pending_first = self.pending_bytes = 0

    def start(self, shape: tuple[int, int]) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False,
                  "shape": self.shape}
        np.lib.format.write_array_header_1_0(self.stream, header)
        self.offset = self.stream.tell()
        self.stream.truncate(self.offset + 4 * self.shape[0] * self.shape[1])

    def write(self, first: int, columns: np.ndarray) -> None:
        if self.pending and first != self.pending_first + sum(c.shape[1] for c in self.pending):
            self.flush()
        if not self.pending:
            self.pending_first = first
        self.pending.append(np.asarray(columns, dtype="<f4"))
        self.pending_bytes += self.pending[-1].nbytes
        if self.pending_bytes >= self.limit:
            self.flush()

    def flush(self) -> None:
        """Write the gathered blocks."""
        if not self.pending:
            return
        rows = np.ascontiguousarray(np.concatenate(self.pending, axis=1) if len(self.pending) > 1 else self.pending[0],
                                    dtype="<f4")  # [bands, k]
        first, width = self.pending_first, self.shape[1]
        self.pending, self.pending_bytes = [], 0
        if rows.shape[1] == width:  # the whole output: one write
            self.stream.seek(self.offset)
            self.stream.write(rows.data)
            return
        for band, row in enumerate(rows):
            self.stream.seek(self.offset + 4 * (band * width + first))
            self.stream.write(row.data)


class RowStore:
    """Rows of per-frame values ``[k, width]`` (float32), appended in order and read back in order.

    Up to ``limit`` bytes they stay in memory; beyond that they go to an unnamed temporary file
    in ``spill_dir`` (removed by the system when it is closed, even if the process is killed),
    so a recording of any length costs a bounded amount of memory. Without ``spill_dir`` every
    row stays in memory (for a signal that is in memory already).

    Parameters
    ----------
    width : int
    spill_dir : str or path-like, optional
    limit : int, optional
        Bytes held in memory before spilling (default :data:`SPILL_BYTES`).
    """

    def __init__(self, width: int, spill_dir: str | os.PathLike | None = None, limit: int | None = None):
        self.width, self.spill_dir = width, spill_dir
        self.limit = SPILL_BYTES if limit is None else limit
        self.held: list[np.ndarray] = []
        self.held_bytes = 0
        self.rows = 0
        self.file: BinaryIO | None = None

    def __len__(self) -> int:
        return self.rows

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.float32).reshape(-1, self.width)
        self.rows += rows.shape[0]
        if self.file is not None:
            self.file.write(rows.data)
            return
        self.held.append(rows)
        self.held_bytes += rows.nbytes
        if self.spill_dir is not None and self.held_bytes > self.limit:
            self.file = tempfile.TemporaryFile(dir=self.spill_dir, prefix=TEMP_PREFIX)
            for held in self.held:
                self.file.write(held.data)
            self.held, self.held_bytes = [], 0

    def chunks(self, rows_per_chunk: int = 4096) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row, rows)`` in order; rows read from the file are a fresh, writable array."""
        first = 0
        if self.file is None:
            for rows in self.held:
                yield first, rows
                first += rows.shape[0]
            return
        self.file.flush()
        self.file.seek(0)
        while first < self.rows:
            k = min(rows_per_chunk, self.rows - first)
            rows = np.empty((k, self.width), dtype=np.float32)
            if self.file.readinto(memoryview(rows).cast("B")) != rows.nbytes:
                raise OSError("the temporary file of feature rows was cut short")
            yield first, rows
            first += k

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.held = []

    def __enter__(self) -> "RowStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def centred_segments(blocks: Iterable[np.ndarray], frame_length: int, hop_length: int,
                     frames_per_segment: int) -> Iterator[tuple[int, np.ndarray]]:
    """Cut a signal that arrives in blocks into segments of whole frames.

    Frame ``t`` of a signal of ``n`` samples is centred on sample ``t * hop_length`` and
    zero-padded beyond both ends, and there are ``1 + n // hop_length`` frames (librosa's
    ``center=True, pad_mode="constant"``; :func:`genrekit.features.spectral.frames`). Each
    ``(first, segment)`` yielded holds frames ``first`` to ``first + k - 1``:
    ``spectral.frames(segment, frame_length, hop_length, center=False)`` are exactly those
    frames of the whole signal. Consecutive segments overlap by ``frame_length - hop_length``
    samples. Memory: one block and one segment.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(m,)]
        The signal's consecutive samples, in blocks of any lengths.
    frame_length, hop_length, frames_per_segment : int

    Yields
    ------
    first : int
    segment : np.ndarray [shape=((k - 1) * hop_length + frame_length,)], float32
        ``k <= frames_per_segment``; a view, valid until the next segment is asked for.
    """
    pad = frame_length // 2
    buffer = np.zeros(pad, dtype=np.float32)
    offset = first = n = 0  # offset: index of buffer[0] in the padded signal
    per = max(1, int(frames_per_segment))

    def end(k: int) -> int:
        return (first + k - 1) * hop_length + frame_length - offset

    for block in blocks:
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 1:
            raise FeatureError(f"expected a mono signal of shape (n,), got a block of shape {block.shape}")
        n += block.shape[0]
        buffer = np.concatenate([buffer, block])
        while buffer.shape[0] >= end(per):  # every frame of the segment lies in the signal seen so far
            yield first, buffer[:end(per)]
            first += per
            buffer = buffer[first * hop_length - offset:]
            offset = first * hop_length
    total = 1 + (n + 2 * pad - frame_length) // hop_length  # 1 + n // hop_length for an even frame length
    buffer = np.concatenate([buffer, np.zeros(pad, dtype=np.float32)])
    while first < total:
        k = min(per, total - first)
        yield first, buffer[:end(k)]
        first += k
        buffer = buffer[first * hop_length - offset:]
        offset = first * hop_length


def two_passes(blocks: Blocks, frame_length: int, hop_length: int, frames_per_segment: int,
               first_pass: Callable[[int, np.ndarray], object],
               second_pass: Callable[[int, np.ndarray, object], None],
               between: Callable[[], None] = lambda: None) -> int:
    """Run ``first_pass`` over every segment, then ``second_pass`` over every segment again.

    For features that need a number of the whole track (its loudest cell) before a segment
    can be finished. A signal of one segment (a 30 s excerpt) is cut once and each
    ``second_pass(first, segment, state)`` gets what ``first_pass(first, segment)`` returned
    for it, so nothing is computed twice; a longer one is read again from ``blocks()``, and
    ``state`` is then ``None``. ``between()`` runs after the first pass.

    Returns
    -------
    int
        The number of segments.
    """
    segments = centred_segments(blocks(), frame_length, hop_length, frames_per_segment)
    count, only = 0, None
    for first, segment in segments:
        state = first_pass(first, segment)
        only = (first, segment, state) if count == 0 else None
        count += 1
    between()
    if count == 1:
        second_pass(*only)
        return count
    for first, segment in centred_segments(blocks(), frame_length, hop_length, frames_per_segment):
        second_pass(first, segment, None)
    return count
