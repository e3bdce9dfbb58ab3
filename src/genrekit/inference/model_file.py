"""The genrekit model file (``.pt``): one network, everything needed to serve it, tensors and plain data only.

================  =====================================================================
key               value
================  =====================================================================
``format``        :data:`MODEL_FORMAT`
``config``        the run's resolved training configuration, with ``clip_frames``, ``clip_hop``
                  and ``genres``
``spec``          ``FeatureSpec.to_dict()`` of the representation the network reads
``state``         the network's ``state_dict`` as trained (CPU tensors)
``card``          the model card (may be ``{}``)
``rule``          the clip-to-track rule (:data:`genrekit.aggregation.RULES`; ``mean`` when absent)
================  =====================================================================

Written by :meth:`~genrekit.inference.Classifier.save` and :func:`~genrekit.inference.save_model`, read
by :func:`~genrekit.inference.load_model` (with ``weights_only=True``: a model file runs no code).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from genrekit import aggregation, features
from genrekit.errors import GenrekitError
from genrekit.files import atomic_write

__all__ = ["MODEL_FORMAT", "write_model", "read_model"]

#: Format tag of model files.
MODEL_FORMAT = "genrekit-model/1"


def write_model(path: str | os.PathLike, config: dict, state: dict, spec: features.FeatureSpec, card: dict,
                rule: str = "mean") -> Path:
    """Write a model file: a network's resolved run configuration (``config``, with ``clip_frames``,
    ``clip_hop``, ``genres``), its ``state_dict``, the feature spec it reads, a model card and the
    clip-to-track ``rule`` the :class:`~genrekit.inference.Classifier` applies. Written whole or not at all."""
    aggregation.check_rule(rule)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": MODEL_FORMAT, "config": config, "spec": spec.to_dict(),
               "state": {k: v.detach().cpu().contiguous() for k, v in state.items()}, "card": card, "rule": rule}
    atomic_write(path, lambda stream: torch.save(payload, stream))
    return path


def read_model(path: Path) -> dict[str, Any]:
    """A model file's contents (the keys above; ``card`` and ``rule`` filled in when absent).

    Raises
    ------
    GenrekitError
        The file is not a genrekit model file.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GenrekitError(f"{path}: not a genrekit model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise GenrekitError(f"{path}: not a genrekit model file (no {MODEL_FORMAT!r} format tag)")
    return {"card": {}, "rule": "mean", **payload}
