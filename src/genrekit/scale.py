"""Ray, the optional engine of genrekit's scale-out (``pip install 'genrekit[ray]'``).

:func:`require_ray` imports it or says what to install; :func:`connect` joins a cluster, or starts
Ray on this machine, once per process.
"""

from __future__ import annotations

from typing import Any

from genrekit.errors import ConfigError

__all__ = ["INSTALL", "require_ray", "connect"]

#: What to install for ``--ray``.
INSTALL = "pip install 'genrekit[ray]'"


def require_ray():
    """The ``ray`` module, or a :class:`~genrekit.errors.ConfigError` saying what to install."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray, which is not installed here: {INSTALL}") from None
    return ray


def connect(address: str = "auto") -> dict[str, Any]:
    """Join a Ray cluster (``"auto"``: the running one, else a new local instance; or ``HOST:PORT``), once.

    Returns
    -------
    dict
        ``nodes`` (alive), ``cpus``, ``gpus`` (the cluster's totals).
    """
    ray = require_ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address)
        except ConnectionError:
            if address != "auto":
                raise ConfigError(f"cannot reach the Ray cluster at {address}; start one with `ray start --head`, "
                                  "or use --ray auto") from None
            ray.init()
    resources = ray.cluster_resources()
    return {"nodes": sum(1 for node in ray.nodes() if node.get("Alive")),
            "cpus": float(resources.get("CPU", 0.0)), "gpus": float(resources.get("GPU", 0.0))}
