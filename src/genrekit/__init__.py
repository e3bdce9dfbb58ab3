"""genrekit: music genre classification with convolutional networks.

Layers, top to bottom (a module imports from its own layer and those above it; the order is stated once,
in ``docs/architecture.md``, and checked by ``tests/test_import_graph.py``)::

    errors, files, progress, threads   errors for people, atomic writes, global state in one place
    audio, plotting                    decode any file; figures saved atomically
    pool, paths                        worker processes that die with their parent; which files to read
    datasets                           Track records, GTZAN / coarse-mel / folder / synthetic collections, splits
    features                           feature specs (log-mel, STFT, coarse-mel, music, musicnn input), cache
    models                             the papers' networks, classical baselines, musicnn, model assembly
    aggregation, metrics               clip -> track decisions; accuracy, confusion, recall, CIs
    runs, data                         the run directory's files; dataset + features + split -> arrays
    training                           the training engine
    inference, export                  Classifier: files, arrays, spectrograms -> genres (``load_model``); ONNX
    tags, filetags, tagger             musicnn's tags, genres in files' tags, the library catalogue
    explain                            receptive fields, STRF filters, LDA views, feature maps
    evaluation                         the papers' protocols, results.json, reports
    apps                               the command line (``genrekit --help``), the web server, the demo

``genrekit.load_model()`` returns the bundled pretrained classifier (``docs/models.md``).

See ``docs/architecture.md``.
"""

from genrekit.errors import AudioError, ConfigError, DatasetError, FeatureError, GenrekitError

__version__ = "0.1.0"

__all__ = [
    "load_model",
    "AudioError",
    "ConfigError",
    "DatasetError",
    "FeatureError",
    "GenrekitError",
    "__version__",
]


def __getattr__(name: str):
    # load_model imports torch: only when asked for, so `import genrekit` stays light.
    if name == "load_model":
        from genrekit.inference import load_model

        return load_model
    raise AttributeError(f"module 'genrekit' has no attribute {name!r}")
