"""Classify music with a trained model: load once, predict many files fast.

A :class:`Classifier` joins three things: the feature spec the model reads (e.g. the
``coarse_mel`` front end of the bundled model), a scorer that turns feature windows into
per-clip genre probabilities (a PyTorch network, an ONNX Runtime session, or a classical
baseline), and the genre names. Files are decoded and featurised in windows of 30 s
(:mod:`genrekit.features.windows`), in worker processes when there are several, while the
network scores the clips of many files in large batches. A track's probabilities are the
mean of its clips' (the sum rule of Yang & Zhang 2019 and Senac et al. 2017, as a
distribution).

Sources :func:`load_model` accepts: nothing (the bundled model, see ``docs/models.md``), a
run directory written by ``genrekit train``, a model file written by :func:`save_model`
(``.pt``), or an ONNX file written by ``genrekit export --onnx``.
"""

from __future__ import annotations

import glob
import hashlib
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from genrekit import aggregation, features
from genrekit.errors import ConfigError, GenrekitError, reason
from genrekit.features import clips as clipping
from genrekit.features.extraction import Bounded, default_workers, worker_pool
from genrekit.features.windows import DEFAULT_WINDOW_SECONDS, Window, file_windows, read_windows, windows
from genrekit.threads import torch_threads

__all__ = ["Classifier", "Prediction", "UNKNOWN", "check_min_confidence", "Segment", "TorchScorer", "NetworkScorer", "ClassicalScorer",
           "load_model", "save_model", "bundled_model_path", "expand_paths", "MODEL_FORMAT"]

#: Format tag of model files written by :func:`save_model`.
MODEL_FORMAT = "genrekit-model/1"
#: The bundled model, shipped inside the package.
#: The bundled models by name; ``load_model()`` loads :data:`BUNDLED`, ``load_model("NAME")`` any of them.
BUNDLED_MODELS = {"genrekit-musicnn-v2": "genrekit-musicnn-v2.pt", "genrekit-coarse-mel-v1": "genrekit-coarse-mel-v1.pt"}
BUNDLED = "genrekit-musicnn-v2.pt"
#: The genre answered when the most probable genre is less probable than a minimum confidence.
UNKNOWN = "unknown"


def check_min_confidence(p: float | None) -> float | None:
    """A minimum confidence must be a finite probability in [0, 1] (``None``: no minimum)."""
    if p is not None and not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise ConfigError(f"the minimum confidence must be a finite number from 0 to 1, got {p}")
    return p


@dataclass
class Segment:
    """One stretch of a file's timeline: ``start``/``end`` in seconds, and its genre probabilities."""

    start: float
    end: float
    genre: str
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "genre": self.genre,
                "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()}}


@dataclass
class Prediction:
    """The result for one input: a genre and its probabilities, or an error.

    Attributes
    ----------
    path : str or None
        The file (``None`` for arrays).
    genre : str or None
        The most probable genre; ``None`` when ``error`` is set.
    probabilities : dict
        Genre -> probability (mean over the file's clips), in the model's genre order.
    seconds : float
        Audio seconds classified.
    timeline : list of Segment, optional
        Per-segment genres, when asked for.
    tags : dict, optional
        musicnn's tag -> probability (:mod:`genrekit.tags`), when asked for.
    error : str, optional
        Why the file could not be classified, and what to do.
    """

    path: str | None
    genre: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    timeline: list[Segment] | None = None
    error: str | None = None
    tags: dict[str, float] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def genre_or_unknown(self, min_confidence: float | None = None) -> str | None:
        """The genre, or :data:`UNKNOWN` when its probability is below ``min_confidence`` (0..1)."""
        check_min_confidence(min_confidence)
        if self.genre is None or min_confidence is None or self.genre == UNKNOWN:
            return self.genre
        return self.genre if self.probabilities.get(self.genre, 0.0) >= min_confidence else UNKNOWN

    def apply_min_confidence(self, min_confidence: float | None) -> "Prediction":
        """Answer :data:`UNKNOWN` as :attr:`genre` below ``min_confidence`` (:meth:`genre_or_unknown`);
        the probabilities stay. Returns this prediction."""
        self.genre = self.genre_or_unknown(min_confidence)
        return self

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable genres with their probabilities, best first."""
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:k]

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        out: dict[str, Any] = {"path": self.path, "genre": self.genre,
                               "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()},
                               "seconds": round(self.seconds, 3)}
        if self.timeline is not None:
            out["timeline"] = [s.to_dict() for s in self.timeline]
        if self.tags is not None:
            out["tags"] = {k: round(v, 6) for k, v in self.tags.items()}
        return out


@dataclass
class _Scored:
    """A window after scoring: its clips' start and end times (s) and probabilities ``[n_clips, n_genres]``."""

    starts: np.ndarray
    ends: np.ndarray
    probabilities: np.ndarray
    window_end: float


