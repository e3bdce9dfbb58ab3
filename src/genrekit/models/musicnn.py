"""musicnn: Pons & Serra's pretrained music auto-tagging networks, ported to PyTorch.

J. Pons, X. Serra, "musicnn: Pre-trained convolutional neural networks for music audio tagging",
ISMIR 2019 late-breaking/demo (arXiv:1909.06654); the architecture is J. Pons, O. Nieto, M. Prockup,
E. M. Schmidt, A. F. Ehmann, X. Serra, "End-to-end learning for music audio tagging at scale", ISMIR 2018
(its spectrogram model: musically motivated front end, dense mid end, temporal-pooling back end). The
released code is the reference cited below, function by function.

The code follows the released package, PyPI ``musicnn==0.1.0`` (ISC licence, Music Technology Group,
Universitat Pompeu Fabra; see ``genrekit/pretrained/musicnn/LICENSE.md``), op for op:
``musicnn/models.py`` (``build_musicnn``, ``frontend``, ``timbral_block``, ``tempo_block``, ``midend``,
``backend``) and ``musicnn/configuration.py`` (signal constants, tag lists). The weights are the package's
TensorFlow checkpoints, converted by :func:`convert_checkpoint` (``scripts/convert_musicnn.py``) and
shipped as plain ``state_dict`` files, so neither TensorFlow nor the package is needed.

Input: ``[batch, frames, 96]`` float32 patches of ``log10(1 + 10000 * mel)``, the mel power spectrogram of
16 kHz audio (n_fft 512, hop 256, 96 Slaney mel bands, librosa's defaults), 187 frames (3 s) per patch
in training (``musicnn/extractor.py``, ``batch_data``). The network takes any number of frames.

>>> from genrekit.models import musicnn
>>> net = musicnn.load("MSD_musicnn")                               # doctest: +SKIP
>>> out = net(torch.zeros(4, 187, 96))                              # doctest: +SKIP
>>> [tuple(out[k].shape) for k in ("taggram", "penultimate", "mean_pool", "max_pool")]  # doctest: +SKIP
[(4, 50), (4, 200), (4, 753), (4, 753)]
>>> net.tags[:3]                                                    # doctest: +SKIP
['rock', 'pop', 'alternative']

The layers are plain ``Conv2d`` / ``Conv1d`` / ``BatchNorm`` / ``Linear`` modules with fixed names, so
:mod:`genrekit.models.musicnn_prune` can drop the front-end channels that never change on music
(``musicnn_prune.load(name)``: the same outputs within 1e-6 on music, ~7x faster). Front-end channel ``c`` (in
``MusicnnFrontEnd.branch_names`` order, 561 in all) is one output channel of its branch's ``conv`` and
``bn``, input channel ``c`` of ``midend.conv1``, feature ``c`` of ``mean_pool`` / ``max_pool``, and features
``2c`` (max) and ``2c + 1`` (mean) of ``backend.pool_bn`` and input columns of ``backend.dense``.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genrekit.errors import ConfigError, GenrekitError
from genrekit.models.layers import same_padding

__all__ = ["MODELS", "MSD_LABELS", "MTT_LABELS", "Musicnn", "MusicnnBackEnd", "MusicnnFrontEnd",
           "MusicnnMidEnd", "TemporalBranch", "TimbralBranch", "check_patches", "convert_checkpoint",
           "convert_wheel", "extract_checkpoint", "in_chunks", "load", "weights_path"]

# Signal processing of the training data (musicnn/configuration.py; extractor.py for the patch length).
SR = 16000
FFT_SIZE = 512
FFT_HOP = 256
N_MELS = 96
N_FRAMES = 187  # 3 s patches: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
LOG_SCALE = 10000.0  # input = log10(1 + LOG_SCALE * mel power) (extractor.py, batch_data)

# Tag lists, in output order (musicnn/configuration.py).
MTT_LABELS = ['guitar', 'classical', 'slow', 'techno', 'strings', 'drums', 'electronic', 'rock', 'fast',
              'piano', 'ambient', 'beat', 'violin', 'vocal', 'synth', 'female', 'indian', 'opera', 'male',
              'singing', 'vocals', 'no vocals', 'harpsichord', 'loud', 'quiet', 'flute', 'woman', 'male vocal',
              'no vocal', 'pop', 'soft', 'sitar', 'solo', 'man', 'classic', 'choir', 'voice', 'new age',
              'dance', 'male voice', 'female vocal', 'beats', 'harp', 'cello', 'no voice', 'weird', 'country',
              'metal', 'female voice', 'choral']
MSD_LABELS = ['rock', 'pop', 'alternative', 'indie', 'electronic', 'female vocalists', 'dance', '00s',
              'alternative rock', 'jazz', 'beautiful', 'metal', 'chillout', 'male vocalists', 'classic rock',
              'soul', 'indie rock', 'Mellow', 'electronica', '80s', 'folk', '90s', 'chill', 'instrumental',
              'punk', 'oldies', 'blues', 'hard rock', 'ambient', 'acoustic', 'experimental',
              'female vocalist', 'guitar', 'Hip-Hop', '70s', 'party', 'country', 'easy listening', 'sexy',
              'catchy', 'funk', 'electro', 'heavy metal', 'Progressive rock', '60s', 'rnb', 'indie pop', 'sad',
              'House', 'happy']

#: The pretrained models genrekit ships: name -> tag list (both are ``build_musicnn`` with 64 mid-end
#: filters and 200 back-end units, models.py ``define_model``).
MODELS = {"MSD_musicnn": MSD_LABELS, "MTT_musicnn": MTT_LABELS}

# Sizes (models.py): front-end filters int(1.6 * 128) and int(1.6 * 32); timbral kernels 7 frames by
# int(0.4 * 96) and int(0.7 * 96) bands; temporal kernels 128, 64 and 32 frames by 1 band.
TIMBRAL_FILTERS = int(1.6 * 128)    # 204
TEMPORAL_FILTERS = int(1.6 * 32)    # 51
TIMBRAL_FRAMES = 7
TIMBRAL_BANDS = (int(0.4 * N_MELS), int(0.7 * N_MELS))  # (38, 67)
TEMPORAL_FRAMES = (128, 64, 32)
MIDEND_FILTERS = 64
MIDEND_FRAMES = 7
BACKEND_UNITS = 200
BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's default epsilon

#: The pinned source of the weights: PyPI musicnn 0.1.0 (its only wheel) and its SHA-256.
WHEEL = "musicnn-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "pretrained" / "musicnn"


def _bn(channels: int, dims: int) -> nn.Module:
    return (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(channels, eps=BN_EPS)


class TimbralBranch(nn.Module):
    """A timbral front-end block (models.py ``timbral_block``): pad 3 frames on both sides, a
    ``frames x bands`` convolution without frequency padding, ReLU, batch norm, max over frequency.

    Parameters
    ----------
    filters : int
    bands : int
        Kernel height in mel bands (``int(0.4 * 96) = 38`` or ``int(0.7 * 96) = 67``).
    frames : int
        Kernel width in frames (7); the input is padded by ``frames // 2`` on both sides, as musicnn does.

    Shapes: ``[B, 1, T, 96]`` -> ``[B, filters, T]``.
    """

    def __init__(self, filters: int, bands: int, frames: int = TIMBRAL_FRAMES):
        super().__init__()
        self.padding = (frames // 2, frames // 2)
        self.conv = nn.Conv2d(1, filters, (frames, bands))
        self.bn = _bn(filters, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, *self.padding))  # time only ("since we pool throughout all frequency afterwards")
        return self.bn(F.relu(self.conv(x))).amax(dim=3)


class TemporalBranch(TimbralBranch):
    """A temporal front-end block (models.py ``tempo_block``): a ``frames x 1`` convolution with TensorFlow
    ``"same"`` padding in time (the odd extra zero at the end: 63 before and 64 after a 128-frame kernel),
    ReLU, batch norm, max over frequency.

    Shapes: ``[B, 1, T, 96]`` -> ``[B, filters, T]``.
    """

    def __init__(self, filters: int, frames: int):
        super().__init__(filters, 1, frames)
        self.padding = same_padding(frames)


class MusicnnFrontEnd(nn.Module):
    """The musically motivated front end (Pons et al. 2018; models.py ``frontend``,
    ``'7774timbraltemporal'``): batch norm of the input, then two timbral branches (7 x 38, 7 x 67, 204
    filters each) and three temporal branches (128, 64 and 32 frames x 1 band, 51 filters each), each
    max-pooled over frequency and concatenated: 561 features per frame.

    Shapes: ``[B, T, 96]`` -> ``[B, 561, T]``. The branches' outputs are concatenated in
    :attr:`branch_names` order.
    """

    branch_names = ("timbral_7x38", "timbral_7x67", "temporal_128", "temporal_64", "temporal_32")

    def __init__(self, timbral_filters: int = TIMBRAL_FILTERS, temporal_filters: int = TEMPORAL_FILTERS):
        super().__init__()
        self.input_bn = _bn(1, 2)
        self.timbral_7x38 = TimbralBranch(timbral_filters, TIMBRAL_BANDS[0])
        self.timbral_7x67 = TimbralBranch(timbral_filters, TIMBRAL_BANDS[1])
        self.temporal_128 = TemporalBranch(temporal_filters, TEMPORAL_FRAMES[0])
        self.temporal_64 = TemporalBranch(temporal_filters, TEMPORAL_FRAMES[1])
        self.temporal_32 = TemporalBranch(temporal_filters, TEMPORAL_FRAMES[2])

    @property
    def out_channels(self) -> int:
        return sum(getattr(self, name).conv.out_channels for name in self.branch_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_bn(x.unsqueeze(1))
        return torch.cat([getattr(self, name)(x) for name in self.branch_names], dim=1)


class MusicnnMidEnd(nn.Module):
    """The dense mid end (Pons et al. 2018; models.py ``midend``): three 7-frame convolutions
    over all features of the layer below ("same" by 3 frames of zeros each side), each ReLU then batch
    norm; the second and third add their input (residual). Returns the front-end features and the three
    layers' outputs concatenated (dense connection).

    In musicnn each layer is a ``conv2d`` with a ``7 x F`` kernel on a ``[T, F, 1]`` image; here it is the
    equivalent ``Conv1d`` with ``F`` input channels.

    Shapes: ``[B, C, T]`` -> ``[B, C + 3 * filters, T]`` (561 + 192 = 753).
    """

    def __init__(self, in_channels: int, filters: int = MIDEND_FILTERS, frames: int = MIDEND_FRAMES):
        super().__init__()
        self.padding = (frames // 2, frames // 2)
        self.conv1 = nn.Conv1d(in_channels, filters, frames)
        self.bn1 = _bn(filters, 1)
        self.conv2 = nn.Conv1d(filters, filters, frames)
        self.bn2 = _bn(filters, 1)
        self.conv3 = nn.Conv1d(filters, filters, frames)
        self.bn3 = _bn(filters, 1)

    def _layer(self, conv: nn.Conv1d, bn: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return bn(F.relu(conv(F.pad(x, self.padding))))

    def forward(self, frontend: torch.Tensor) -> torch.Tensor:
        cnn1 = self._layer(self.conv1, self.bn1, frontend)
        cnn2 = self._layer(self.conv2, self.bn2, cnn1) + cnn1
        cnn3 = self._layer(self.conv3, self.bn3, cnn2) + cnn2
        return torch.cat([frontend, cnn1, cnn2, cnn3], dim=1)


class MusicnnBackEnd(nn.Module):
    """The temporal-pooling back end (Pons et al. 2018; models.py ``backend``,
    ``'globalpool_dense'``): max and mean over time, batch norm, a dense layer with ReLU then batch norm
    (the ``penultimate`` embedding), and the output layer (logits; dropout is inactive at inference).

    musicnn flattens ``concat([max, mean], axis=2)`` of shape ``[B, F, 2]``, so the pooled vector
    interleaves them: ``max_0, mean_0, max_1, mean_1, ...``; ``pool_bn`` and ``dense`` expect that order.

    Shapes: ``[B, F, T]`` -> dict of ``taggram`` [B, n_tags] (sigmoid of the logits, which are
    ``output(penultimate)``), ``penultimate`` [B, units], ``mean_pool`` and ``max_pool`` [B, F].
    """

    def __init__(self, in_features: int, units: int = BACKEND_UNITS, n_tags: int = 50):
        super().__init__()
        self.pool_bn = _bn(2 * in_features, 1)
        self.dense = nn.Linear(2 * in_features, units)
        self.dense_bn = _bn(units, 1)
        self.output = nn.Linear(units, n_tags)

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        max_pool, mean_pool = features.amax(dim=2), features.mean(dim=2)
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        logits = self.output(penultimate)
        return {"taggram": torch.sigmoid(logits), "penultimate": penultimate, "mean_pool": mean_pool,
                "max_pool": max_pool}


class Musicnn(nn.Module):
    """musicnn (models.py ``build_musicnn``): front end, dense mid end, temporal-pooling back end.

    Parameters
    ----------
    tags : sequence of str
        The output tags, in order (:data:`MSD_LABELS` or :data:`MTT_LABELS` for the pretrained models).
    timbral_filters, temporal_filters, midend_filters, backend_units : int
        musicnn's sizes by default (204, 51, 64, 200). The input always has 96 mel bands.

    Attributes
    ----------
    tags : list of str
    frontend : MusicnnFrontEnd
        ``[B, T, 96]`` -> ``[B, 561, T]``.
    midend : MusicnnMidEnd
        ``-> [B, 753, T]``.
    backend : MusicnnBackEnd
    chunk : int or None
        Patches per pass through the network (:func:`in_chunks`; ``None``: the whole batch at once). The
        front end's ``[batch, 204, frames, bands]`` intermediates of larger batches leave the CPU caches:
        2 patches at a time is ~2x faster per patch than 10 (``benchmarks/musicnn.py``).
    """

    chunk: int | None = 2

    def __init__(self, tags=MSD_LABELS, timbral_filters: int = TIMBRAL_FILTERS,
                 temporal_filters: int = TEMPORAL_FILTERS, midend_filters: int = MIDEND_FILTERS,
                 backend_units: int = BACKEND_UNITS):
        super().__init__()
        self.tags = list(tags)
        self.frontend = MusicnnFrontEnd(timbral_filters, temporal_filters)
        self.midend = MusicnnMidEnd(self.frontend.out_channels, midend_filters)
        self.backend = MusicnnBackEnd(self.frontend.out_channels + 3 * midend_filters, backend_units,
                                      len(self.tags))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Tags and embeddings of log-mel patches.

        Parameters
        ----------
        x : torch.Tensor [shape=(batch, frames, 96)], float32
            ``log10(1 + 10000 * mel power)`` patches (187 frames in training; at least 1).

        Returns
        -------
        dict of torch.Tensor
            ``taggram`` [batch, 50] (sigmoid probabilities, :attr:`tags` order; the logits are
            ``self.backend.output(penultimate)``), ``penultimate`` [batch, 200], ``mean_pool`` and
            ``max_pool`` [batch, 753] (the mid end's dense features pooled over time).
        """
        check_patches(x)
        return in_chunks(lambda part: self.backend(self.midend(self.frontend(part))), x, self.chunk)


