"""The :class:`Classifier`: genre probabilities for files, signals and spectrograms.

A Classifier joins three things: the feature spec the model reads (e.g. the ``coarse_mel`` front end
of the bundled model v1), a :class:`~genrekit.inference.scorers.Scorer` that turns feature windows into
per-clip genre probabilities (a PyTorch network, an ONNX Runtime session, or a classical baseline), and
the genre names. Files are decoded and featurised in windows of 30 s (:mod:`genrekit.features.windows`),
in worker processes when there are several (:mod:`genrekit.pool`), while the network scores the clips of
many files in large batches, here or in the workers (:attr:`Classifier.score_in_workers`). A track's
probabilities are its clips' combined by the model's clip-to-track rule (:mod:`genrekit.aggregation`):
the rule its run was evaluated with, e.g. the mean (Dong 2018), the sum (Yang & Zhang 2019; as a
distribution, the mean) or the majority vote (Wang; Zhang 2016; Senac et al. 2017).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from genrekit import aggregation, features
from genrekit.errors import ConfigError, reason
from genrekit.features.windows import DEFAULT_WINDOW_SECONDS, Window, file_windows, read_windows, windows
from genrekit.inference.model_file import write_model
from genrekit.inference.prediction import Prediction, Segment
from genrekit.inference.scorers import ClassicalScorer, Scorer, TorchScorer
from genrekit.paths import expand_paths
from genrekit.pool import Bounded, default_workers, worker_pool, worker_state
from genrekit.threads import torch_threads

__all__ = ["Classifier", "score_windows", "check_segment_seconds"]


@dataclass
class _Scored:
    """A window after scoring: its clips' start and end times (s) and probabilities ``[n_clips, n_genres]``."""

    starts: np.ndarray
    ends: np.ndarray
    probabilities: np.ndarray
    window_end: float


