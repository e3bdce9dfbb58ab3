"""Real servers on free loopback ports for the server and web page tests: a ``genrekit serve``
process (the command end to end), or uvicorn in a thread of the test process (no start-up cost)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def genrekit_command() -> list[str]:
    script = Path(sys.executable).with_name("genrekit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "genrekit.apps.cli"]


@contextlib.contextmanager
def running_server(model: Path, max_mb: float, *options: str, log: Path | None = None,
                   env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``genrekit serve --model MODEL --port N --max-mb MAX_MB [OPTIONS]``; yield its URL once /health
    answers. Its stdout and stderr go to the file ``log`` (a temporary one by default); ``env`` adds variables."""
    port = free_port()
    command = genrekit_command() + ["serve", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
                                    "--max-mb", str(max_mb), *options]
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(log or Path(scratch) / "serve.log")
        with open(log, "a") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True,
                                       env={**os.environ, **(env or {})})
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"genrekit serve exited with {process.returncode}:\n{log.read_text()}")
                try:
                    with urllib.request.urlopen(url + "/health", timeout=2):
                        break
                except (urllib.error.URLError, ConnectionError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"genrekit serve did not answer /health within {STARTUP_SECONDS} s")
                    time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def threaded_server(app) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn, configured as ``genrekit serve`` does, in a thread of this
    process; yield its URL once it listens."""
    import uvicorn

    from genrekit.apps.serve_cmd import server_config

    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def get(url: str) -> tuple[int, bytes, str]:
    """``(status, body, content type)`` of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("content-type", "")


def post_file(url: str, filename: str | None, content: bytes, field: str = "file",
              content_type: str = "application/octet-stream") -> tuple[int, dict]:
    """POST a multipart/form-data body with one file part (none when ``filename`` is None); ``(status, JSON)``."""
    boundary = uuid.uuid4().hex
    if filename is None:
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nno file\r\n'.encode()]
    else:
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n"]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
