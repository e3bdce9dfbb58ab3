"""``genrekit serve``: the web service and its page (:mod:`genrekit.apps.server`) under uvicorn.

    genrekit serve                              # the bundled model on http://127.0.0.1:8000/
    genrekit serve --model runs/mine --port 9000 --max-mb 20

The model is loaded once, before the server starts listening. The service has no
authentication, so it listens on the loopback interface unless ``--host`` says otherwise,
and a warning is printed when it does.
"""

from __future__ import annotations

import ipaddress
from typing import Optional

import typer

from genrekit.errors import ConfigError

__all__ = ["serve", "is_loopback"]


def is_loopback(host: str) -> bool:
    """True when ``host`` names only this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def serve(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="A run directory, model file (.pt) or ONNX "
                                        "file (default: the bundled model)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on. The service has no "
                             "authentication: anything but loopback exposes it to the network."),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="TCP port."),
    max_mb: float = typer.Option(50.0, "--max-mb", help="Largest upload accepted, in MB (10^6 bytes)."),
) -> None:
    """Serve a model over HTTP: POST /predict, GET /health, /docs, and a page at / to drop a file on."""
    import uvicorn

    from genrekit.apps.server import create_app
    from genrekit.inference import load_model

    if max_mb <= 0:
        raise ConfigError(f"--max-mb must be positive, got {max_mb:g}")
    if not is_loopback(host):
        typer.echo(f"warning: listening on {host}, not loopback: anyone who can reach this machine can use "
                   "the service (it has no authentication)", err=True)
    classifier = load_model(model)
    typer.echo(f"serving {classifier.model_id} on http://{_url_host(host)}:{port}/ (Ctrl+C stops)", err=True)
    uvicorn.run(create_app(classifier, max_bytes=int(max_mb * 1e6)), host=host, port=port, log_level="info")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
