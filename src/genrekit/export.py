"""Networks as ONNX files: the writer.

An exported file is a whole classifier: the network (its per-band standardisation
included, see ``docs/architecture.md``) takes clips ``[batch, bands, frames]`` with a
dynamic batch axis and returns logits ``[batch, n_genres]``, and the ONNX metadata
(``metadata_props``, string keys and values) holds what :func:`genrekit.inference.load_onnx` needs
to rebuild the :class:`~genrekit.inference.Classifier` without genrekit's training code or PyTorch
(the names, format tag and reader live in :mod:`genrekit.inference.onnx`):

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

import json
import os
from pathlib import Path

from genrekit.inference import Classifier, load_model
from genrekit.inference.onnx import DEFAULT_OPSET, ONNX_FORMAT, network_onnx

__all__ = ["export_onnx"]


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
    model = onnx.load_from_string(network_onnx(scorer.model, scorer.frames, opset))
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
