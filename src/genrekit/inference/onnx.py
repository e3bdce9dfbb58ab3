"""Networks on ONNX Runtime: the scorer, and classifiers rebuilt from exported ONNX files.

This module owns what an exported file is read by: its input and output names, its format tag and its
metadata (the keys are listed in :mod:`genrekit.export`, which writes them), and the in-memory
conversion of a PyTorch network that both the writer and ``load_model(..., backend="onnx")`` use.
Reading a file needs neither genrekit's training code nor PyTorch's network classes.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path

import numpy as np

from genrekit import features
from genrekit.errors import ConfigError, GenrekitError
from genrekit.inference.classifier import Classifier
from genrekit.inference.scorers import NetworkScorer
from genrekit.pool import default_workers

__all__ = ["OnnxScorer", "load_onnx", "read_metadata", "onnx_session", "network_onnx", "ONNX_FORMAT",
           "DEFAULT_OPSET", "INPUT", "OUTPUT"]

#: Format tag stored in an exported file's metadata.
ONNX_FORMAT = "genrekit-onnx/1"
#: Opset of exported files (ONNX Runtime 1.17+ runs it; every layer here exists since opset 13).
DEFAULT_OPSET = 17
#: The graph's input (clips ``[batch, bands, frames]``) and output (logits ``[batch, n_genres]``).
INPUT, OUTPUT = "clips", "logits"


class OnnxScorer(NetworkScorer):
    """A network on ONNX Runtime as a scorer: ``session`` maps :data:`INPUT` clips to :data:`OUTPUT` logits.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        See :func:`onnx_session`.
    frames, hop, batch_size : int
        As :class:`~genrekit.inference.scorers.NetworkScorer`.
    """

    def __init__(self, session, frames: int, hop: int, batch_size: int = 256):
        self.session = session
        super().__init__(self._forward, frames, hop, batch_size)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT], {INPUT: batch})[0]

    @classmethod
    def from_network(cls, model, frames: int, hop: int, batch_size: int = 256) -> "OnnxScorer":
        """Run a PyTorch network on ONNX Runtime: convert it in memory and score clips with the session.

        Parameters
        ----------
        model : torch.nn.Module
            A run's network: takes ``[batch, bands, frames]`` float32, returns logits ``[batch, n_genres]``.
        """
        return cls(onnx_session(network_onnx(model, frames)), frames, hop, batch_size)


def onnx_session(model: bytes, threads: int | None = None):
    """An ``onnxruntime.InferenceSession`` on the CPU.

    ``threads`` (default: the CPUs this process may use) is the intra-op thread count;
    operators run one at a time (the networks are chains), and idle threads sleep instead
    of spinning, so decoding workers get the cores between batches.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or default_workers()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def network_onnx(model, frames: int, opset: int = DEFAULT_OPSET) -> bytes:
    """A PyTorch network as ONNX bytes (TorchScript exporter: no onnxscript needed), batch axis dynamic.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``[batch, bands, frames]``; its network says how many bands (``n_bands``).
    frames : int
        The clip length the graph is traced with.
    """
    import torch

    model = model.eval()
    example = torch.zeros(2, _bands(model), frames)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on constant folding and its own deprecation
        torch.onnx.export(model, (example,), buffer, dynamo=False, opset_version=opset, input_names=[INPUT],
                          output_names=[OUTPUT], dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
                          do_constant_folding=True)
    return buffer.getvalue()


def _bands(model) -> int:
    """Input bands of a network (a run's standardisation + network, or a bare network)."""
    net = model.net if hasattr(model, "net") else model
    if not hasattr(net, "n_bands"):
        raise ConfigError(f"{type(net).__name__} does not say how many bands it takes (no n_bands attribute)")
    return int(net.n_bands)


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, as a dict of strings.

    Raises
    ------
    GenrekitError
        The file is not an ONNX model, or not one written by :func:`genrekit.export.export_onnx`.
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise GenrekitError(f"{path}: not an ONNX model ({type(exc).__name__}: {exc})") from None
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    if metadata.get("format") != ONNX_FORMAT:
        raise GenrekitError(f"{path}: an ONNX model without genrekit metadata (no {ONNX_FORMAT!r} format tag); "
                            "export it with `genrekit export SOURCE --onnx OUT.onnx`")
    return metadata


def load_onnx(path: str | os.PathLike, clip_hop: int | None = None, workers: int | None = None,
              batch_size: int = 256, rule: str | None = None) -> Classifier:
    """A :class:`~genrekit.inference.Classifier` running an exported ONNX file on ONNX Runtime.

    Parameters
    ----------
    path : path
        A file written by :func:`genrekit.export.export_onnx`.
    clip_hop : int, optional
        Hop between scored clips; default: the model's training hop.
    workers : int, optional
        Decoding processes for :meth:`Classifier.predict`.
    batch_size : int
        Clips per ONNX Runtime call.
    rule : str, optional
        The clip-to-track rule; default: the file's (``mean`` for files written before it was stored).
    """
    metadata = read_metadata(path)
    try:
        genres = json.loads(metadata["genres"])
        spec = features.from_dict(json.loads(metadata["spec"]))
        frames, hop = int(metadata["clip_frames"]), int(clip_hop or metadata["clip_hop"])
        info = {"config": json.loads(metadata.get("config", "{}")), "card": json.loads(metadata.get("card", "{}")),
                "source": str(path)}
        window_seconds = float(metadata.get("window_seconds", 30.0))
        stored_rule = metadata.get("rule", "mean")  # files written before the rule was stored used the mean
    except (KeyError, ValueError) as exc:
        raise GenrekitError(f"{path}: damaged genrekit metadata ({type(exc).__name__}: {exc}); "
                            "export the model again") from None
    scorer = OnnxScorer(onnx_session(Path(path).read_bytes()), frames, hop, batch_size)
    return Classifier(scorer, genres, spec, metadata["model_id"], info, window_seconds=window_seconds,
                      workers=workers, rule=rule or stored_rule)