# Scorers: feature windows -> per-clip probabilities ------------------------------------------
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
        probabilities = _softmax(logits)
        return np.split(probabilities, np.cumsum([c.shape[0] for c in cut])[:-1])


class TorchScorer(NetworkScorer):
    """A PyTorch network as a scorer (fp32, CPU, inference mode)."""

    def __init__(self, model: torch.nn.Module, frames: int, hop: int, batch_size: int = 256):
        self.model = model.eval()
        super().__init__(self._forward, frames, hop, batch_size)

    @torch.inference_mode()
    def _forward(self, batch: np.ndarray) -> np.ndarray:
        return self.model(torch.from_numpy(batch)).float().numpy()


class ClassicalScorer:
    """A fitted scikit-learn pipeline (Wang's baselines, musicnn transfer heads) on each window's vectors.

    ``model`` and ``model_args`` name what the pipeline reads (``genrekit.models.assembly.sample_vectors``).
    """

    def __init__(self, pipeline, n_genres: int, model: str = "", model_args: dict | None = None):
        self.pipeline, self.n_genres = pipeline, n_genres
        self.model, self.model_args = model, dict(model_args or {})

    def clip_starts(self, window: Window) -> np.ndarray:
        return np.zeros(1, dtype=np.int64)

    def __call__(self, windows: Sequence[Window]) -> list[np.ndarray]:
        from genrekit.models.assembly import sample_vectors

        out = []
        for window in windows:
            scores = self.pipeline.predict_proba(sample_vectors(window.features, self.model, self.model_args))
            probabilities = np.zeros((1, self.n_genres), dtype=np.float32)
            probabilities[0, self.pipeline.classes_] = scores.mean(axis=0)
            out.append(probabilities)
        return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


