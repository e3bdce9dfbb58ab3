"""Classify music with a trained model: load once, predict many files fast.

    >>> from genrekit.inference import load_model
    >>> classifier = load_model()                       # doctest: +SKIP  (the bundled model)
    >>> [p.genre for p in classifier.predict(["song.mp3", "~/Music"])]  # doctest: +SKIP

The package, by job:

- :mod:`~genrekit.inference.prediction`: :class:`Prediction`, :class:`Segment`, the minimum-confidence rule;
- :mod:`~genrekit.inference.scorers`: the :class:`Scorer` protocol and the PyTorch and classical scorers;
- :mod:`~genrekit.inference.classifier`: :class:`Classifier` (files, signals, spectrograms, timelines,
  the parallel paths);
- :mod:`~genrekit.inference.model_file`: the genrekit model file (``.pt``);
- :mod:`~genrekit.inference.onnx`: the ONNX Runtime scorer and reading exported ONNX files;
- :mod:`~genrekit.inference.loading`: :func:`load_model` (bundled models, run directories, model and
  ONNX files) and :func:`save_model`.

Writing ONNX files is :mod:`genrekit.export`'s job; it imports this package, never the reverse.
"""

from genrekit.inference.classifier import Classifier, score_windows
from genrekit.inference.loading import BUNDLED, BUNDLED_MODELS, bundled_model_path, load_model, save_model
from genrekit.inference.model_file import MODEL_FORMAT, read_model, write_model
from genrekit.inference.onnx import ONNX_FORMAT, OnnxScorer, load_onnx, read_metadata
from genrekit.inference.prediction import UNKNOWN, Prediction, Segment, check_min_confidence
from genrekit.inference.scorers import ClassicalScorer, NetworkScorer, Scorer, TorchScorer

__all__ = ["Classifier", "Prediction", "Segment", "UNKNOWN", "check_min_confidence", "Scorer", "NetworkScorer",
           "TorchScorer", "OnnxScorer", "ClassicalScorer", "score_windows", "load_model", "save_model",
           "write_model", "read_model", "load_onnx", "read_metadata", "bundled_model_path", "BUNDLED",
           "BUNDLED_MODELS", "MODEL_FORMAT", "ONNX_FORMAT"]