class Classifier:
    """Genre probabilities for files, signals and spectrograms.

    Parameters
    ----------
    scorer : Scorer
        Clip probabilities for feature windows (:mod:`genrekit.inference.scorers`).
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
    rule : str
        How clip probabilities become a file's (or a timeline segment's): one of
        :data:`genrekit.aggregation.RULES`, normally the rule the model's run was evaluated with
        (:func:`~genrekit.inference.load_model` reads it from the run, model file or ONNX file).
        ``sum`` and ``mean`` give the same distribution; ``vote`` gives the vote shares (with the
        tie-break of :func:`genrekit.aggregation.vote`), ``geomean`` the normalised geometric mean.
    """

    def __init__(self, scorer: Scorer, genres: Sequence[str], spec: features.FeatureSpec, model_id: str,
                 info: dict | None = None, window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 workers: int | None = None, rule: str = "mean"):
        self.rule = aggregation.check_rule(rule)
        self.scorer = scorer
        self.genres = list(genres)
        self.spec = spec
        self.model_id = model_id
        self.info = dict(info or {})
        self.window_seconds = window_seconds
        self.workers = workers
        #: Score clips in the worker processes (each with a copy of the scorer, one thread) rather than
        #: here, many files per batch: the scorer's choice (:attr:`Scorer.in_workers`; PyTorch networks
        #: that say so, e.g. the bundled v2; an ONNX Runtime session cannot be sent to a worker).
        self.score_in_workers = scorer.in_workers

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
        elif db.ndim == 2 and db.shape[0] == self.spec.bands:
            db = self.spec.conform(db)  # e.g. the bands a coarse_mel spec with max_hz does not read
        if db.ndim != 2 or db.shape[0] != self.spec.bands:
            expected = f"[{self.spec.bands}, T]" + (f" or [{features.get(source).bands}, T] ({source})" if source else "")
            raise ConfigError(f"expected a spectrogram of shape {expected}, got {list(db.shape)}")
        frames = self.scorer.frames or 1  # a classical scorer reads any window
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
        check_segment_seconds(segment_seconds)
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

        check_segment_seconds(segment_seconds)
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
        batch_clips = self.scorer.batch_size
        ready: list[tuple[int, list[Window]]] = []

        def flush() -> None:
            for (index, _), scored in zip(ready, self.score_files([found for _, found in ready])):
                done(index, self.prediction_from_scored(files[index], scored, timeline, segment_seconds))
            ready.clear()

        def take(index: int, outcome: list[Window] | str) -> None:
            if isinstance(outcome, str):
                done(index, self.prediction_from_scored(files[index], outcome))
                return
            ready.append((index, outcome))
            if sum(self.scorer.clip_starts(w).shape[0] for _, found in ready for w in found) >= batch_clips:
                flush()

        with torch_threads(1):
            left = self._in_workers(files, workers, read_windows, "decoding", take)
            if ready:
                flush()
        return left

    def _predict_in_workers(self, files: list[str], workers: int, timeline: bool, segment_seconds: float,
                            done: Callable[[int, Prediction], None]) -> list[int]:
        """Each worker decodes, featurises and scores whole files with its own copy of the scorer
        (installed once per worker); only clip probabilities come back."""
        def take(index: int, outcome: list[_Scored] | str) -> None:
            done(index, self.prediction_from_scored(files[index], outcome, timeline, segment_seconds))

        return self._in_workers(files, workers, _score_file, "classifying", take, state=self.scorer)

    def _in_workers(self, files: list[str], workers: int, task: Callable, doing: str,
                    take: Callable[[int, Any], None], state: Any = None) -> list[int]:
        """Run ``task(path, spec, window_seconds)`` on every file in worker processes and hand each result, or
        the reason it failed (a string), to ``take(index, outcome)`` as it comes. Returns the indices of the
        files left undone when the pool broke (a worker killed by the system)."""
        with worker_pool(workers, preload=["genrekit.features.windows"], state=state) as pool:
            tasks = Bounded(pool, range(len(files)),
                            lambda p, index: p.submit(task, files[index], self.spec, self.window_seconds),
                            4 * workers)
            for index, future in tasks:
                try:
                    outcome = future.result()
                except Exception as exc:  # the result could not come back (e.g. not picklable)
                    outcome = f"the worker {doing} this file failed ({type(exc).__name__}: {exc})"
                take(index, outcome)
        return sorted(tasks.left())

    def _score(self, found: list[Window]) -> list[_Scored]:
        """Score windows (one scorer call for all of them) and time-stamp their clips."""
        return score_windows(self.scorer, self.spec, found)

    def score_files(self, windows_of_files: list[list[Window]]) -> list[list[_Scored]]:
        """Score the windows of many files in one scorer call (large batches) and give each file its own.

        Parameters
        ----------
        windows_of_files : list of list of Window
            Per file, its feature windows (:func:`genrekit.features.windows.read_windows`).

        Returns
        -------
        list of list of scored windows
            Per file, what :meth:`prediction_from_scored` turns into its :class:`Prediction`.
        """
        scored = iter(self._score([w for found in windows_of_files for w in found]))
        return [[next(scored) for _ in found] for found in windows_of_files]

    def prediction_from_scored(self, path: str | None, scored: list[_Scored] | str, timeline: bool = False,
                               segment_seconds: float = 10.0) -> Prediction:
        """A file's :class:`Prediction` from its scored windows (:meth:`score_files`, or scored where the
        windows were read: worker processes, Ray actors), by the model's rule; ``scored`` a string: the
        reason the file could not be classified."""
        if isinstance(scored, str):
            return Prediction(path, error=scored)
        return self._prediction(path, scored, timeline, segment_seconds)

    def _combine(self, probabilities: np.ndarray) -> np.ndarray:
        """Clip probabilities ``[n_clips, n_genres]`` -> one distribution, by the model's :attr:`rule`.

        One clip is its own distribution whatever the rule (every rule decides its argmax); a majority
        vote's normalised scores would otherwise show a one-clip decision as ~80 % sure."""
        if self.rule in ("mean", "sum") or probabilities.shape[0] == 1:  # the normalised sum is the mean
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
        """Write this classifier's network as a model file (:mod:`genrekit.inference.model_file`), with its rule."""
        self.require_torch("saved as a model file")
        return write_model(path, self.info.get("config", {}), self.scorer.model.training_state(), self.spec,
                           {**self.info.get("card", {}), **(card or {})}, rule=self.rule)


def score_windows(scorer: Scorer, spec: features.FeatureSpec, found: list[Window]) -> list[_Scored]:
    """Score windows with ``scorer`` (one call for all of them) and time-stamp their clips: a clip ends
    ``scorer.frames`` after its start, or with its window when the window is the clip."""
    hop = spec.hop_seconds
    frames = scorer.frames
    out = []
    for window, probabilities in zip(found, scorer(found)):
        starts = window.start + scorer.clip_starts(window) * hop
        end = window.start + window.seconds
        ends = np.minimum(starts + frames * hop, end) if frames else np.full(starts.shape, end)
        out.append(_Scored(starts, ends, probabilities, end))
    return out


def _score_file(path: str, spec: features.FeatureSpec, window_seconds: float) -> list[_Scored] | str:
    """A worker's task: a file's scored clips (by the scorer installed as the pool's state), or the reason it
    failed."""
    torch.set_num_threads(1)
    try:
        return score_windows(worker_state(), spec, list(file_windows(path, spec, window_seconds)))
    except Exception as exc:  # an exotic file must not stop a batch
        return reason(exc, path)


def check_segment_seconds(seconds: float) -> None:
    """Timeline segments must have a finite, positive length (``inf`` would put NaN into JSON)."""
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"segment_seconds must be a finite number of seconds greater than 0, got {seconds}")


