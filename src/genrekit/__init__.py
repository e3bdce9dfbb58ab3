"""genrekit: music genre classification with convolutional networks.

Layers, top to bottom (data flows down, nothing flows up)::

    audio        decode any file -> mono float32 at a target rate
    datasets     Track records, GTZAN / folder / synthetic collections, splits
    features     feature specs (log-mel, STFT, summary vectors), clips, cache, extraction
    apps         the command line (``genrekit --help``)

See ``docs/architecture.md``.
"""

from genrekit.errors import AudioError, ConfigError, DatasetError, FeatureError, GenrekitError

__version__ = "0.1.0"

__all__ = [
    "AudioError",
    "ConfigError",
    "DatasetError",
    "FeatureError",
    "GenrekitError",
    "__version__",
]
