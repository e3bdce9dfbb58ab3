"""musicnn without its dead front-end channels: the same outputs from a fraction of the work.

Most of musicnn's cost is its front end (:class:`genrekit.models.musicnn.MusicnnFrontEnd`, ~2.7 of the
~2.8 GFLOP of a 3 s patch), and most of its 561 channels do not change on music. Each channel is

    ``out[t] = max over bands of bn(relu(z[t, band]))``,  ``bn(r) = a * r + b``  (eval batch norm)

and because ``r -> a * r + b`` is monotonic, the max over bands can be taken of ``z`` first:
``out[t] = a * relu(drive[t]) + b`` with ``drive[t] = max_band z`` where ``a > 0`` and ``min_band z`` where
``a < 0`` (:func:`frontend_drive`). Over a set of inputs a channel's output then spans
``|a| * max(0, peak drive)``. A channel is *dead* when that span is ~0, for one of two reasons:

- it never fires (peak drive <= 0): its output is exactly the constant ``b``; a channel with ``a < 0``
  fires only when every band position fires at once, so many never do;
- its batch norm scale is ~0 (training drove many ``gamma`` to ~1e-9): it fires, but its output does
  not move.

:func:`prune` removes the dead channels (listed per model in ``pretrained/musicnn/<name>.keep.json``, made
by ``scripts/find_dead_musicnn_channels.py`` from real music) and folds their constants into what reads
them, so :class:`PrunedMusicnn` is a drop-in replacement for :class:`~genrekit.models.musicnn.Musicnn`:

- the live channels' convolutions, with the weights of ``a < 0`` channels negated so one max over bands
  serves every channel, then ``a * relu(sign * drive) + b`` on ``[B, C, T]`` instead of batch norm on
  ``[B, C, T, bands]`` (the batch norm is applied after the max: fewer operations, same values);
- ``midend.conv1`` reads the live channels; the dead channels' constants add a fixed term, which is
  *not* a bias: musicnn pads the mid end with zeros in time ("same"), so the constants are missing from the
  first and last 3 frames' sums. The term is computed exactly, as a one-channel convolution of the padding
  mask (:class:`FoldedConv1d`);
- the back end's batch norm of the pooled features is folded into its dense layer, and the dead channels'
  pooled values (max = mean = ``b``) into its bias; ``mean_pool`` / ``max_pool`` still have all 753
  features (the constants put back), or only the live ones with ``live_only=True``.

Each pruned channel changes the front end's output by at most its span on the data that chose it (the
tolerance, 1e-5); on other inputs a channel that never fired there may fire, and the pruned network then
differs by that channel's contribution. ``scripts/find_dead_musicnn_channels.py`` reports both.

>>> from genrekit.models import musicnn
>>> net = musicnn_prune.load("MSD_musicnn")                          # doctest: +SKIP
>>> net(torch.zeros(4, 187, 96))["mean_pool"].shape                 # doctest: +SKIP
torch.Size([4, 753])
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genrekit.errors import ConfigError, GenrekitError
from genrekit.models import musicnn
from genrekit.models.musicnn import Musicnn, MusicnnMidEnd, check_patches, in_chunks

__all__ = ["MERGE_CHANNELS", "load", "FoldedConv1d", "PrunedBackEnd", "PrunedFrontEnd", "PrunedMusicnn", "bn_affine",
           "frontend_affine", "frontend_drive", "keep_path", "kept_channels", "prune"]


#: Most channels of front-end branches merged into one convolution (:class:`PrunedFrontEnd`): oneDNN
#: computes 16 output channels per vector, so branches of a few channels waste most of each.
MERGE_CHANNELS = 32


def bn_affine(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode batch norm as ``a * x + b``.

    Returns
    -------
    a, b : torch.Tensor [shape=(channels,)]
    """
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias.detach() - bn.running_mean * scale


def _branches(net: Musicnn) -> list[nn.Module]:
    return [getattr(net.frontend, name) for name in net.frontend.branch_names]