def in_chunks(forward, x: torch.Tensor, size: int | None) -> dict[str, torch.Tensor]:
    """``forward(x)`` computed ``size`` patches at a time, outputs concatenated (all at once for ``None``).

    In eval mode a patch's outputs do not depend on the rest of its batch, so only the speed changes.
    """
    if size is None or len(x) <= size:
        return forward(x)
    parts = [forward(part) for part in x.split(size)]
    return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}


def check_patches(x: torch.Tensor) -> None:
    """Raise a ``ConfigError`` unless ``x`` is ``[batch, frames >= 1, 96]``, musicnn's input."""
    if x.dim() != 3 or x.shape[2] != N_MELS or x.shape[1] < 1:
        raise ConfigError(f"musicnn expects log-mel patches of shape [batch, frames, {N_MELS}], "
                          f"got {list(x.shape)}")


# --- weights --------------------------------------------------------------------------------------------------

#: genrekit module -> musicnn's TensorFlow variable scope, in the order models.py creates the layers
#: (tf.compat.v1.layers names them conv2d, conv2d_1, ..., batch_normalization_1, ..., dense, dense_1).
TF_SCOPES = {
    "frontend.input_bn": "batch_normalization",
    "frontend.timbral_7x38.conv": "conv2d", "frontend.timbral_7x38.bn": "batch_normalization_1",
    "frontend.timbral_7x67.conv": "conv2d_1", "frontend.timbral_7x67.bn": "batch_normalization_2",
    "frontend.temporal_128.conv": "conv2d_2", "frontend.temporal_128.bn": "batch_normalization_3",
    "frontend.temporal_64.conv": "conv2d_3", "frontend.temporal_64.bn": "batch_normalization_4",
    "frontend.temporal_32.conv": "conv2d_4", "frontend.temporal_32.bn": "batch_normalization_5",
    "midend.conv1": "conv2d_5", "midend.bn1": "batch_normalization_6",
    "midend.conv2": "conv2d_6", "midend.bn2": "batch_normalization_7",
    "midend.conv3": "conv2d_7", "midend.bn3": "batch_normalization_8",
    "backend.pool_bn": "batch_normalization_9",
    "backend.dense": "dense", "backend.dense_bn": "batch_normalization_10",
    "backend.output": "dense_1",
}


