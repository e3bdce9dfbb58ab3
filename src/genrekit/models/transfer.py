"""Transfer learning from musicnn: its embeddings as cached features.

A pretrained musicnn (:mod:`genrekit.models.musicnn`; Pons & Serra 2019, trained on ~200k Million Song
Dataset tracks or on MagnaTagATune) turns each 3 s patch of its log-mel input into four outputs:
``taggram`` (50 tag probabilities), ``penultimate`` (200), ``mean_pool`` and ``max_pool`` (753 each,
the mid end's features pooled over time). :class:`MusicnnEmbeddingSpec` is a feature spec whose values
are all four stacked, one column per patch, so they are computed once per file and cached like any
other features, and a model picks the layers it reads (:func:`layer_rows`).

Presets (each with its input front end, :mod:`genrekit.features.musicnn_input`):

========================  ===========================================================================
``musicnn_msd``           MSD_musicnn on musicnn's own input from audio (``musicnn`` preset)
``musicnn_msd_coarse``    MSD_musicnn on the coarse-mel adapter (``musicnn_coarse``); also made from
                          the ``gtzan-coarse-mel`` arrays, which have no audio
``musicnn_mtt``,          the same with MTT_musicnn
``musicnn_mtt_coarse``
========================  ===========================================================================

The network runs on one PyTorch thread inside :meth:`MusicnnEmbeddingSpec.compute` (extraction's
parallelism is its worker processes), so a cached embedding does not depend on which process made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from genrekit.errors import ConfigError
from genrekit.features import musicnn_input
from genrekit.features.clips import ClipSpec
from genrekit.features.specs import FeatureSpec, get
from genrekit.features.specs import register as register_preset
from genrekit.models.registry import ModelInfo, register
from genrekit.threads import torch_threads

__all__ = ["DEFAULT_C", "DEFAULT_LAYERS", "HEADS", "LAYERS", "MusicnnEmbeddingSpec", "TransferNetwork", "build_head",
           "head_samples", "layer_rows", "track_vector"]

#: musicnn's outputs, in the order they are stacked, with their sizes.
LAYERS = {"taggram": 50, "penultimate": 200, "mean_pool": 753, "max_pool": 753}

_networks: dict = {}


def _network(name: str):
    """The pretrained network ``name``, loaded once per process."""
    if name not in _networks:
        from genrekit.models import musicnn

        _networks[name] = musicnn.load(name)
    return _networks[name]


def layer_rows(layers: str) -> np.ndarray:
    """Rows of an embedding array that hold ``layers`` (names joined by ``+``, e.g. ``mean_pool+max_pool``).

    Returns
    -------
    np.ndarray [shape=(n_rows,)], int64
    """
    starts = dict(zip(LAYERS, np.cumsum([0, *LAYERS.values()])[:-1].tolist()))
    rows = []
    for layer in layers.split("+"):
        if layer not in LAYERS:
            raise ConfigError(f"unknown musicnn layer {layer!r}; choose from {', '.join(LAYERS)} (join with +)")
        rows.append(np.arange(starts[layer], starts[layer] + LAYERS[layer]))
    return np.concatenate(rows)


def track_vector(embeddings: np.ndarray, layers: str = "mean_pool") -> np.ndarray:
    """One vector for a track: the chosen layers averaged over its patches.

    Parameters
    ----------
    embeddings : np.ndarray [shape=(1756, n_patches)]
        :meth:`MusicnnEmbeddingSpec.compute`'s output.

    Returns
    -------
    np.ndarray [shape=(n_rows,)], float32
    """
    return embeddings[layer_rows(layers)].mean(axis=1).astype(np.float32)


@dataclass(frozen=True)
class MusicnnEmbeddingSpec(FeatureSpec):
    """musicnn's four outputs per 3 s patch, stacked: ``[1756, n_patches]`` float32.

    Rows: ``taggram`` 0-49, ``penultimate`` 50-249, ``mean_pool`` 250-1002, ``max_pool`` 1003-1755
    (:data:`LAYERS`). One column per non-overlapping 187-frame patch of the input preset; a track shorter
    than one patch gets one, edge-padded.

    Attributes
    ----------
    input : str
        The preset of musicnn's input: ``musicnn`` (from 16 kHz audio) or ``musicnn_coarse``.
    network : str
        ``MSD_musicnn`` or ``MTT_musicnn``.
    """

    kind: ClassVar[str] = "musicnn_embedding"
    name: str = "musicnn_msd"
    input: str = "musicnn"
    network: str = "MSD_musicnn"
    sr: int = musicnn_input.SR
    clip: ClipSpec = ClipSpec(1, 1)

    def __post_init__(self):
        source = get(self.input)
        if source.bands != musicnn_input.N_MELS:
            raise ConfigError(f"musicnn reads {musicnn_input.N_MELS}-band input; {self.input!r} has {source.bands}")
        if source.sr != self.sr:
            raise ConfigError(f"{self.name}: sr {self.sr} differs from its input {self.input!r} ({source.sr})")

    @property
    def derives_from(self) -> str | None:
        """The preset whose arrays :meth:`from_source` converts (that of the input, if any)."""
        return getattr(get(self.input), "derives_from", None)

    @property
    def bands(self) -> int:
        return sum(LAYERS.values())

    @property
    def hop_seconds(self) -> float:
        return musicnn_input.PATCH_FRAMES * musicnn_input.HOP / musicnn_input.SR

    def n_frames(self, n_samples: int) -> int:
        return max(1, get(self.input).n_frames(n_samples) // musicnn_input.PATCH_FRAMES)

    def embed(self, mel: np.ndarray) -> np.ndarray:
        """``[96, frames]`` musicnn input -> ``[1756, n_patches]``."""
        import torch

        patches = musicnn_input.patches(np.ascontiguousarray(mel.T))
        with torch_threads(1), torch.inference_mode():
            out = _network(self.network)(torch.from_numpy(np.ascontiguousarray(patches)))
        return np.concatenate([out[layer].float().numpy().T for layer in LAYERS]).astype(np.float32)

    def from_source(self, array: np.ndarray) -> np.ndarray:
        """Embeddings from the arrays of :attr:`derives_from` (e.g. coarse-mel dB ``[128, columns]``)."""
        if self.derives_from is None:
            raise ConfigError(f"{self.name} is computed from audio only")
        return self.embed(get(self.input).from_source(array))

    def compute(self, y: np.ndarray) -> np.ndarray:
        return self.embed(get(self.input).compute(y))


for _network_name, _short in (("MSD_musicnn", "msd"), ("MTT_musicnn", "mtt")):
    register_preset(MusicnnEmbeddingSpec(name=f"musicnn_{_short}", input="musicnn", network=_network_name,
                                  sr=musicnn_input.SR))
    register_preset(MusicnnEmbeddingSpec(name=f"musicnn_{_short}_coarse", input="musicnn_coarse", network=_network_name,
                                  sr=musicnn_input.COARSE_SR))


# Heads: scikit-learn classifiers on the embeddings -------------------------------------------------
#: Transfer models ``genrekit train --model NAME`` knows: name -> (network, head).
HEADS = {"musicnn_msd_logreg": ("MSD_musicnn", "logreg"), "musicnn_msd_svm": ("MSD_musicnn", "svm"),
         "musicnn_mtt_logreg": ("MTT_musicnn", "logreg"), "musicnn_mtt_svm": ("MTT_musicnn", "svm")}

#: What the heads read by default: chosen by 5-fold cross-validation on the artist-filtered train list
#: of gtzan-coarse-mel (docs/models.md, "Bundled model v2").
DEFAULT_LAYERS = "mean_pool+max_pool"
#: Inverse regularisation of each head kind, chosen the same way (logistic regression: C = 0.01; the RBF
#: SVM's best was scikit-learn's default C = 1).
DEFAULT_C = {"logreg": 0.01, "svm": 1.0}


def build_head(name: str, seed: int = 0, C: float | None = None):
    """The unfitted head of transfer model ``name``: drop constant dimensions, standardise, classify.

    musicnn's pooled features hold many dimensions that are constant on music (dead front-end filters),
    hence the variance filter.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if name not in HEADS:
        raise ConfigError(f"unknown transfer model {name!r}; choose one of {', '.join(HEADS)}")
    kind = HEADS[name][1]
    C = DEFAULT_C[kind] if C is None else float(C)
    estimator = (LogisticRegression(C=C, max_iter=5000) if kind == "logreg"
                 else CalibratedClassifierCV(SVC(C=C, kernel="rbf", random_state=seed), ensemble=False))
    return Pipeline([("constant", VarianceThreshold(1e-8)), ("scale", StandardScaler()), ("model", estimator)])


