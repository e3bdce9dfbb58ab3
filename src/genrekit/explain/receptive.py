"""Receptive fields: which part of the input spectrogram can reach a unit of a layer.

Dong 2018, "Calculate the filters learned by the CNN", step 1: "identify the range of input
neurons (specific section of the input mel-spectrogram) that could activate the target
neuron". For a stack of convolutions and poolings this follows from each layer's kernel,
stride, padding and dilation, on each axis (bands, frames) separately::

    jump_out  = jump_in * stride                    (input frames between neighbouring units)
    size_out  = size_in + (kernel - 1) * dilation * jump_in
    start_out = start_in - padding * jump_in        (first input index seen by unit 0)

so unit ``i`` of a layer sees input indices ``start + i * jump`` to ``start + i * jump + size - 1``
(indices below 0 or past the input's end are padding). Layers that add branches (Yang net2's
sum, Zhang nnet2's shortcut) see the union of their inputs' fields.

The band-spanning first layers of Yang, Zhang and Senac (a ``Conv1d`` over time with the bands
as channels) have a kernel as tall as the input: every later unit of those networks sees all
bands (:attr:`Field.all_bands`).

:func:`network_fields` gives the field of every named layer of the registered networks
(``yang2019_net1/net2``, ``dong2018``, ``zhang2016_*``, ``senac2017_*``, ``wang_cnn2d``) and
of any other network that is a plain chain of convolution and pooling modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from torch import nn

from genrekit.errors import ConfigError
from genrekit.models.layers import ConvPool2d, TimeConv

__all__ = ["Field", "Layer", "Node", "INPUT", "layer_steps", "network_fields", "network_graph", "receptive_field",
           "union"]

#: Name of the network's input in a graph.
INPUT = "input"


def _pair(value) -> tuple[int, int]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value), int(value))


@dataclass(frozen=True)
class Layer:
    """One convolution or pooling step, per axis ``(bands, frames)``.

    Attributes
    ----------
    kernel, stride, dilation : (int, int)
    padding : (int, int)
        Zeros added *before* the first input index (Keras "same" puts the odd one after,
        which does not move the field).
    """

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)


@dataclass(frozen=True)
class Field:
    """The receptive field of a layer's units in the input, per axis ``(bands, frames)``.

    Attributes
    ----------
    size : (int, int)
        Input bands and frames one unit sees (padding included).
    jump : (int, int)
        Input indices between neighbouring units.
    start : (int, int)
        First input index seen by unit ``(0, 0)`` (negative: it starts in the padding).
    all_bands : bool
        Every unit sees every band (a band-spanning kernel is in the stack).
    """

    size: tuple[int, int] = (1, 1)
    jump: tuple[int, int] = (1, 1)
    start: tuple[int, int] = (0, 0)
    all_bands: bool = False

    def region(self, band: int, frame: int) -> tuple[slice, slice]:
        """Input ``(bands, frames)`` slices of unit ``(band, frame)``; may reach outside the input."""
        b0 = self.start[0] + band * self.jump[0]
        f0 = self.start[1] + frame * self.jump[1]
        return slice(b0, b0 + self.size[0]), slice(f0, f0 + self.size[1])

    def inside(self, band: int, frame: int, shape: tuple[int, int]) -> bool:
        """Whether unit ``(band, frame)``'s field lies within an input of ``shape`` (no padding seen)."""
        bands, frames = self.region(band, frame)
        return bands.start >= 0 and frames.start >= 0 and bands.stop <= shape[0] and frames.stop <= shape[1]

    def describe(self) -> str:
        """E.g. ``"10 bands x 34 frames, every 4 bands / 16 frames"`` or ``"all bands x 10 frames ..."``."""
        bands = "all bands" if self.all_bands else f"{self.size[0]} bands"
        return f"{bands} x {self.size[1]} frames, one unit every {self.jump[0]} bands / {self.jump[1]} frames"