def frontend_drive(net: Musicnn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The front end's output, and the pre-activation that decides each of its channels.

    Parameters
    ----------
    net : Musicnn
    x : torch.Tensor [shape=(batch, frames, 96)]

    Returns
    -------
    output : torch.Tensor [shape=(batch, 561, frames)]
        ``net.frontend(x)``, computed by the same operations.
    drive : torch.Tensor [shape=(batch, 561, frames)]
        Per channel and frame, the max over bands of the convolution's output where the channel's batch
        norm scale ``a`` is positive, the min where it is negative: ``output = a * relu(drive) + b``
        (:func:`bn_affine`), so a channel whose drive is never positive outputs the constant ``b``.
    """
    check_patches(x)
    x = net.frontend.input_bn(x.unsqueeze(1))
    outputs, drives = [], []
    for branch in _branches(net):
        z = branch.conv(F.pad(x, (0, 0, *branch.padding)))
        outputs.append(branch.bn(F.relu(z)).amax(dim=3))
        positive = (bn_affine(branch.bn)[0] >= 0)[None, :, None]
        drives.append(torch.where(positive, z.amax(dim=3), z.amin(dim=3)))
    return torch.cat(outputs, dim=1), torch.cat(drives, dim=1)


def frontend_affine(net: Musicnn) -> tuple[torch.Tensor, torch.Tensor]:
    """Each front-end channel's batch norm as ``a * x + b`` (:func:`bn_affine`), ``[561]`` each."""
    pairs = [bn_affine(branch.bn) for branch in _branches(net)]
    return torch.cat([a for a, _ in pairs]), torch.cat([b for _, b in pairs])


def load(name: str = "MSD_musicnn") -> "PrunedMusicnn":
    """Pretrained musicnn ``name`` (:func:`genrekit.models.musicnn.load`) without its dead front-end channels
    (:func:`kept_channels`): the same outputs within rounding on music, several times faster."""
    return prune(musicnn.load(name), kept_channels(name))


def keep_path(name: str) -> Path:
    """Where the kept front-end channels of pretrained model ``name`` are listed (package data)."""
    return musicnn.weights_path(name).with_suffix(".keep.json")


def kept_channels(name: str) -> list[int]:
    """The live front-end channels of pretrained model ``name`` (``scripts/find_dead_musicnn_channels.py``).

    Returns
    -------
    list of int
        Indices into the 561 front-end channels, in :attr:`MusicnnFrontEnd.branch_names` order.
    """
    path = keep_path(name)
    try:
        return [int(c) for c in json.loads(path.read_text())["kept"]]
    except OSError as exc:
        reason = exc.strerror or str(exc)
    except (ValueError, KeyError, TypeError) as exc:
        reason = f"not a kept-channel list: {type(exc).__name__} {exc}"
    raise GenrekitError(f"{path}: cannot read the kept musicnn channels ({reason}); reinstall genrekit or "
                        "run scripts/find_dead_musicnn_channels.py")


class PrunedFrontEnd(nn.Module):
    """The live channels of :class:`~genrekit.models.musicnn.MusicnnFrontEnd`.

    The kept channels' convolutions (weights and bias of channels with a negative batch norm scale negated,
    so a max over bands gives their min), then ``scale * relu(sign * drive) + shift``. Consecutive branches
    with the same band width (the three temporal ones) are one convolution when together they keep at most
    :data:`MERGE_CHANNELS` channels, the shorter kernels padded with zero taps around their centre: the same
    sums (the zero taps add zeros) from one operation, which beats several narrow ones although it multiplies
    more (MSD_musicnn's 4 + 8 + 17 temporal channels: 1.4x faster; MTT_musicnn's 136 would be 1.3x slower).

    Shapes: ``[B, T, 96]`` -> ``[B, n_kept, T]``, channels in the order of ``kept``.
    """

    def __init__(self, net: Musicnn, kept: np.ndarray):
        super().__init__()
        self.input_bn = _copy_bn(net.frontend.input_bn)
        groups = []  # per convolution: (weight, bias, padding) of consecutive branches with one band width
        signs, scales, shifts = [], [], []
        start = 0
        for branch in _branches(net):
            stop = start + branch.conv.out_channels
            mine = torch.from_numpy(kept[(kept >= start) & (kept < stop)] - start)
            start = stop
            if len(mine) == 0:
                continue
            a, b = bn_affine(branch.bn)
            sign = torch.where(a[mine] >= 0, 1.0, -1.0)
            part = (branch.conv.weight.detach()[mine] * sign[:, None, None, None],
                    branch.conv.bias.detach()[mine] * sign, branch.padding)
            if (groups and groups[-1][0][0].shape[3] == part[0].shape[3]
                    and sum(len(p[1]) for p in groups[-1]) + len(mine) <= MERGE_CHANNELS):
                groups[-1].append(part)
            else:
                groups.append([part])
            signs.append(sign), scales.append(a[mine]), shifts.append(b[mine])
        self.convs, self.paddings = nn.ModuleList(), []
        for parts in groups:
            before, after = max(p[2][0] for p in parts), max(p[2][1] for p in parts)
            weight = torch.cat([F.pad(w, (0, 0, before - p0, after - p1)) for w, _, (p0, p1) in parts])
            conv = nn.Conv2d(1, weight.shape[0], tuple(weight.shape[2:]))
            conv.weight.data, conv.bias.data = weight, torch.cat([bias for _, bias, _ in parts])
            self.convs.append(conv)
            self.paddings.append((before, after))
        self.register_buffer("sign", torch.cat(signs)[:, None])
        self.register_buffer("scale", torch.cat(scales)[:, None])
        self.register_buffer("shift", torch.cat(shifts)[:, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_bn(x.unsqueeze(1))
        drive = torch.cat([conv(F.pad(x, (0, 0, *padding))).amax(dim=3)
                           for conv, padding in zip(self.convs, self.paddings)], dim=1)
        return torch.addcmul(self.shift, F.relu(drive * self.sign), self.scale)


class FoldedConv1d(nn.Conv1d):
    """A convolution over the live input channels plus the exact contribution of constant ones.

    Its input is zero-padded by ``padding`` frames (done by the caller, as musicnn's mid end does); the
    constant channels are zero there too, so they add ``conv1d(mask, dead_kernel)`` where ``mask`` is 1 on
    the real frames and 0 on the padding, and ``dead_kernel[o, 0, j] = sum_c constant_c * w[o, c, j]``.

    Parameters
    ----------
    weight, bias : torch.Tensor [shape=(out, live, width)], [shape=(out,)]
    dead_kernel : torch.Tensor [shape=(out, 1, width)]
    padding : (int, int)
        Zero frames before and after the real ones in the input.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, dead_kernel: torch.Tensor,
                 padding: tuple[int, int]):
        super().__init__(weight.shape[1], weight.shape[0], weight.shape[2])
        self.weight.data, self.bias.data = weight.clone(), bias.clone()
        self.register_buffer("dead_kernel", dead_kernel.clone())
        self.edges = tuple(padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = x.new_zeros(1, 1, x.shape[2])
        mask[..., self.edges[0]:x.shape[2] - self.edges[1]] = 1.0
        return super().forward(x) + F.conv1d(mask, self.dead_kernel)


class PrunedBackEnd(nn.Module):
    """:class:`~genrekit.models.musicnn.MusicnnBackEnd` over the live features.

    ``pool_bn`` is folded into ``dense`` (both affine), the dead features' constant pooled values into its
    bias. Shapes: ``[B, n_live, T]`` -> the back end's dict; ``mean_pool`` / ``max_pool`` have all features
    (the dead ones' constants put back) unless ``live_only``.
    """

    def __init__(self, net: Musicnn, live: np.ndarray, constants: torch.Tensor):
        super().__init__()
        backend = net.backend
        n_features = backend.dense.in_features // 2
        a, b = bn_affine(backend.pool_bn)
        weight = backend.dense.weight.detach() * a                     # [units, 2F], interleaved max, mean
        bias = backend.dense.bias.detach() + backend.dense.weight.detach() @ b
        dead = np.setdiff1d(np.arange(n_features), live)
        # a dead feature is `constant` at every frame: its max and mean are both that constant
        bias = bias + (weight[:, 2 * dead] + weight[:, 2 * dead + 1]) @ constants[dead]
        self.dense = nn.Linear(2 * len(live), len(bias))
        self.dense.weight.data = torch.cat([weight[:, 2 * live], weight[:, 2 * live + 1]], dim=1)
        self.dense.bias.data = bias
        self.dense_bn = _copy_bn(backend.dense_bn)
        self.output = nn.Linear(backend.output.in_features, backend.output.out_features)
        self.output.load_state_dict(backend.output.state_dict())
        self.register_buffer("live", torch.from_numpy(live))
        self.register_buffer("constants", constants.clone())

    def forward(self, features: torch.Tensor, live_only: bool = False) -> dict[str, torch.Tensor]:
        max_pool, mean_pool = features.amax(dim=2), features.mean(dim=2)
        penultimate = self.dense_bn(F.relu(self.dense(torch.cat([max_pool, mean_pool], dim=1))))
        logits = self.output(penultimate)
        if not live_only:
            full = self.constants.expand(features.shape[0], -1)
            max_pool = full.index_copy(1, self.live, max_pool)
            mean_pool = full.index_copy(1, self.live, mean_pool)
        return {"taggram": torch.sigmoid(logits), "penultimate": penultimate, "mean_pool": mean_pool,
                "max_pool": max_pool}


class PrunedMusicnn(nn.Module):
    """musicnn without its dead front-end channels (:func:`prune`); a drop-in for
    :class:`~genrekit.models.musicnn.Musicnn`.

    Attributes
    ----------
    tags : list of str
    kept : np.ndarray [shape=(n_kept,)], int64
        The live front-end channels (of 561).
    live_features : np.ndarray [shape=(n_kept + 192,)], int64
        The pooled features that vary (of 753): the kept channels and the mid end's 192.
    frontend : PrunedFrontEnd
    midend : MusicnnMidEnd
        ``conv1`` is a :class:`FoldedConv1d`.
    backend : PrunedBackEnd
    chunk : int or None
        Patches per pass (:func:`~genrekit.models.musicnn.in_chunks`): 4 to 10 at a time are ~1.4x faster
        per patch than 16 or more, on one thread (``benchmarks/musicnn.py``).
    """

    chunk: int | None = 8

    def __init__(self, net: Musicnn, kept):
        super().__init__()
        n_channels = net.frontend.out_channels
        kept = np.unique(np.asarray(kept, dtype=np.int64))
        if kept.size == 0 or kept[0] < 0 or kept[-1] >= n_channels:
            raise ConfigError(f"kept musicnn channels must be 1 to {n_channels} indices in [0, {n_channels}), "
                              f"got {kept.size} from {kept.min(initial=0)} to {kept.max(initial=0)}")
        dead = np.setdiff1d(np.arange(n_channels), kept)
        self.tags = list(net.tags)
        self.kept = kept
        self.live_features = np.concatenate([kept, np.arange(n_channels, net.backend.dense.in_features // 2)])
        self.frontend = PrunedFrontEnd(net, kept)

        # what each front-end channel outputs when it does not fire: its batch norm's shift
        constants = frontend_affine(net)[1]
        mid = net.midend
        self.midend = MusicnnMidEnd(len(kept), mid.conv1.out_channels, mid.conv1.kernel_size[0])
        self.midend.load_state_dict({k: v for k, v in mid.state_dict().items() if not k.startswith("conv1.")},
                                    strict=False)
        weight = mid.conv1.weight.detach()
        dead_kernel = torch.einsum("ocj,c->oj", weight[:, dead], constants[dead])[:, None, :]
        self.midend.conv1 = FoldedConv1d(weight[:, kept], mid.conv1.bias.detach(), dead_kernel, mid.padding)

        pooled_constants = torch.zeros(net.backend.dense.in_features // 2)
        pooled_constants[:n_channels] = constants
        pooled_constants[kept] = 0.0  # live features are never read from here
        self.backend = PrunedBackEnd(net, self.live_features, pooled_constants)
        self.eval()

    def forward(self, x: torch.Tensor, live_only: bool = False) -> dict[str, torch.Tensor]:
        """Tags and embeddings of log-mel patches, as :meth:`Musicnn.forward`.

        Parameters
        ----------
        x : torch.Tensor [shape=(batch, frames, 96)], float32
        live_only : bool
            Return ``mean_pool`` / ``max_pool`` of the :attr:`live_features` only (``[batch, n_live]``).

        Returns
        -------
        dict of torch.Tensor
            ``taggram`` [batch, 50], ``penultimate`` [batch, 200], ``mean_pool`` and ``max_pool``
            [batch, 753] (or [batch, n_live]).
        """
        check_patches(x)
        return in_chunks(lambda part: self.backend(self.midend(self.frontend(part)), live_only=live_only), x,
                         self.chunk)


def prune(net: Musicnn, kept) -> PrunedMusicnn:
    """``net`` with only the front-end channels ``kept`` (see :class:`PrunedMusicnn`).

    Parameters
    ----------
    net : Musicnn
        In eval mode (batch norms are folded with their running statistics).
    kept : sequence of int
        Front-end channels (of 561) to keep; the others are treated as constant at their batch norm's
        shift, which is exact for channels that never fire.
    """
    if net.training:
        raise ConfigError("prune folds batch norms with their running statistics: call net.eval() first")
    return PrunedMusicnn(net, kept)


def _copy_bn(bn: nn.Module) -> nn.Module:
    copy = type(bn)(bn.num_features, eps=bn.eps)
    copy.load_state_dict(bn.state_dict())
    return copy.eval()