# The classifier ------------------------------------------------------------------------------
class Classifier:
    """Genre probabilities for files, signals and spectrograms.

    Parameters
    ----------
    scorer : NetworkScorer or ClassicalScorer
    genres : list of str
        Names of the outputs, in order.
    spec : FeatureSpec
        The representation the model reads (computed from audio here).
    model_id : str
        Identifies the weights (stored with every tagged track).
    info : dict, optional
        Where the model came from (its run configuration, card).
    window_seconds : float
        Files are classified in windows of this length (the training excerpts' length).
    workers : int, optional
        Processes decoding and featurising files in :meth:`predict` (default: the CPUs).
    """

    def __init__(self, scorer, genres: Sequence[str], spec: features.FeatureSpec, model_id: str,
                 info: dict | None = None, window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 workers: int | None = None, rule: str = "mean"):
        if rule not in aggregation.RULES:
            raise ConfigError(f"unknown clip-to-track rule {rule!r}; choose one of {', '.join(aggregation.RULES)}")
        self.rule = rule
        self.scorer = scorer
        self.genres = list(genres)
        self.spec = spec
        self.model_id = model_id
        self.info = dict(info or {})
        self.window_seconds = window_seconds
        self.workers = workers
        #: Score clips in the worker processes (each with a copy of the network, one thread) rather than
        #: here, many files per batch: faster for networks whose scoring costs much more than featurising,
        #: which say so (``inference_in_workers``, e.g. the musicnn transfer networks of the bundled v2:
        #: 14 -> 22 songs/s; the small v1 CNN is faster batched here, 90 against 66; ``benchmarks/predict.py``).
        #: PyTorch scorers only (an ONNX Runtime session cannot be sent to a worker).
        self.score_in_workers = isinstance(scorer, TorchScorer) and bool(
            getattr(getattr(scorer.model, "net", scorer.model), "inference_in_workers", False))

    def __repr__(self) -> str:
        return f"Classifier({self.model_id!r}, spec={self.spec.name!r}, genres={len(self.genres)})"

    # Spectrograms and arrays --------------------------------------------------------------
    def predict_spectrogram(self, db: np.ndarray) -> np.ndarray:
        """Genre probabilities of one spectrogram in the model's input representation, or in the
        representation that input is made from.

        Parameters
        ----------
        db : np.ndarray [shape=(bands, T)]
            For the bundled model: the coarse-mel representation, float32 dB in -80..0 (0 at the
            loudest cell), 128 bands, T columns of 77.5 ms (387 for a 30 s excerpt); the model makes its
            own input from it (v2: musicnn's input, ``MusicnnCoarseSpec.from_source``). At least one clip
            (v1: 39 columns, about 3 s; v2: shorter arrays are padded to one 3 s patch).

        Returns
        -------
        np.ndarray [shape=(len(genres),)], float32, summing to 1
        """
        db = np.asarray(db, dtype=np.float32)
        source = getattr(self.spec, "derives_from", None)
        if db.ndim == 2 and source and db.shape[0] == features.get(source).bands != self.spec.bands:
            if not np.isfinite(db).all():
                raise ConfigError("the spectrogram holds NaN or infinite values")
            db = self.spec.from_source(db)
        if db.ndim != 2 or db.shape[0] != self.spec.bands:
            expected = f"[{self.spec.bands}, T]" + (f" or [{features.get(source).bands}, T] ({source})" if source else "")
            raise ConfigError(f"expected a spectrogram of shape {expected}, got {list(db.shape)}")
        frames = getattr(self.scorer, "frames", 1)
        if db.shape[1] < frames:
            raise ConfigError(f"the spectrogram has {db.shape[1]} columns, fewer than one clip of {frames} "
                              f"({frames * self.spec.hop_seconds:.1f} s)")
        if not np.isfinite(db).all():
            raise ConfigError("the spectrogram holds NaN or infinite values")
        (probabilities,) = self.scorer([Window(0.0, db.shape[1] * self.spec.hop_seconds, db)])
        return self._combine(probabilities)

    def predict_array(self, y: np.ndarray, sr: int, timeline: bool = False,
                      segment_seconds: float = 10.0) -> Prediction:
        """Classify a signal: ``y`` [shape=(n,)] mono float audio at ``sr`` Hz."""
        _check_segment_seconds(segment_seconds)
        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 1:
            raise ConfigError(f"expected mono audio of shape [n], got {list(y.shape)}; average the channels")
        return self._prediction(None, self._score(list(windows(y, sr, self.spec, self.window_seconds))),
                                timeline, segment_seconds)

    # Files ---------------------------------------------------------------------------------
    def predict(self, paths: str | os.PathLike | Iterable[str | os.PathLike], timeline: bool = False,
                segment_seconds: float = 10.0, progress: bool = False,
                on_result: Callable[[int, Prediction], None] | None = None) -> list[Prediction]:
        """Classify files.

        Parameters
        ----------
        paths : path or iterable of paths
            Files, directories (searched recursively for audio files) or glob patterns.
        timeline : bool
            Also return per-segment genres (segments of ``segment_seconds``).
        progress : bool
            Show a progress bar on standard error.
        on_result : callable, optional
            Called as ``on_result(index, prediction)`` as each file finishes (any order).

        Returns
        -------
        list of Prediction
            One per file, in the order of the expanded inputs; a file that cannot be
            classified has ``error`` set and does not stop the others.
        """
        from genrekit.progress import Progress

        _check_segment_seconds(segment_seconds)
        files = expand_paths([paths] if isinstance(paths, (str, os.PathLike)) else list(paths))
        results: list[Prediction | None] = [None] * len(files)

        def done(index: int, prediction: Prediction) -> None:
            results[index] = prediction
            if on_result is not None:
                on_result(index, prediction)
            bar.advance()

        workers = min(self.workers if self.workers is not None else default_workers(), len(files))
        with Progress(len(files), "classifying", enabled=progress) as bar:
            todo = list(range(len(files)))
            if workers > 1:
                todo = self._predict_parallel(files, workers, timeline, segment_seconds, done)
                if todo:
                    warnings.warn("the decoding worker processes stopped unexpectedly; classifying the remaining "
                                  f"{len(todo)} file(s) in this process", RuntimeWarning, stacklevel=2)
            for index in todo:
                done(index, self._predict_file(files[index], timeline, segment_seconds))
        return [r for r in results if r is not None]

    def _predict_file(self, path: str, timeline: bool, segment_seconds: float) -> Prediction:
        """One file in this process, window by window (bounded memory for any length)."""
        scored: list[_Scored] = []
        try:
            for window in file_windows(path, self.spec, self.window_seconds):
                scored.extend(self._score([window]))
        except Exception as exc:  # an exotic file must not stop a batch
            return Prediction(path, error=reason(exc, path))
        return self._prediction(path, scored, timeline, segment_seconds)

    def _predict_parallel(self, files: list[str], workers: int, timeline: bool, segment_seconds: float,
                          done: Callable[[int, Prediction], None]) -> list[int]:
        """Workers decode and featurise; the clips are scored in the workers (:attr:`score_in_workers`)
        or in this process, many files per batch.

        The network runs on one thread in either place: the workers keep the CPUs busy, and an
        oversubscribed OpenMP pool spends its time spinning (3-8x the CPU time per clip,
        measured with two workers on two cores). Returns the indices of the files left
        undone when the pool broke (a worker killed by the system).
        """
        if self.score_in_workers:
            return self._predict_in_workers(files, workers, timeline, segment_seconds, done)
        batch_clips = getattr(self.scorer, "batch_size", 256)
        ready: list[tuple[int, list[Window]]] = []

        def flush() -> None:
            scored = iter(self._score([w for _, found in ready for w in found]))
            for index, found in ready:
                done(index, self._prediction(files[index], [next(scored) for _ in found], timeline,
                                             segment_seconds))
            ready.clear()

        with worker_pool(workers, preload=["genrekit.features.windows"]) as pool, torch_threads(1):
            tasks = Bounded(pool, range(len(files)),
                            lambda p, index: p.submit(read_windows, files[index], self.spec, self.window_seconds),
                            4 * workers)
            for index, future in tasks:
                try:
                    outcome = future.result()
                except Exception as exc:  # the result could not come back (e.g. not picklable)
                    outcome = f"the worker decoding this file failed ({type(exc).__name__}: {exc})"
                if isinstance(outcome, str):
                    done(index, Prediction(files[index], error=outcome))
                else:
                    ready.append((index, outcome))
                clips = sum(self.scorer.clip_starts(w).shape[0] for _, found in ready for w in found)
                if clips >= batch_clips or (not tasks.pending and ready):
                    flush()
            if ready:
                flush()
        return sorted(tasks.left())

    def _predict_in_workers(self, files: list[str], workers: int, timeline: bool, segment_seconds: float,
                            done: Callable[[int, Prediction], None]) -> list[int]:
        """Each worker decodes, featurises and scores whole files with its own copy of the scorer
        (installed once per worker); only clip probabilities come back."""
        with worker_pool(workers, preload=["genrekit.features.windows"], setup=(_install_scorer, self.scorer)) as pool:
            tasks = Bounded(pool, range(len(files)),
                            lambda p, index: p.submit(_score_file, files[index], self.spec, self.window_seconds),
                            4 * workers)
            for index, future in tasks:
                try:
                    outcome = future.result()
                except Exception as exc:  # the result could not come back (e.g. not picklable)
                    outcome = f"the worker classifying this file failed ({type(exc).__name__}: {exc})"
                done(index, Prediction(files[index], error=outcome) if isinstance(outcome, str)
                     else self._prediction(files[index], outcome, timeline, segment_seconds))
        return sorted(tasks.left())

    def _score(self, found: list[Window]) -> list[_Scored]:
        """Score windows (one scorer call for all of them) and time-stamp their clips."""
        return score_windows(self.scorer, self.spec, found)

    def _combine(self, probabilities: np.ndarray) -> np.ndarray:
        """Clip probabilities ``[n_clips, n_genres]`` -> one distribution, by the model's :attr:`rule`."""
        if self.rule == "mean":
            return probabilities.mean(axis=0)
        scores = aggregation.track_scores(probabilities, self.rule)
        return (scores / scores.sum()).astype(np.float32)

    def _prediction(self, path: str | None, scored: list[_Scored], timeline: bool,
                    segment_seconds: float) -> Prediction:
        mean = self._combine(np.concatenate([s.probabilities for s in scored]))
        result = Prediction(path, genre=self.genres[int(np.argmax(mean))],
                            probabilities=dict(zip(self.genres, map(float, mean))),
                            seconds=float(max(s.window_end for s in scored)))
        if timeline:
            result.timeline = self._timeline(scored, segment_seconds)
        return result

    def _timeline(self, scored: list[_Scored], segment_seconds: float) -> list[Segment]:
        """Consecutive segments ``[k * segment_seconds, (k + 1) * segment_seconds)`` (the last one ends
        with the file), each with the mean probabilities of the clips that start in it."""
        starts = np.concatenate([s.starts for s in scored])
        probabilities = np.concatenate([s.probabilities for s in scored])
        duration = max(s.window_end for s in scored)
        group = np.floor(starts / segment_seconds + 1e-9).astype(int)
        segments = []
        for g in np.unique(group):
            mean = self._combine(probabilities[group == g])
            segments.append(Segment(float(g * segment_seconds), float(min((g + 1) * segment_seconds, duration)),
                                    self.genres[int(np.argmax(mean))], dict(zip(self.genres, map(float, mean)))))
        return segments

    def require_torch(self, action: str) -> TorchScorer:
        """This classifier's scorer, or a ``ConfigError`` saying why it cannot be ``action``."""
        if isinstance(self.scorer, TorchScorer):
            return self.scorer
        where = self.info.get("source", self.model_id)
        kind = ("a classical (scikit-learn) baseline" if isinstance(self.scorer, ClassicalScorer)
                else "a network without its PyTorch weights (an ONNX model)")
        raise ConfigError(f"{where}: {kind}; only PyTorch networks can be {action}. Use the run directory "
                          "or model file (.pt) of a network, e.g. one from `genrekit train --model yang2019_net2`")

    def save(self, path: str | os.PathLike, card: dict | None = None) -> Path:
        """Write this classifier's network as a model file (see :func:`save_model`)."""
        self.require_torch("saved as a model file")
        return write_model(path, self.info.get("config", {}), self.scorer.model.training_state(), self.spec,
                           {**self.info.get("card", {}), **(card or {})}, rule=self.rule)


