"""The genrekit web service: a FastAPI app around one loaded :class:`~genrekit.inference.Classifier`.

Endpoints
---------
``GET /health``
    ``{"status": "ok", "model_id", "genres", "spec", "max_bytes", "version"}``.
``POST /predict``
    A ``multipart/form-data`` upload with the audio in the field ``file``; answers the
    genre, its probabilities and a timeline (``Prediction.to_dict()``, the path replaced by
    the client's ``filename``); with ``?tags=1`` also musicnn's 50 tags (``tags``:
    ``{name: probability}``, :mod:`genrekit.tags`). With a minimum confidence the genre is
    ``unknown`` when the most probable genre is below it. Refusals (:mod:`genrekit.apps.uploads`) answer
    ``{"detail": message}`` with 400 (a malformed or cut-short multipart body), 413 (too
    large), 415 (not audio in a supported format), 422 (no file, empty, damaged, silent, too
    short) or 507 (the server's temporary folder is full).
``GET /``
    One self-contained page (:mod:`genrekit.apps.page`): drop a file, see the bar chart of
    genre probabilities and the timeline.
``GET /openapi.json``, ``GET /docs``
    The OpenAPI schema is served by the app itself. The Swagger UI at ``/docs`` is FastAPI's:
    its script and style sheet come from a CDN (jsDelivr), so it shows only where the
    *browser* reaches the internet; ``/openapi.json`` works everywhere.

The model runs in a small thread pool of its own, so the event loop keeps serving
(``/health``, the page, other uploads) while a file is classified. Create the app with
:func:`create_app`; ``genrekit serve`` (:mod:`genrekit.apps.serve_cmd`) runs it with uvicorn.

A client that goes away (closes the connection before its upload is complete, or while its
file waits for or is in the model's thread pool) costs one line in the log (logger
``genrekit.server``), not a traceback. A file whose client has gone is not classified when it
has not started yet; one already being classified finishes, and its answer is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.requests import ClientDisconnect

import genrekit
from genrekit.apps import page, uploads
from genrekit.apps.uploads import FIELD, UploadError

__all__ = ["create_app", "DEFAULT_MAX_BYTES"]

log = logging.getLogger("genrekit.server")

#: The default upload limit: 50 MB holds about 9 minutes of CD-quality WAV.
DEFAULT_MAX_BYTES = 50_000_000

_REFUSALS = {
    400: {"description": "The multipart body is malformed or cut short (no closing boundary)."},
    413: {"description": "The upload is larger than the server's limit."},
    415: {"description": "The file is not audio in a supported format (WAV, FLAC, OGG/Vorbis, MP3, AU, AIFF)."},
    422: {"description": "No file in the field `file`, or the audio is empty, damaged, silent or too short."},
    507: {"description": "The server's temporary folder is full; try again later."},
}
# /predict reads its body itself (to cap its size while streaming), so the schema is declared here.
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": [FIELD],
    "properties": {FIELD: {"type": "string", "format": "binary", "description": "The audio file."}}}}}}}


def create_app(classifier, max_bytes: int = DEFAULT_MAX_BYTES, threads: int = 2,
               min_confidence: float | None = None, tagger=None) -> FastAPI:
    """The web service around a loaded classifier.

    Parameters
    ----------
    classifier : genrekit.inference.Classifier
        Loaded once by the caller; shared by all requests.
    max_bytes : int
        The largest upload accepted (larger ones get 413).
    threads : int
        Files classified at the same time (each also uses PyTorch's own threads).
    min_confidence : float, optional
        Answer the genre ``unknown`` below this probability (0..1).
    tagger : genrekit.tags.Tagger, optional
        For ``?tags=1``; default: musicnn's, loaded at the first such request.

    Returns
    -------
    fastapi.FastAPI
    """
    from genrekit.inference import check_min_confidence

    check_min_confidence(min_confidence)
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="genrekit-predict")
    the_tagger = _LazyTagger(tagger)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="genrekit", version=genrekit.__version__, lifespan=lifespan, redoc_url=None,
                  description=f"Music genre classification with the model `{classifier.model_id}`. "
                              f"Upload an audio file to `POST /predict` in the multipart field `{FIELD}`.")

    app.add_exception_handler(UploadError, _refused)
    app.add_exception_handler(ClientDisconnect, _gone)

    @app.get("/health", summary="Whether the service is up, and which model it runs")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model_id": classifier.model_id, "genres": list(classifier.genres),
                "spec": classifier.spec.to_dict(), "max_bytes": max_bytes, "version": genrekit.__version__}

    @app.post("/predict", summary="Classify an uploaded audio file", responses=_REFUSALS,
              openapi_extra=_UPLOAD_BODY)
    async def predict(request: Request, segment_seconds: float = Query(
            10.0, gt=0.5, le=3600, description="Length of the timeline's segments in seconds."),
            tags: bool = Query(False, description="Also answer musicnn's 50 Million Song Dataset tags "
                               "(`tags`: name -> probability).")) -> dict[str, Any]:
        """The genre of the file in the field ``file``, its probabilities and a timeline of segments."""
        directory = uploads.private_directory()
        try:
            upload = await uploads.receive(request, directory, max_bytes)
            if await request.is_disconnected():
                raise ClientDisconnect("after its upload, before it was classified (it was not classified)")
            work = executor.submit(_classify, classifier, upload, segment_seconds,
                                   the_tagger if tags else None, min_confidence)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        # Removed when the work is done or cancelled, not before: a running thread may still read it.
        work.add_done_callback(lambda _: shutil.rmtree(directory, ignore_errors=True))
        return await _unless_gone(request, work)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page.render(classifier.model_id, max_bytes)

    return app


class _LazyTagger:
    """The tagger for ``?tags=1``: the one given, or musicnn's, loaded once at the first request for tags
    (in the model's thread pool, so loading does not hold up the event loop)."""

    def __init__(self, tagger=None):
        self.tagger = tagger
        self.loading = threading.Lock()

    def __call__(self):
        with self.loading:
            if self.tagger is None:
                from genrekit.tags import Tagger

                self.tagger = Tagger()
        return self.tagger


async def _refused(request: Request, exc: UploadError) -> JSONResponse:
    if exc.status == 507:  # the operator must hear of it, not only the client
        log.warning("%s: refused with 507: no space left in the temporary folder %s", _client(request),
                    tempfile.gettempdir())
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


async def _gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
    when = exc.args[0] if exc.args else "before its upload was complete (nothing was classified)"
    log.info("%s: the client closed the connection %s", _client(request), when)
    # uvicorn sends nothing on a closed connection; another server may deliver this.
    return JSONResponse({"detail": "the connection closed before the request was complete"}, status_code=400)


async def _unless_gone(request: Request, work: Future) -> Any:
    """The result of ``work``, or :class:`ClientDisconnect` as soon as the client closes the
    connection first; then ``work`` is cancelled if it has not started (a running one finishes)."""
    answer = asyncio.wrap_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if answer.done():
        return answer.result()
    started = not work.cancel()
    answer.cancel()
    raise ClientDisconnect("while its file was being classified (the answer is dropped)" if started else
                           "while its file waited to be classified (it was not classified)")


async def _disconnected(request: Request) -> None:
    """Return when the client has closed the connection (after the request body was read)."""
    while (await request.receive())["type"] != "http.disconnect":
        await asyncio.sleep(0.05)  # uvicorn blocks until the disconnect; a server that answers at once must not spin


def _client(request: Request) -> str:
    host, port = request.client if request.client else ("?", 0)
    return f"{request.method} {request.url.path} from {host}:{port}"


def _classify(classifier, upload: uploads.Upload, segment_seconds: float, tagger=None,
              min_confidence: float | None = None) -> dict[str, Any]:
    """Type-check and classify one received file (runs in the model's thread pool); ``tagger``: a
    callable returning the :class:`~genrekit.tags.Tagger`, when tags are asked for."""
    uploads.check_audio(upload)
    (prediction,) = classifier.predict([str(upload.path)], timeline=True, segment_seconds=segment_seconds)
    if tagger is not None:
        tagger().add_tags(prediction)
    prediction.apply_min_confidence(min_confidence)
    if prediction.error is not None:
        raise UploadError(422, f"{upload.filename!r}: {prediction.error}")
    result = prediction.to_dict()
    del result["path"]
    return {"filename": upload.filename, "model_id": classifier.model_id, **result}