def _torch_weight(kernel: np.ndarray, module: nn.Module) -> np.ndarray:
    """A TensorFlow kernel in the layout of the PyTorch module: conv2d HWIO -> OIHW; the mid end's
    ``7 x F x 1 x K`` conv2d kernel -> Conv1d ``K x F x 7``; dense ``in x out`` -> Linear ``out x in``."""
    if isinstance(module, nn.Conv2d):
        return kernel.transpose(3, 2, 0, 1)
    if isinstance(module, nn.Conv1d):
        return kernel[:, :, 0, :].transpose(2, 1, 0)
    return kernel.T


def convert_checkpoint(prefix, tags=MSD_LABELS) -> dict[str, torch.Tensor]:
    """A :class:`Musicnn` ``state_dict`` (float32) from one of musicnn's TensorFlow checkpoints.

    Parameters
    ----------
    prefix : str or Path
        The checkpoint prefix, e.g. ``.../musicnn/MSD_musicnn/`` (the trailing slash is part of it).
    tags : sequence of str
        The model's tags (only their number matters here).

    Raises
    ------
    GenrekitError
        When the checkpoint cannot be read, lacks a variable, or a variable's shape differs from the
        network's (the checkpoint is not a 64-filter ``build_musicnn``).
    """
    from genrekit.models.tf_checkpoint import CheckpointReader

    reader = CheckpointReader(prefix)
    net = Musicnn(tags)
    state = net.state_dict()
    modules = dict(net.named_modules())
    for name, scope in TF_SCOPES.items():
        module = modules[name]
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            pairs = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
                     "running_var": "moving_variance"}
            values = {ours: reader.read(f"{scope}/{theirs}") for ours, theirs in pairs.items()}
        else:
            values = {"weight": _torch_weight(reader.read(f"{scope}/kernel"), module),
                      "bias": reader.read(f"{scope}/bias")}
        for key, value in values.items():
            target = state[f"{name}.{key}"]
            if tuple(value.shape) != tuple(target.shape):
                raise GenrekitError(f"{prefix}: {scope} gives {name}.{key} shape {list(value.shape)}, "
                                    f"the network needs {list(target.shape)}")
            state[f"{name}.{key}"] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    return state


