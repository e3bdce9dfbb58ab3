"""Scorers: feature windows in, per-clip genre probabilities out.

A :class:`Scorer` is the part of a classifier that runs the model. The
:class:`~genrekit.inference.Classifier` cuts nothing and runs nothing itself: it asks its scorer where
each window's clips start (:meth:`Scorer.clip_starts`), hands it windows of many files at once
(:meth:`Scorer.__call__`, up to :attr:`Scorer.batch_size` clips), and combines the clip probabilities
that come back with the model's clip-to-track rule.

Three kinds implement it: :class:`TorchScorer` (a PyTorch network), :class:`~genrekit.inference.onnx.OnnxScorer`
(the same network on ONNX Runtime; both are a :class:`NetworkScorer`, which cuts windows into the
network's clips and batches them) and :class:`ClassicalScorer` (a fitted scikit-learn pipeline on each
window's vectors).

The clip-to-track rule is not part of a scorer: it belongs to the model's run (how its metrics were
computed) and is applied by the Classifier, to files and to timeline segments alike, so one scorer can be
served under another rule (``genrekit predict --aggregation``) without being rebuilt.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np
import torch

from genrekit.features import clips as clipping
from genrekit.features.windows import Window

__all__ = ["Scorer", "NetworkScorer", "TorchScorer", "ClassicalScorer", "softmax"]


@runtime_checkable
class Scorer(Protocol):
    """What a :class:`~genrekit.inference.Classifier` needs from a model.

    Attributes
    ----------
    frames : int or None
        Clip length in feature frames (a network's input width). ``None``: each window is one clip,
        scored as a whole (a classical model reads a window's summary vectors).
    hop : int or None
        Frames between the starts of consecutive clips; ``None`` when ``frames`` is.
    batch_size : int
        Clips the Classifier gathers (across files) before it calls the scorer.
    in_workers : bool
        Score in the decoding worker processes, each with its own copy (the scorer must pickle), rather
        than batched in the calling process: for networks whose scoring costs much more than featurising.
    """

    frames: int | None
    hop: int | None
    batch_size: int
    in_workers: bool

    def clip_starts(self, window: Window) -> np.ndarray:
        """First frame of each clip the window is cut into: ``np.ndarray [shape=(n_clips,)]``, int."""

    def __call__(self, windows: Sequence[Window]) -> list[np.ndarray]:
        """Probabilities ``[n_clips, n_genres]`` of each window's clips (rows sum to 1)."""


class NetworkScorer:
    """Cuts windows into the model's clips and runs them through ``forward`` in batches.

    Parameters
    ----------
    forward : callable
        ``np.ndarray [shape=(n, bands, frames)], float32 -> np.ndarray [shape=(n, n_genres)]`` logits.
    frames, hop : int
        The clip grid (the model's training clip length; a hop equal to ``frames`` scores
        non-overlapping clips).
    batch_size : int
    """

    in_workers = False

    def __init__(self, forward: Callable[[np.ndarray], np.ndarray], frames: int, hop: int,
                 batch_size: int = 256):
        self.forward, self.frames, self.hop, self.batch_size = forward, frames, hop, batch_size

    def clip_starts(self, window: Window) -> np.ndarray:
        """First frame of each clip the window is cut into (one clip for a window shorter than a clip)."""
        starts = clipping.clip_starts(window.features.shape[1], self.frames, self.hop)
        return starts if starts.size else np.zeros(1, dtype=np.int64)

    def __call__(self, windows: Sequence[Window]) -> list[np.ndarray]:
        """Probabilities ``[n_clips, n_genres]`` of each window's clips."""
        cut = [clipping.clip_frames(w.features, self.frames, self.hop, "pad") for w in windows]
        if not cut:
            return []
        stacked = np.ascontiguousarray(np.concatenate(cut), dtype=np.float32)
        logits = np.concatenate([self.forward(stacked[i:i + self.batch_size])
                                 for i in range(0, stacked.shape[0], self.batch_size)])
        probabilities = softmax(logits)
        return np.split(probabilities, np.cumsum([c.shape[0] for c in cut])[:-1])


class TorchScorer(NetworkScorer):
    """A PyTorch network as a scorer (fp32, inference mode; on the CPU unless moved with :meth:`to`).

    It scores in the worker processes when its network says so (``inference_in_workers``, e.g. the
    musicnn transfer networks of the bundled v2: 14 -> 22 songs/s; the small v1 CNN is faster batched
    in the calling process, 90 against 66; ``benchmarks/predict.py``).
    """

    def __init__(self, model: torch.nn.Module, frames: int, hop: int, batch_size: int = 256):
        self.model = model.eval()
        self.device = torch.device("cpu")
        net = model.net if hasattr(model, "net") else model  # a run's standardisation + network, or a bare one
        self.in_workers = bool(getattr(net, "inference_in_workers", False))
        super().__init__(self._forward, frames, hop, batch_size)

    def to(self, device: str | torch.device) -> "TorchScorer":
        """Run the network on ``device`` (e.g. ``"cuda"``: a Ray scoring actor given a GPU); returns self."""
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    @torch.inference_mode()
    def _forward(self, batch: np.ndarray) -> np.ndarray:
        return self.model(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()


class ClassicalScorer:
    """A fitted scikit-learn pipeline (Wang's baselines, musicnn transfer heads) on each window's vectors.

    Each window is one clip: the mean of the pipeline's probabilities over the vectors read from it.

    Parameters
    ----------
    pipeline : sklearn estimator
        Fitted, with ``predict_proba`` and ``classes_`` (indices into the genres).
    n_genres : int
    vectors : callable
        ``features [bands, frames] -> samples [n, dims]``: what the pipeline reads from a window's
        features (the run's ``sample_vectors``, bound to its model and model arguments).
    """

    frames = None
    hop = None
    batch_size = 256
    in_workers = False

    def __init__(self, pipeline, n_genres: int, vectors: Callable[[np.ndarray], np.ndarray]):
        self.pipeline, self.n_genres, self.vectors = pipeline, n_genres, vectors

    def clip_starts(self, window: Window) -> np.ndarray:
        return np.zeros(1, dtype=np.int64)

    def __call__(self, windows: Sequence[Window]) -> list[np.ndarray]:
        out = []
        for window in windows:
            scores = self.pipeline.predict_proba(self.vectors(window.features))
            probabilities = np.zeros((1, self.n_genres), dtype=np.float32)
            probabilities[0, self.pipeline.classes_] = scores.mean(axis=0)
            out.append(probabilities)
        return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``logits [n, n_genres]``, float32."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
