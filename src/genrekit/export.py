"""Networks as ONNX models: export, and classifiers that run on ONNX Runtime.

An exported file is a whole classifier: the network (its per-band standardisation
included, see ``docs/architecture.md``) takes clips ``[batch, bands, frames]`` with a
dynamic batch axis and returns logits ``[batch, n_genres]``, and the ONNX metadata
(``metadata_props``, string keys and values) holds what :func:`load_onnx` needs to rebuild
the :class:`~genrekit.inference.Classifier` without genrekit's training code or PyTorch:

================  =====================================================================
key               value
================  =====================================================================
``format``        ``genrekit-onnx/1``
``genres``        JSON list of the output names, in order
``spec``          JSON of ``FeatureSpec.to_dict()`` (the representation the model reads)
``clip_frames``   clip length in frames (the network's input width)
``clip_hop``      the training hop between clips
``window_seconds`` files are featurised in windows of this length
``model_id``      the id of the weights it was exported from (``NAME@SHA256[:12]``)
``card``          JSON model card (may be ``{}``)
``config``        JSON of the run's resolved training configuration
``rule``          how clip probabilities become the track's (``genrekit.aggregation.RULES``;
                  ``mean`` when absent)
================  =====================================================================

Any platform with an ONNX runtime can score clips with the file alone; computing the
features it reads is described by ``spec``. A transfer model on frozen musicnn weights (the bundled
model v2) is exported with its pruned musicnn (``load_model`` scores with it by default).

    genrekit export runs/net --onnx net.onnx
    >>> clf = load_model("net.onnx")            # doctest: +SKIP
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
from genrekit.features.extraction import default_workers
from genrekit.inference import Classifier, NetworkScorer, load_model

__all__ = ["export_onnx", "load_onnx", "onnx_scorer", "onnx_session", "read_metadata", "ONNX_FORMAT",
           "DEFAULT_OPSET"]

#: Format tag stored in an exported file's metadata.
ONNX_FORMAT = "genrekit-onnx/1"
#: Opset of exported files (ONNX Runtime 1.17+ runs it; every layer here exists since opset 13).
DEFAULT_OPSET = 17
_INPUT, _OUTPUT = "clips", "logits"


def export_onnx(source: str | os.PathLike | Classifier | None, path: str | os.PathLike,
                opset: int = DEFAULT_OPSET) -> Path:
    """Write a network classifier as an ONNX file with its genres, feature spec and card.

    Parameters
    ----------
    source : path, Classifier or None
        A run directory of ``genrekit train``, a model file (``.pt``), ``None`` for the
        bundled model, or a :class:`~genrekit.inference.Classifier` running PyTorch.
    path : path
        The ``.onnx`` file to write (written whole or not at all).
    opset : int
        ONNX opset version.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ConfigError
        The source is a classical (scikit-learn) baseline or already an ONNX model.
    """
    import onnx

    from genrekit.files import atomic_write

    classifier = source if isinstance(source, Classifier) else load_model(source)
    scorer = classifier.require_torch("exported to ONNX")
    config = classifier.info.get("config", {})
    model = onnx.load_from_string(_onnx_bytes(scorer.model, _bands(scorer.model), scorer.frames, opset))
    metadata = {
        "format": ONNX_FORMAT,
        "genres": json.dumps(classifier.genres),
        "spec": json.dumps(classifier.spec.to_dict()),
        "clip_frames": str(scorer.frames),
        "clip_hop": str(config.get("clip_hop", scorer.hop)),
        "window_seconds": repr(float(classifier.window_seconds)),
        "model_id": classifier.model_id,
        "card": json.dumps(classifier.info.get("card", {})),
        "config": json.dumps(config),
        "rule": classifier.rule,
    }
    onnx.helper.set_model_props(model, metadata)
    model.doc_string = f"genrekit {metadata['model_id']}: clips [batch, {classifier.spec.bands}, {scorer.frames}] " \
                       f"-> logits [batch, {len(classifier.genres)}] ({', '.join(classifier.genres)})"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda stream: stream.write(model.SerializeToString()))
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, as a dict of strings.

    Raises
    ------
    GenrekitError
        The file is not an ONNX model, or not one written by :func:`export_onnx`.
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
              batch_size: int = 256) -> Classifier:
    """A :class:`~genrekit.inference.Classifier` running an exported ONNX file on ONNX Runtime.

    Parameters
    ----------
    path : path
        A file written by :func:`export_onnx`.
    clip_hop : int, optional
        Hop between scored clips; default: the model's training hop.
    workers : int, optional
        Decoding processes for :meth:`Classifier.predict`.
    batch_size : int
        Clips per ONNX Runtime call.
    """
    metadata = read_metadata(path)
    try:
        genres = json.loads(metadata["genres"])
        spec = features.from_dict(json.loads(metadata["spec"]))
        frames, hop = int(metadata["clip_frames"]), int(clip_hop or metadata["clip_hop"])
        info = {"config": json.loads(metadata.get("config", "{}")), "card": json.loads(metadata.get("card", "{}")),
                "source": str(path)}
        window_seconds = float(metadata.get("window_seconds", 30.0))
        rule = metadata.get("rule", "mean")  # files written before the rule was stored used the mean
    except (KeyError, ValueError) as exc:
        raise GenrekitError(f"{path}: damaged genrekit metadata ({type(exc).__name__}: {exc}); "
                            "export the model again") from None
    scorer = _scorer(onnx_session(Path(path).read_bytes()), frames, hop, batch_size)
    return Classifier(scorer, genres, spec, metadata["model_id"], info, window_seconds=window_seconds,
                      workers=workers, rule=rule)


def onnx_scorer(model, frames: int, hop: int, batch_size: int = 256) -> NetworkScorer:
    """Run a PyTorch network on ONNX Runtime: export it in memory and score clips with the session.

    Parameters
    ----------
    model : torch.nn.Module
        A network of :func:`genrekit.runs.load_run`: takes ``[batch, bands, frames]``
        float32, returns logits ``[batch, n_genres]``.
    frames, hop, batch_size : int
        As :class:`~genrekit.inference.NetworkScorer`.
    """
    return _scorer(onnx_session(_onnx_bytes(model, _bands(model), frames, DEFAULT_OPSET)), frames, hop, batch_size)


def _bands(model) -> int:
    """Input bands of a network (a run's standardisation + network, or a bare network)."""
    net = getattr(model, "net", model)
    if not hasattr(net, "n_bands"):
        raise ConfigError(f"{type(net).__name__} does not say how many bands it takes (no n_bands attribute)")
    return int(net.n_bands)


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


def _scorer(session, frames: int, hop: int, batch_size: int) -> NetworkScorer:
    def forward(batch: np.ndarray) -> np.ndarray:
        return session.run([_OUTPUT], {_INPUT: batch})[0]

    scorer = NetworkScorer(forward, frames, hop, batch_size)
    scorer.session = session
    return scorer


def _onnx_bytes(model, bands: int, frames: int, opset: int) -> bytes:
    """The network as ONNX (TorchScript exporter: no onnxscript needed), batch axis dynamic."""
    import torch

    model = model.eval()
    example = torch.zeros(2, bands, frames)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on constant folding and its own deprecation
        torch.onnx.export(model, (example,), buffer, dynamo=False, opset_version=opset, input_names=[_INPUT],
                          output_names=[_OUTPUT], dynamic_axes={_INPUT: {0: "batch"}, _OUTPUT: {0: "batch"}},
                          do_constant_folding=True)
    return buffer.getvalue()
