"""Ray, the optional engine for scaling out (placeholder for R1's module; the lead keeps R1's version).

:func:`require_ray` returns the ``ray`` module or says what to install; :func:`connect` starts or
joins a Ray cluster once per process.
"""

from __future__ import annotations

from typing import Any

from genrekit.errors import ConfigError

__all__ = ["require_ray", "connect"]

INSTALL = "pip install 'genrekit[ray]'"


def require_ray():
    """The ``ray`` module, or a :class:`ConfigError` naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray, which is not installed; run: {INSTALL}") from None
    return ray


def connect(address: str = "auto") -> dict[str, Any]:
    """Join the Ray cluster at ``address`` (``"auto"``: the one running here, else a new local one); idempotent.

    Returns
    -------
    dict
        ``{"nodes": int, "cpus": float, "gpus": float}`` of the cluster.
    """
    ray = require_ray()
    if not ray.is_initialized():
        if address == "auto":
            try:
                ray.init(address="auto", log_to_driver=False)
            except ConnectionError:
                ray.init(log_to_driver=False, include_dashboard=False)
        else:
            ray.init(address=address, log_to_driver=False)
    resources = ray.cluster_resources()
    return {"nodes": len([n for n in ray.nodes() if n.get("Alive")]), "cpus": resources.get("CPU", 0.0),
            "gpus": resources.get("GPU", 0.0)}
