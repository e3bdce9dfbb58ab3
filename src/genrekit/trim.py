"""The music of a decoded signal: its DC offset removed and the silence before and after it dropped.

GTZAN's excerpts are 30 s cut from the middle of songs; a user's files are whole songs, with a second or
two of digital silence before the music and after it, sometimes a DC offset from a cheap converter. A
feature window that starts in the silence puts clips of nothing into the model and moves every later clip
against the music, so the same song would get another answer with a different lead-in. Every path from
audio to features (prediction: :mod:`genrekit.features.windows`; extraction for training:
:mod:`genrekit.features.extraction`) therefore reads a file through :class:`Trimmed`:

- **DC offset**: the mean of the music in the first :data:`LOOKAHEAD_SECONDS` (or in the whole signal, when
  shorter; the silence around it left out) is subtracted from every sample (except for a representation whose
  training data kept the offset as a feature: ``FeatureSpec.removes_dc``, the Kaggle table's). A constant offset is then gone exactly; music has no DC of its own (the
  mean of a GTZAN excerpt is ~1e-4 of full scale).
- **Silence**: a sample is music when its magnitude is above :data:`SILENCE_BELOW_PEAK_DB` below the
  loudest sample seen so far (the first look-ahead's peak to begin with), so the rule is the same at any
  gain, both with and without the offset: digital zeros an editor put before music that has an offset
  (GTZAN's hiphop.00000 has -0.018) are silence, and so is a converter's offset before the music. Everything before the first music sample and after the last one is dropped, sample-exact: the same
  music with 0.5 or 5 s of silence around it gives the same samples. Silence inside the music is kept
  (a pause is music), unless it runs longer than :data:`LONGEST_PAUSE_SECONDS` before more music comes, when
  it is passed on as it is (memory stays bounded).

The threshold never goes below :data:`SILENCE_DBFS`. Music may start late: a look-ahead with no music in it is
lead too, and the next one is read. A signal with no music at all (its peak below :data:`SILENCE_DBFS`) ends
with its last look-ahead passed on, so the caller's own "silent" error names it.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

__all__ = ["Trimmed", "SILENCE_DBFS", "SILENCE_BELOW_PEAK_DB", "LOOKAHEAD_SECONDS", "LONGEST_PAUSE_SECONDS"]

#: A signal whose peak is below this (dB full scale) is silent: nothing to classify (a file of it is refused).
#: No sample below it is music, whatever the peak.
SILENCE_DBFS = -80.0

#: A sample is silence when it is more than this far below the loudest sample (dB). 60 dB below a full-scale
#: peak is 0.001: well above 16-bit dither (-90 dBFS) and digital silence, well below any music's quiet
#: passages relative to its loudest (GTZAN's quietest cells are 70-80 dB below the peak *per mel band*, but
#: a sample sums all bands).
SILENCE_BELOW_PEAK_DB = 60.0
#: Seconds read before anything is passed on: they fix the DC offset and the first peak.
LOOKAHEAD_SECONDS = 30.0
#: Silence held back (waiting to see whether music follows) is passed on once it is this long.
LONGEST_PAUSE_SECONDS = 60.0
#: Samples looked at a time when searching for music (bounds the temporaries).
_CHUNK = 1 << 16


class Trimmed:
    """A stream of mono blocks without its DC offset and the silence before and after the music.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,)], float32
        The decoded signal in consecutive blocks of any lengths.
    sr : int
        Its sampling rate.
    remove_dc : bool
        Subtract the offset (``False``: for a representation whose training data kept it,
        ``FeatureSpec.removes_dc``).

    Attributes
    ----------
    lead : int
        Samples dropped before the first one passed on (set once the first block is out).
    tail : int
        Samples dropped after the last one passed on (set at the end).
    samples : int
        Samples read in all (set at the end).
    peak : float
        The largest magnitude after the DC offset is removed.
    """

    def __init__(self, blocks: Iterable[np.ndarray], sr: int, lookahead_seconds: float = LOOKAHEAD_SECONDS,
                 longest_pause_seconds: float = LONGEST_PAUSE_SECONDS, remove_dc: bool = True):
        self.blocks = iter(blocks)
        self.lookahead = max(1, int(round(lookahead_seconds * sr)))
        self.longest_pause = max(1, int(round(longest_pause_seconds * sr)))
        self.lead = self.tail = self.samples = 0
        self.peak = 0.0
        self.dc = 0.0
        self.remove_dc = remove_dc

    def _threshold(self) -> float:
        return max(self.peak * 10.0 ** (-SILENCE_BELOW_PEAK_DB / 20.0), 10.0 ** (SILENCE_DBFS / 20.0))

    def _gather(self) -> tuple[np.ndarray, bool]:
        """The next :attr:`lookahead` samples or more (fewer at the end), and whether the signal ended."""
        got, held = [], 0
        for block in self.blocks:
            got.append(np.asarray(block, dtype=np.float32))
            held += got[-1].shape[0]
            self.samples += got[-1].shape[0]
            if held >= self.lookahead:
                return (np.concatenate(got) if len(got) > 1 else got[0]), False
        return (np.concatenate(got) if got else np.zeros(0, np.float32)), True

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:  # look ahead until the music starts; a look-ahead of nothing but silence is lead
            raw, ended = self._gather()
            head = raw[:self.lookahead]
            span = self._offset(head, head)
            if span is not None:
                span = self._offset(head, head[span[0]:span[1] + 1])  # the offset of the music alone
                first = span[0] if span is not None else 0
                self.lead += first
                raw = raw[first:]
                if raw.shape[0] < self.lookahead and not ended:  # a whole look-ahead from the music's start
                    more, ended = self._gather()
                    raw = np.concatenate([raw, more])
                # The offset and first peak of the music itself (from its first sample, without the silence
                # around it), so the same music after any silence gives the same samples.
                head = raw[:self.lookahead]
                span = self._offset(head, head)
                self._offset(head, head[:span[1] + 1] if span is not None else head)
                start = raw - np.float32(self.dc)
                del raw, head
                break
            if ended:  # no music at all: the last of it is passed on for the caller to refuse as silent
                if raw.size:
                    yield raw - np.float32(self.dc)
                return
            self.lead += raw.shape[0]
        pause: list[np.ndarray] = []
        paused = 0
        first = [start]  # handed over, so that no frame keeps the first look-ahead alive after it is out
        del start
        for block in self._rest(first):
            if block.size:
                self.peak = max(self.peak, float(np.abs(block).max()))
            span = self._span(block)
            if span is not None:
                last = span[1] + 1
                yield from pause
                yield block[:last]
                pause, paused = [block[last:].copy()], block.shape[0] - last  # not a view holding the block
            else:
                pause.append(block)
                paused += block.shape[0]
            if paused > self.longest_pause:
                yield from pause
                pause, paused = [], 0
        self.tail = paused

    def _offset(self, raw: np.ndarray, part: np.ndarray) -> tuple[int, int] | None:
        """Take the DC offset from ``part`` of the look-ahead ``raw`` and its peak; the span of music in ``raw``."""
        self.dc = float(part.mean(dtype=np.float64)) if part.size and self.remove_dc else 0.0
        if not raw.size:
            self.peak = 0.0
            return None
        shifted = raw - np.float32(self.dc)
        self.peak = float(np.abs(shifted).max())
        return self._span(shifted)

    def _span(self, block: np.ndarray) -> tuple[int, int] | None:
        """The first and last sample of ``block`` (offset removed) that are music, or ``None``; looked at a
        chunk at a time from either end (no per-sample index array: bounded memory)."""
        threshold = np.float32(self._threshold())
        offset = np.float32(self.dc)

        def music(lo: int) -> np.ndarray:
            piece = block[lo:lo + _CHUNK]
            return np.flatnonzero((np.abs(piece) > threshold) & (np.abs(piece + offset) > threshold))

        starts = range(0, block.shape[0], _CHUNK)
        first = next(((lo, found) for lo in starts for found in [music(lo)] if found.size), None)
        if first is None:
            return None
        last = next((lo, found) for lo in reversed(starts) for found in [music(lo)] if found.size)
        return first[0] + int(first[1][0]), last[0] + int(last[1][-1])

    def _rest(self, first: list) -> Iterator[np.ndarray]:
        yield first.pop()
        for block in self.blocks:
            self.samples += block.shape[0]
            block = np.array(block, dtype=np.float32)  # a copy of its own, the offset removed in place
            block -= np.float32(self.dc)
            yield block