def head_samples(values: np.ndarray, layers: str = DEFAULT_LAYERS, **_) -> np.ndarray:
    """The one sample ``[1, n]`` a head reads from a track's embeddings: ``layers`` averaged over the patches."""
    return track_vector(values, layers)[None]


def _head_info(name: str) -> ModelInfo:
    """A transfer head: musicnn embeddings (from audio, or from the coarse-mel arrays on that data set)
    averaged over the track, one scikit-learn fit."""
    short = "msd" if HEADS[name][0] == "MSD_musicnn" else "mtt"
    return ModelInfo(name=name, builder=lambda seed=0, C=None, **_: build_head(name, seed, C),
                     paper="musicnn transfer (Pons & Serra 2019 embeddings + scikit-learn head)",
                     features=f"musicnn_{short}", coarse_features=f"musicnn_{short}_coarse", optimizer={},
                     batch_size=1, epochs=1, sampling="fixed", aggregation="mean", patience=0, kind="classical",
                     vectors=head_samples)


for _head in HEADS:
    register(_head_info(_head))


# A network: musicnn + a linear head, end to end ---------------------------------------------------
class TransferNetwork(nn.Module):
    """Pretrained musicnn with a linear classifier on its pooled features, per 3 s clip.

    Like every genrekit network it takes ``[batch, bands, frames]`` (here ``[B, 96, 187]`` musicnn input,
    band-major; it is transposed for musicnn) and returns logits ``[B, n_classes]``. Trained by the
    ordinary loop (``genrekit train --model musicnn_msd_linear``) it fine-tunes musicnn end to end; a
    scikit-learn logistic regression fitted on the embeddings can also be folded into :attr:`head`
    (:meth:`set_linear_head`), which is how the bundled model v2 is made. The mean of a track's clip
    logits is then the head applied to the track's mean embedding (the head is affine), so the
    ``geomean`` clip-to-track rule reproduces classifying the mean embedding.

    Parameters
    ----------
    n_bands, n_frames : int
        96 bands; any number of frames (187 in musicnn's training).
    n_classes : int
    network : {"MSD_musicnn", "MTT_musicnn"}
    layers : str
        The pooled outputs the head reads (:func:`layer_rows` names, joined by ``+``).
    pretrained : bool
        Start from the converted weights (else musicnn's architecture, randomly initialised).
    """

    #: Scoring a clip costs far more than featurising it: ``Classifier.predict`` scores in its worker
    #: processes (:attr:`genrekit.inference.Classifier.score_in_workers`).
    inference_in_workers: ClassVar[bool] = True

    def __init__(self, n_bands: int = musicnn_input.N_MELS, n_frames: int = musicnn_input.PATCH_FRAMES,
                 n_classes: int = 10, network: str = "MSD_musicnn", layers: str = DEFAULT_LAYERS,
                 pretrained: bool = True):
        super().__init__()
        from genrekit.models import musicnn

        if n_bands != musicnn_input.N_MELS:
            raise ConfigError(f"musicnn reads {musicnn_input.N_MELS} mel bands, not {n_bands}")
        layer_rows(layers)  # checks the names
        self.layers = layers.split("+")
        self.network, self.n_bands = network, n_bands
        self.musicnn = musicnn.load(network).train() if pretrained else musicnn.Musicnn(musicnn.MODELS[network])
        self.head = nn.Linear(sum(LAYERS[name] for name in self.layers), n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 96, frames]`` -> the chosen pooled features ``[B, n_features]``."""
        out = self.musicnn(x.transpose(1, 2))
        return torch.cat([out[name] for name in self.layers], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    def for_inference(self) -> nn.Module:
        """This network for scoring only: when its musicnn still has the pretrained weights (a head fitted on
        frozen embeddings, like the bundled model v2), musicnn is replaced by the pruned network
        (:func:`genrekit.models.musicnn_prune.load`): the same outputs
        within 1.4e-4 on music, ~7x less work. A fine-tuned musicnn is kept whole (its dead channels are
        not known). The result is in eval mode and its ``state_dict`` no longer matches the training one:
        save a model before calling this, never after.
        """
        from genrekit.models import musicnn, musicnn_prune

        if isinstance(self.musicnn, musicnn.Musicnn) and _same_weights(self.musicnn, musicnn.load(self.network)):
            self.musicnn = musicnn_prune.prune(self.musicnn.eval(), musicnn_prune.kept_channels(self.network))
        return self.eval()

    @torch.no_grad()
    def set_linear_head(self, pipeline) -> None:
        """Fold a fitted ``VarianceThreshold -> StandardScaler -> LogisticRegression`` pipeline
        (:func:`build_head` with ``logreg``) into :attr:`head`: ``W' = W / scale``, ``b' = b - W' mean``,
        zero weight for the dimensions the variance filter dropped."""
        kept = pipeline.named_steps["constant"].get_support()
        scaler, model = pipeline.named_steps["scale"], pipeline.named_steps["model"]
        if not hasattr(model, "coef_") or kept.shape[0] != self.head.in_features:
            raise ConfigError("set_linear_head takes a fitted logistic-regression head on this network's layers")
        weight = np.zeros((self.head.out_features, kept.shape[0]))
        bias = np.zeros(self.head.out_features)
        rows = np.searchsorted(np.arange(self.head.out_features), model.classes_)
        scaled = model.coef_ / scaler.scale_[None, :]
        weight[np.ix_(rows, np.flatnonzero(kept))] = scaled
        bias[rows] = model.intercept_ - scaled @ scaler.mean_
        if len(model.classes_) < self.head.out_features:  # a class never seen in training never wins
            bias[np.setdiff1d(np.arange(self.head.out_features), rows)] = -1e4
        self.head.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        self.head.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    """True when two modules hold exactly the same parameters and buffers."""
    state_a, state_b = a.state_dict(), b.state_dict()
    return state_a.keys() == state_b.keys() and all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def _finetune_info(name: str, network: str) -> ModelInfo:
    """``genrekit train --model musicnn_msd_linear`` fine-tunes musicnn and its head end to end."""
    return ModelInfo(
        name=name, builder=lambda **kwargs: TransferNetwork(network=network, **kwargs),
        paper="Pons & Serra 2019 (musicnn, pretrained) + a linear head, fine-tuned end to end",
        features="musicnn", coarse_features="musicnn_coarse", n_bands=musicnn_input.N_MELS,
        n_frames=musicnn_input.PATCH_FRAMES, optimizer={"name": "adam", "lr": 1e-4}, batch_size=32, epochs=20,
        sampling="fixed", aggregation="geomean", patience=5,
        notes="Fine-tuning settings are genrekit's (a small learning rate so the pretrained filters move "
              "little); musicnn's input is not standardised (use --normalize none). Slow on a CPU: ~1 s per "
              "forward pass of 10 patches on one core.")


register(_finetune_info("musicnn_msd_linear", "MSD_musicnn"))
register(_finetune_info("musicnn_mtt_linear", "MTT_musicnn"))
