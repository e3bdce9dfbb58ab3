"""musicnn's 50 Million Song Dataset tags for a file, beside its genre.

A :class:`Tagger` holds the pretrained ``MSD_musicnn`` (:mod:`genrekit.models.musicnn`; Pons & Serra
2019), loaded once. A file is read like :mod:`genrekit.inference` reads it, in 30 s windows of its audio
(:func:`genrekit.features.windows.file_windows`, bounded memory for any length); each window becomes
musicnn's own input (the ``musicnn`` preset: 16 kHz log-mel, :mod:`genrekit.features.musicnn_input`) and
is cut into musicnn's non-overlapping 3 s patches. A file's tags are the mean taggram (the sigmoid tag
probabilities) over all its patches, as musicnn's own ``extractor`` averages its taggram.

The tagger is separate from the genre classifier and runs only when asked (``genrekit predict --tags``,
``genrekit tag --tags``, ``POST /predict?tags=1``): it decodes each file a second time, so prediction
without tags costs what it did.

>>> tagger = Tagger()                                        # doctest: +SKIP
>>> tagger.tag_file("song.wav")                              # doctest: +SKIP
{'rock': 0.61, 'pop': 0.12, ...}                             # all 50, in musicnn's order
>>> top_tags(tagger.tag_file("song.wav"), 5)                 # doctest: +SKIP
[('rock', 0.61), ('guitar', 0.33), ...]
"""

from __future__ import annotations

import os
import threading
from typing import Iterable

import numpy as np

from genrekit.errors import ConfigError, reason
from genrekit.features import musicnn_input
from genrekit.features.windows import DEFAULT_WINDOW_SECONDS, Window, file_windows, windows

__all__ = ["Tagger", "top_tags", "DEFAULT_TOP_TAGS", "NETWORK"]

#: The tagging network: trained on the Million Song Dataset's 50 most common Last.fm tags.
NETWORK = "MSD_musicnn"
#: Tags shown per file unless asked otherwise.
DEFAULT_TOP_TAGS = 5
#: Patches per forward pass (a 30 s window has 10).
_BATCH = 64


def top_tags(tags: dict[str, float], k: int = DEFAULT_TOP_TAGS) -> list[tuple[str, float]]:
    """The ``k`` most probable tags with their probabilities, best first."""
    return sorted(tags.items(), key=lambda item: -item[1])[:k]


class Tagger:
    """musicnn's tag probabilities for files and signals.

    Parameters
    ----------
    network : str
        The pretrained musicnn (:data:`NETWORK`; ``"MTT_musicnn"`` gives MagnaTagATune's 50 tags).
    window_seconds : float
        Files are read in windows of this length (as the classifier reads them).
    exact : bool
        Run the whole network; by default the pruned one (``musicnn_prune.load(network)``: tag
        probabilities within 1e-6 of the whole network's on music, ~7x less work).
    """

    def __init__(self, network: str = NETWORK, window_seconds: float = DEFAULT_WINDOW_SECONDS, exact: bool = False):
        from genrekit.models import musicnn, musicnn_prune

        self.network = (musicnn.load(network) if exact else musicnn_prune.load(network)).eval()
        self.name = network
        self.tags: list[str] = list(self.network.tags)
        self.window_seconds = window_seconds
        self._lock = threading.Lock()  # one forward pass at a time (a server's threads share the tagger)

    def __repr__(self) -> str:
        return f"Tagger({self.name!r}, tags={len(self.tags)})"

    def taggram(self, mel: np.ndarray) -> np.ndarray:
        """Tag probabilities of each 3 s patch of musicnn's input.

        Parameters
        ----------
        mel : np.ndarray [shape=(96, frames)], float32
            The ``musicnn`` preset's output (band-major).

        Returns
        -------
        np.ndarray [shape=(n_patches, 50)], float32
            One row per non-overlapping 187-frame patch (a shorter input is edge-padded to one patch).
        """
        import torch

        mel = np.asarray(mel, dtype=np.float32)
        if mel.ndim != 2 or mel.shape[0] != musicnn_input.N_MELS:
            raise ConfigError(f"musicnn's input is [{musicnn_input.N_MELS}, frames], got {list(mel.shape)}")
        patches = np.ascontiguousarray(musicnn_input.patches(np.ascontiguousarray(mel.T)))
        out = []
        with self._lock, torch.inference_mode():
            for i in range(0, patches.shape[0], _BATCH):
                out.append(self.network(torch.from_numpy(patches[i:i + _BATCH]))["taggram"].float().numpy())
        return np.concatenate(out)

    def _mean(self, found: Iterable[Window]) -> dict[str, float]:
        """The mean taggram over the patches of all windows, as tag -> probability."""
        rows = [self.taggram(window.features) for window in found]
        mean = np.concatenate(rows).mean(axis=0)
        return dict(zip(self.tags, map(float, mean)))

    def tag_array(self, y: np.ndarray, sr: int) -> dict[str, float]:
        """All tags of a signal: ``y`` [shape=(n,)] mono float audio at ``sr`` Hz (resampled to 16 kHz)."""
        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 1:
            raise ConfigError(f"expected mono audio of shape [n], got {list(y.shape)}; average the channels")
        return self._mean(windows(y, sr, "musicnn", self.window_seconds))

    def tag_file(self, path: str | os.PathLike) -> dict[str, float]:
        """All tags of a file, in :attr:`tags` order, read window by window.

        Raises
        ------
        AudioError, FeatureError
            The file cannot be decoded, or is empty or silent.
        """
        return self._mean(file_windows(path, "musicnn", self.window_seconds))

    def add_tags(self, prediction) -> None:
        """Put a classified file's tags into its :class:`~genrekit.inference.Prediction` (``tags``).

        A file that was classified but cannot be tagged (it changed in between) becomes an error,
        with the reason; one that was not classified is left as it is.
        """
        if not prediction.ok or prediction.path is None:
            return
        try:
            prediction.tags = self.tag_file(prediction.path)
        except Exception as exc:  # an exotic file must not stop a batch
            prediction.error = f"could not be tagged: {reason(exc, prediction.path)}"