def score_windows(scorer, spec: features.FeatureSpec, found: list[Window]) -> list[_Scored]:
    """Score windows with ``scorer`` (one call for all of them) and time-stamp their clips."""
    hop = spec.hop_seconds
    frames = getattr(scorer, "frames", None)
    out = []
    for window, probabilities in zip(found, scorer(found)):
        starts = window.start + scorer.clip_starts(window) * hop
        end = window.start + window.seconds
        ends = np.minimum(starts + frames * hop, end) if frames else np.full(starts.shape, end)
        out.append(_Scored(starts, ends, probabilities, end))
    return out


#: The scorer of a worker process of :meth:`Classifier._predict_in_workers`.
_worker_scorer = None


def _install_scorer(scorer) -> None:
    global _worker_scorer
    _worker_scorer = scorer
    torch.set_num_threads(1)


def _score_file(path: str, spec: features.FeatureSpec, window_seconds: float) -> list[_Scored] | str:
    """A worker's task: a file's scored clips, or the reason it failed."""
    try:
        return score_windows(_worker_scorer, spec, list(file_windows(path, spec, window_seconds)))
    except Exception as exc:  # an exotic file must not stop a batch
        return reason(exc, path)


def _check_segment_seconds(seconds: float) -> None:
    """Timeline segments must have a finite, positive length (``inf`` would put NaN into JSON)."""
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"segment_seconds must be a finite number of seconds greater than 0, got {seconds}")


