"""genrekit: music genre classification with convolutional networks.

Layers, top to bottom (data flows down, nothing flows up)::

    audio        decode any file -> mono float32 at a target rate
    datasets     Track records, GTZAN / folder / synthetic collections, splits
    features     feature specs (log-mel, STFT, coarse-mel, music features), clips, cache, extraction
    models       the papers' networks and classical baselines
    training     the training engine and run directories
    evaluation   protocols, metrics, reproductions, reports
    inference    Classifier: files, arrays, spectrograms -> genres (``load_model``)
    explain      receptive fields, STRF filters, LDA views, feature maps
    apps         the command line (``genrekit --help``), the web server, the tagger's command

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