def receptive_field(layers: Iterable[Layer], field: Field = Field()) -> Field:
    """The field after a chain of layers.

    Parameters
    ----------
    layers : iterable of Layer
        In forward order.
    field : Field
        The field of the chain's input (default: the network input, one index per unit).

    Returns
    -------
    Field
    """
    size, jump, start = list(field.size), list(field.jump), list(field.start)
    for layer in layers:
        for axis in (0, 1):
            start[axis] -= layer.padding[axis] * jump[axis]
            size[axis] += (layer.kernel[axis] - 1) * layer.dilation[axis] * jump[axis]
            jump[axis] *= layer.stride[axis]
    return Field(tuple(size), tuple(jump), tuple(start), field.all_bands)


def union(fields: Sequence[Field]) -> Field:
    """The field of a sum of layers' outputs (unit ``i`` of each term added together).

    Raises
    ------
    ConfigError
        If the terms' units are not on the same grid (different jumps).
    """
    if not fields:
        raise ConfigError("union of no receptive fields")
    if len({f.jump for f in fields}) != 1:
        raise ConfigError(f"cannot add layers whose units lie on different grids: jumps {[f.jump for f in fields]}")
    start = tuple(min(f.start[a] for f in fields) for a in (0, 1))
    stop = tuple(max(f.start[a] + f.size[a] for f in fields) for a in (0, 1))
    return Field(tuple(b - a for a, b in zip(start, stop)), fields[0].jump, start, any(f.all_bands for f in fields))


def layer_steps(module: nn.Module, spans_bands: bool = False) -> list[Layer]:
    """The geometric steps of one module.

    Parameters
    ----------
    module : nn.Module
        A :class:`~genrekit.models.layers.TimeConv`, :class:`~genrekit.models.layers.ConvPool2d`,
        ``nn.Conv1d``, ``nn.Conv2d`` or a max / average pooling module (1-D or 2-D).
    spans_bands : bool
        The module is a 1-D convolution fed by the network input, whose channels are the
        bands: its kernel is ``in_channels`` bands tall. Later 1-D layers are one band tall.

    Returns
    -------
    list of Layer
    """
    if isinstance(module, TimeConv):
        steps = layer_steps(module.conv, spans_bands)
        if module.pad is not None:
            steps[0] = Layer(steps[0].kernel, steps[0].stride, (0, module.pad[0]), steps[0].dilation)
        return steps
    if isinstance(module, ConvPool2d):
        conv = layer_steps(module.conv)[0]
        if module.pad is not None:  # F.pad's order: frames before, after, bands before, after
            conv = Layer(conv.kernel, conv.stride, (module.pad[2], module.pad[0]), conv.dilation)
        return [conv, Layer(_pair(module.pool), _pair(module.pool))]
    if isinstance(module, nn.Conv1d):
        if not isinstance(module.padding, tuple):
            raise ConfigError(f"{module}: string padding is not supported; give the padding in frames")
        return [Layer((module.in_channels if spans_bands else 1, module.kernel_size[0]), (1, module.stride[0]),
                      (0, module.padding[0]), (1, module.dilation[0]))]
    if isinstance(module, nn.Conv2d):
        if not isinstance(module.padding, tuple):
            raise ConfigError(f"{module}: string padding is not supported; give the padding in bins")
        return [Layer(_pair(module.kernel_size), _pair(module.stride), _pair(module.padding),
                      _pair(module.dilation))]
    if isinstance(module, (nn.MaxPool1d, nn.AvgPool1d)):
        kernel, stride = _pair(module.kernel_size)[0], _pair(module.stride or module.kernel_size)[0]
        padding = _pair(module.padding)[0]
        dilation = _pair(getattr(module, "dilation", 1))[0]
        return [Layer((1, kernel), (1, stride), (0, padding), (1, dilation))]
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return [Layer(_pair(module.kernel_size), _pair(module.stride or module.kernel_size), _pair(module.padding),
                      _pair(getattr(module, "dilation", 1)))]
    raise ConfigError(f"no receptive-field rule for {type(module).__name__}")