def extract_checkpoint(wheel, name: str, folder) -> str:
    """Extract checkpoint ``name`` from the musicnn 0.1.0 wheel into ``folder``; returns its prefix.

    Parameters
    ----------
    wheel : str or Path
        ``musicnn-0.1.0-py3-none-any.whl`` (from ``pip download --no-deps musicnn==0.1.0``); its SHA-256
        must be :data:`WHEEL_SHA256`.
    name : str
        A key of :data:`MODELS`.
    folder : str or Path
        Where to write ``musicnn/NAME/.index`` and ``musicnn/NAME/.data-00000-of-00001``.
    """
    _check_name(name)
    wheel = Path(wheel)
    try:
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    except OSError as exc:
        raise GenrekitError(f"{wheel}: cannot read the musicnn wheel ({exc.strerror or exc})") from None
    if digest != WHEEL_SHA256:
        raise GenrekitError(f"{wheel}: SHA-256 {digest} is not that of {WHEEL} ({WHEEL_SHA256}); "
                            "download it with: pip download --no-deps musicnn==0.1.0")
    with zipfile.ZipFile(wheel) as archive:
        for member in (f"musicnn/{name}/.index", f"musicnn/{name}/.data-00000-of-00001"):
            archive.extract(member, folder)
    return f"{Path(folder) / 'musicnn' / name}/"