def expand_paths(inputs: Iterable[str | os.PathLike]) -> list[str]:
    """Files from files, directories (recursive, audio extensions only) and glob patterns, in order.

    A directory or pattern that matches nothing, and a path that does not exist, are kept
    as they are, so the caller reports them by name; so are the named pipes, devices and broken
    links a folder or pattern holds (:mod:`genrekit.audio` refuses them without opening them).
    """
    from genrekit.datasets.genre_folders import audio_files

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


# Loading and saving -------------------------------------------------------------------------
def bundled_model_path(name: str | None = None) -> Path:
    """Where a bundled model (default :data:`BUNDLED`; or a key of :data:`BUNDLED_MODELS`) lives in the package."""
    return Path(__file__).parent / "pretrained" / (BUNDLED_MODELS[name] if name else BUNDLED)


def _file_id(path: Path, name: str | None = None) -> str:
    """``NAME@SHA`` : the first 12 hex digits of the weights file's SHA-256."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{name or path.stem}@{digest}"


def write_model(path, config: dict, state: dict, spec: features.FeatureSpec, card: dict, rule: str = "mean") -> Path:
    """Write a model file: a network's resolved run configuration (``config``, with ``clip_frames``,
    ``clip_hop``, ``genres``), its ``state_dict``, the feature spec it reads, a model card and the
    clip-to-track ``rule`` the :class:`Classifier` applies. Tensors and plain data only."""
    from genrekit.files import atomic_write

    if rule not in aggregation.RULES:
        raise ConfigError(f"unknown clip-to-track rule {rule!r}; choose one of {', '.join(aggregation.RULES)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": MODEL_FORMAT, "config": config, "spec": spec.to_dict(),
               "state": {k: v.detach().cpu().contiguous() for k, v in state.items()}, "card": card, "rule": rule}
    atomic_write(path, lambda stream: torch.save(payload, stream))
    return path


def save_model(run_dir: str | os.PathLike, path: str | os.PathLike, card: dict | None = None) -> Path:
    """Pack a finished network run (config + best weights + feature spec) into one model file.

    The file holds only tensors and plain data (loadable with ``weights_only=True``).
    """
    from genrekit.runs import load_run, run_spec

    model, config = load_run(run_dir)
    spec = run_spec(config)
    return write_model(path, config, model.state_dict(), spec, card or {})


def load_model(source: str | os.PathLike | None = None, backend: str = "torch", clip_hop: int | None = None,
               workers: int | None = None, batch_size: int = 256, exact: bool = False) -> Classifier:
    """Load a classifier.

    Parameters
    ----------
    source : path or str, optional
        ``None``: the bundled model (:data:`BUNDLED`); a bundled model's name
        (``"genrekit-coarse-mel-v1"``, :data:`BUNDLED_MODELS`). A run directory of ``genrekit train``, a model file
        (``.pt``, :func:`save_model`) or an ONNX file (``.onnx``, ``genrekit export --onnx``).
    backend : {"torch", "onnx"}
        Run a network with PyTorch or ONNX Runtime (an ``.onnx`` source always uses ONNX Runtime).
    clip_hop : int, optional
        Hop between scored clips; default: the model's training hop.
    workers : int, optional
        Decoding processes for :meth:`Classifier.predict`.
    exact : bool
        Score with the network exactly as trained. By default a network that has a faster equivalent
        for scoring uses it: a transfer model on frozen musicnn weights (the bundled model v2) runs the
        pruned musicnn (:meth:`genrekit.models.transfer.TransferNetwork.for_inference`; the same
        decisions on all 639 dev tracks, probabilities within 1e-4), ~7x less work.

    Raises
    ------
    GenrekitError
        The source does not exist or is not a model.
    """
    if source is not None and str(source) in BUNDLED_MODELS:
        source = bundled_model_path(str(source))
    path = bundled_model_path() if source is None else Path(source)
    if not path.exists():
        if source is None:
            raise GenrekitError(f"the bundled model is missing from this installation ({path}); "
                                "reinstall genrekit, or pass a run directory or model file")
        raise GenrekitError(f"{path}: no such model file or run directory")
    if path.suffix == ".onnx":
        from genrekit.export import load_onnx

        return load_onnx(path, clip_hop=clip_hop, workers=workers, batch_size=batch_size)
    if path.is_dir():
        from genrekit.runs import RunDir, load_run, run_spec

        run = RunDir(path)
        weights = run.weights_path()
        model_id = _file_id(weights, f"{path.resolve().name}") if weights.exists() else f"{path.name}@?"
        if run.has_pipeline():
            config = run.read_config()
            pipeline = run.load_pipeline()
            spec = run_spec(config)
            scorer = ClassicalScorer(pipeline, len(config["genres"]), config["model"], config.get("model_args"))
            return Classifier(scorer, config["genres"], spec,
                              model_id, {"config": config, "source": str(path)}, workers=workers)
        model, config = load_run(run)
        spec, card, rule = run_spec(config), {}, "mean"
    else:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise GenrekitError(f"{path}: not a genrekit model file ({type(exc).__name__}: {exc})") from None
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise GenrekitError(f"{path}: not a genrekit model file (no {MODEL_FORMAT!r} format tag)")
        from genrekit.models.assembly import model_from_state

        config, card, rule = payload["config"], payload.get("card", {}), payload.get("rule", "mean")
        model = model_from_state(config, payload["state"])
        spec = features.from_dict(payload["spec"])
        model_id = _file_id(path)
    if not exact:
        model = model.for_inference()
    info = {"config": config, "card": card, "source": str(path)}
    hop = clip_hop or config["clip_hop"]
    if backend == "onnx":
        from genrekit.export import onnx_scorer

        scorer = onnx_scorer(model, config["clip_frames"], hop, batch_size)
    elif backend == "torch":
        scorer = TorchScorer(model, config["clip_frames"], hop, batch_size)
    else:
        raise ConfigError(f"backend must be 'torch' or 'onnx', got {backend!r}")
    return Classifier(scorer, config["genres"], spec, model_id, info, workers=workers, rule=rule)


if __name__ == "__main__":  # pragma: no cover
    print(load_model(sys.argv[1] if len(sys.argv) > 1 else None))