@dataclass(frozen=True)
class Node:
    """A named layer of a network graph.

    Attributes
    ----------
    name : str
        The module's name in the network (``conv2``, ``block1``), or a derived name (``sum``).
    inputs : tuple of str
        Nodes it reads (``"input"`` for the network input); several are added together.
    steps : tuple of Layer
        Geometry applied to the inputs' (summed) output; empty for a sum.
    """

    name: str
    inputs: tuple[str, ...]
    steps: tuple[Layer, ...] = ()


_GEOMETRIC = (TimeConv, ConvPool2d, nn.Conv1d, nn.Conv2d, nn.MaxPool1d, nn.AvgPool1d, nn.MaxPool2d, nn.AvgPool2d)
_POOL_BY_2 = Layer((1, 2), (1, 2))  # Zhang nnet1's F.max_pool1d(x, 2) after conv1 and conv2


def _node(net: nn.Module, name: str, source: str, before: Sequence[Layer] = ()) -> Node:
    module = net.get_submodule(name)
    steps = layer_steps(module, spans_bands=source == INPUT and not before)
    return Node(name, (source,), tuple(before) + tuple(steps))


def network_graph(net: nn.Module) -> list[Node]:
    """The convolutional layers of a network and what feeds each, in forward order.

    Parameters
    ----------
    net : nn.Module
        A registered network (its class decides the wiring), or any network whose
        convolution / pooling modules form one chain in the order they were registered.
        A trained run's model (standardisation + network) is unwrapped.

    Returns
    -------
    list of Node
        Derived nodes: ``sum`` (Yang net2: conv1 + conv2 + conv3) and ``add`` (Zhang nnet2 /
        Senac: conv1 + conv3).
    """
    from genrekit.models.yang2019 import YangNet1, YangNet2
    from genrekit.models.zhang2016 import ZhangNNet1, ZhangNNet2

    net = getattr(net, "net", net)
    if isinstance(net, YangNet1):
        return [_node(net, "conv1", INPUT), _node(net, "conv2", "conv1"), _node(net, "conv3", "conv2"),
                _node(net, "conv4", "conv2")]
    if isinstance(net, YangNet2):
        return [_node(net, "conv1", INPUT), _node(net, "conv2", "conv1"), _node(net, "conv3", "conv2"),
                Node("sum", ("conv1", "conv2", "conv3"))]
    if isinstance(net, ZhangNNet2):  # also Senac's net_STFT / net_MUSIC
        return [_node(net, "conv1", INPUT), _node(net, "conv2", "conv1"), _node(net, "conv3", "conv2"),
                Node("add", ("conv1", "conv3"))]
    if isinstance(net, ZhangNNet1):
        return [_node(net, "conv1", INPUT), _node(net, "conv2", "conv1", [_POOL_BY_2]),
                _node(net, "conv3", "conv2", [_POOL_BY_2])]
    nodes, source, inside = [], INPUT, set()
    for name, module in net.named_modules():
        if not isinstance(module, _GEOMETRIC) or any(name.startswith(p + ".") for p in inside):
            continue
        inside.add(name)
        steps = layer_steps(module, spans_bands=source == INPUT)
        nodes.append(Node(name, (source,), tuple(steps)))
        source = name
    if not nodes:
        raise ConfigError(f"{type(net).__name__} has no convolution or pooling layers to explain")
    return nodes


def network_fields(net: nn.Module) -> dict[str, Field]:
    """The receptive field of every layer of :func:`network_graph`, by name.

    Returns
    -------
    dict of str to Field
        In forward order. ``all_bands`` is set for layers after a band-spanning convolution.
    """
    fields = {INPUT: Field()}
    for node in network_graph(net):
        field = receptive_field(node.steps, union([fields[name] for name in node.inputs]))
        if node.inputs == (INPUT,) and _is_1d(net, node.name):
            field = Field(field.size, field.jump, field.start, True)
        fields[node.name] = field
    del fields[INPUT]
    return fields


def _is_1d(net: nn.Module, name: str) -> bool:
    """Whether the named module convolves over time only (bands as channels)."""
    module = getattr(net, "net", net).get_submodule(name)
    return isinstance(module, (TimeConv, nn.Conv1d))