def convert_wheel(wheel, name: str) -> dict[str, torch.Tensor]:
    """:func:`convert_checkpoint` on checkpoint ``name`` inside the musicnn 0.1.0 ``wheel``
    (see :func:`extract_checkpoint`)."""
    with tempfile.TemporaryDirectory() as tmp:
        return convert_checkpoint(extract_checkpoint(wheel, name, tmp), MODELS[name])


def _check_name(name: str) -> None:
    if name not in MODELS:
        raise ConfigError(f"unknown musicnn model {name!r}; choose one of {', '.join(MODELS)}")


def weights_path(name: str) -> Path:
    """Where the converted weights of model ``name`` live in the installed package."""
    _check_name(name)
    return WEIGHTS_DIR / f"{name}.pt"


def load(name: str = "MSD_musicnn"):
    """A pretrained musicnn in eval mode, on the CPU.

    Parameters
    ----------
    name : {"MSD_musicnn", "MTT_musicnn"}
        Trained on the Million Song Dataset's 50 most common Last.fm tags, or on MagnaTagATune's 50.

    Returns
    -------
    Musicnn
        ``net(x)`` on ``[B, T, 96]`` float32 patches gives ``taggram``, ``penultimate``, ``mean_pool``,
        ``max_pool``; ``net.tags`` names the 50 outputs. ``musicnn_prune.load(name)`` gives the same outputs
        on music from a fraction of the work.
    """
    path = weights_path(name)
    if not path.is_file():
        raise GenrekitError(f"{path}: the converted musicnn weights are missing from this installation; "
                            "reinstall genrekit or run scripts/convert_musicnn.py")
    net = Musicnn(MODELS[name])
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval()
