"""``genrekit serve``: the web service and its page (:mod:`genrekit.apps.server`) under uvicorn.

    genrekit serve                              # the bundled model on http://127.0.0.1:8000/
    genrekit serve --model runs/mine --port 9000 --max-mb 20
    genrekit serve --min-confidence 0.5         # genre 'unknown' under 50 %; POST /predict?tags=1 for tags

The model is loaded once, before the server starts listening. The service has no
authentication, so it listens on the loopback interface unless ``--host`` says otherwise,
and a warning is printed when it does.

uvicorn closes an idle kept-alive connection after a few seconds, but has no limit on how
long a client may take to send a request's headers: a client that opens connections and
sends headers a byte at a time, or never finishes them ("slowloris"), holds them forever.
:func:`server_config` runs uvicorn's h11 protocol with such a limit (``--header-timeout``).
"""

from __future__ import annotations

import copy
import ipaddress
import math
from typing import Optional

import typer

from genrekit.apps.predict_cmd import MIN_CONFIDENCE
from genrekit.errors import ConfigError

__all__ = ["serve", "is_loopback", "server_config", "HEADER_TIMEOUT", "KEEP_ALIVE_TIMEOUT"]

#: Seconds a connection may take to send a request's complete headers (from its opening, or from
#: the first byte of a following request on a kept-alive connection).
HEADER_TIMEOUT = 10.0
#: Seconds an idle kept-alive connection stays open (uvicorn's own default).
KEEP_ALIVE_TIMEOUT = 5


def is_loopback(host: str) -> bool:
    """True when ``host`` names only this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def _positive(option: str, unit: str):
    """A typer callback refusing NaN, infinities, zero and negative values while the options are parsed."""
    def check(value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{option} must be a positive number of {unit}, got {value:g}")
        return value
    return check


def serve(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="A run directory, model file (.pt) or ONNX "
                                        "file (default: the bundled model)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on. The service has no "
                             "authentication: anything but loopback exposes it to the network."),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="TCP port."),
    max_mb: float = typer.Option(50.0, "--max-mb", callback=_positive("--max-mb", "MB"),
                                 help="Largest upload accepted, in MB (10^6 bytes)."),
    header_timeout: float = typer.Option(HEADER_TIMEOUT, "--header-timeout",
                                         callback=_positive("--header-timeout", "seconds"),
                                         help="Seconds a client may take to send a request's headers; slower "
                                              "connections are closed."),
    min_confidence: Optional[float] = MIN_CONFIDENCE,
) -> None:
    """Serve a model over HTTP: POST /predict, GET /health, /docs, and a page at / to drop a file on."""
    import uvicorn

    from genrekit.apps.server import create_app
    from genrekit.inference import load_model

    if not is_loopback(host):
        typer.echo(f"warning: listening on {host}, not loopback: anyone who can reach this machine can use "
                   "the service (it has no authentication)", err=True)
    classifier = load_model(model)
    typer.echo(f"serving {classifier.model_id} on http://{_url_host(host)}:{port}/ (Ctrl+C stops)", err=True)
    app = create_app(classifier, max_bytes=int(max_mb * 1e6), min_confidence=min_confidence)
    uvicorn.Server(server_config(app, host, port, header_timeout=header_timeout)).run()


def server_config(app, host: str = "127.0.0.1", port: int = 8000, header_timeout: float = HEADER_TIMEOUT,
                  log_level: str = "info"):
    """The uvicorn configuration ``genrekit serve`` runs ``app`` with.

    Parameters
    ----------
    app : ASGI application
    host, port
        Where to listen.
    header_timeout : float
        Seconds a connection may take to send a request's complete headers, from its opening
        or from the first byte of a following request; then it is closed without an answer.
    log_level : str
        uvicorn's and genrekit's server log level.

    Returns
    -------
    uvicorn.Config
        h11 with the header timeout, idle keep-alive connections closed after
        :data:`KEEP_ALIVE_TIMEOUT` s, and the ``genrekit`` loggers (one line per abandoned
        upload, see :mod:`genrekit.apps.server`) printed like uvicorn's own.
    """
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"]["genrekit"] = {"handlers": ["default"], "level": log_level.upper(), "propagate": False}
    return uvicorn.Config(app, host=host, port=port, http=header_timeout_protocol(header_timeout),
                          timeout_keep_alive=KEEP_ALIVE_TIMEOUT, log_config=log_config, log_level=log_level)


def header_timeout_protocol(seconds: float) -> type:
    """uvicorn's h11 protocol that closes a connection whose request headers take more than ``seconds``.

    The clock starts when the connection opens, and again at the first byte of each following
    request on a kept-alive connection (before it, uvicorn's keep-alive timeout applies); it
    stops when h11 has the whole request line and headers. A closed connection gets no answer:
    HTTP has none for a request whose headers never arrived.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):
        _header_timer = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
            if waiting and self._header_timer is None:  # the first bytes of a following request
                self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)
            elif not waiting:
                self._stop_header_timer()

        def connection_lost(self, exc) -> None:
            self._stop_header_timer()
            super().connection_lost(exc)

        def _stop_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
