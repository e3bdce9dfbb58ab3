"""genrekit serve over real HTTP: a `genrekit serve` process on a loopback port, good and bad uploads,
clients that go away or never finish their headers, and a full temporary folder."""

from __future__ import annotations

import json
import socket
import struct
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest

from conftest import SR, fill, noise, tmpfs, tone, write
from live_server import get, post_file, running_server

MAX_MB = 2.0  # small, so that an over-limit upload is a 60 s WAV
SECONDS = 25.0  # three 10 s timeline segments
HEADER_TIMEOUT = 1.0  # seconds a client may take to send its headers (--header-timeout)
BOUNDARY = "b0undary"


def music(seconds: float = SECONDS) -> np.ndarray:
    return tone(330.0, seconds) + noise(seconds, amplitude=0.2)


def png_bytes() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
            + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def server_log(tmp_path_factory):
    return tmp_path_factory.mktemp("serve") / "serve.log"


@pytest.fixture(scope="module")
def server(coarse_run, server_log):
    with running_server(coarse_run, MAX_MB, "--header-timeout", str(HEADER_TIMEOUT), log=server_log) as url:
        yield url


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    base = tmp_path_factory.mktemp("uploads")
    y = music()
    return {"wav": write(base / "song.wav", y, subtype="PCM_16"), "flac": write(base / "song.flac", y),
            "ogg": write(base / "song.ogg", y), "long": write(base / "long.wav", music(60.0), subtype="PCM_16"),
            "silent": write(base / "silent.wav", np.zeros(int(5 * SR), np.float32)),
            "short": write(base / "short.wav", music(1.0))}


def test_health_names_the_model_and_its_genres(server, coarse_model):
    status, body, content_type = get(server + "/health")
    assert status == 200 and content_type.startswith("application/json")
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["model_id"] == coarse_model.model_id
    assert health["genres"] == coarse_model.genres
    assert health["spec"]["name"] == coarse_model.spec.name
    assert health["max_bytes"] == 2_000_000


@pytest.mark.parametrize("kind", ["wav", "flac", "ogg"])
def test_good_upload_gives_genre_probabilities_and_timeline(server, files, kind, coarse_model):
    path = files[kind]
    status, result = post_file(server + "/predict", path.name, path.read_bytes())
    assert status == 200, result
    assert result["filename"] == path.name and "path" not in result
    assert result["model_id"] == coarse_model.model_id
    assert list(result["probabilities"]) == coarse_model.genres
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert result["genre"] == max(result["probabilities"], key=result["probabilities"].get)
    assert result["seconds"] == pytest.approx(SECONDS, abs=0.05)
    timeline = result["timeline"]
    assert [(s["start"], s["end"]) for s in timeline] == [(0.0, 10.0), (10.0, 20.0), (20.0, SECONDS)]
    assert all(s["genre"] in coarse_model.genres for s in timeline)


def test_server_answers_what_the_library_answers(server, files, coarse_model):
    path = files["wav"]
    status, result = post_file(server + "/predict", path.name, path.read_bytes())
    (expected,) = coarse_model.predict([path], timeline=True)
    assert status == 200
    assert result["genre"] == expected.genre
    assert result["probabilities"] == pytest.approx(expected.probabilities, abs=1e-5)
    assert [s["genre"] for s in result["timeline"]] == [s.genre for s in expected.timeline]


def test_segment_length_is_a_query_parameter(server, files):
    path = files["wav"]
    status, result = post_file(server + "/predict?segment_seconds=5", path.name, path.read_bytes())
    assert status == 200 and len(result["timeline"]) == 5


def test_client_file_name_is_echoed_not_used(server, files):
    path = files["wav"]
    status, result = post_file(server + "/predict", "../../x/<b>evil</b>.WAV", path.read_bytes())
    assert status == 200 and result["filename"] == "../../x/<b>evil</b>.WAV"


def test_too_large_declared_upload_is_413(server, files):
    path = files["long"]
    assert path.stat().st_size > MAX_MB * 1e6
    status, result = post_file(server + "/predict", path.name, path.read_bytes())
    assert status == 413
    assert "limit of 2 MB (2000000 bytes)" in result["detail"] and "--max-mb" in result["detail"]


def test_too_large_chunked_upload_is_cut_off_with_413(server, files):
    """No Content-Length: the limit is enforced while the body streams in."""
    content = files["long"].read_bytes()
    head = (b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="long.wav"\r\n'
            b"Content-Type: audio/wav\r\n\r\n")
    chunks = [head] + [content[i:i + 65536] for i in range(0, len(content), 65536)] + [b"\r\n--b0undary--\r\n"]
    request = urllib.request.Request(server + "/predict", data=iter(chunks), method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=b0undary",
                                              "Transfer-Encoding": "chunked"})
    try:
        urllib.request.urlopen(request, timeout=30)
        pytest.fail("a chunked upload over the limit was accepted")
    except urllib.error.HTTPError as error:
        assert error.code == 413 and "limit of 2 MB" in json.loads(error.read())["detail"]


@pytest.mark.parametrize("name, content, says", [
    ("notes.txt", b"these are not the notes you are looking for\n", "not a supported audio file (.txt)"),
    ("picture.wav", png_bytes(), "is not audio in a format genrekit reads"),
    ("random.wav", np.random.default_rng(0).bytes(4096), "is not audio in a format genrekit reads"),
    ("text.mp3", b"hello " * 200, "is not audio in a format genrekit reads"),
])
def test_wrong_type_is_415_naming_the_formats(server, name, content, says):
    status, result = post_file(server + "/predict", name, content)
    assert status == 415, result
    assert says in result["detail"] and ".wav" in result["detail"] and ".flac" in result["detail"]


def test_unusable_audio_is_422_with_the_reason(server, files):
    wav = files["wav"].read_bytes()
    cases = {"empty.wav": (b"", "empty (0 bytes)"),
             "truncated.wav": (wav[:len(wav) // 3], "truncated"),
             "silent.wav": (files["silent"].read_bytes(), "silent"),
             "short.wav": (files["short"].read_bytes(), "too short")}
    for name, (content, says) in cases.items():
        status, result = post_file(server + "/predict", name, content)
        assert status == 422, (name, result)
        assert result["detail"].startswith(f"'{name}'") and says in result["detail"], result


def test_missing_file_field_is_422(server, files):
    status, result = post_file(server + "/predict", None, b"")
    assert status == 422 and "no file in the multipart field 'file'" in result["detail"]
    status, result = post_file(server + "/predict", "song.wav", files["wav"].read_bytes(), field="audio")
    assert status == 422 and "'file'" in result["detail"]


def test_a_body_that_is_not_multipart_is_422(server):
    request = urllib.request.Request(server + "/predict", data=b'{"file": "song.wav"}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 422 and "multipart/form-data" in json.loads(error.value.read())["detail"]


def test_openapi_schema_documents_the_upload(server):
    status, body, _ = get(server + "/openapi.json")
    assert status == 200
    schema = json.loads(body)
    predict = schema["paths"]["/predict"]["post"]
    form = predict["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"]["format"] == "binary" and form["required"] == ["file"]
    assert {"200", "413", "415", "422"} <= set(predict["responses"])
    assert "/health" in schema["paths"] and "/" not in schema["paths"]
    status, body, content_type = get(server + "/docs")
    assert status == 200 and b"/openapi.json" in body and content_type.startswith("text/html")


def test_page_is_self_contained(server, coarse_model):
    status, body, content_type = get(server + "/")
    page = body.decode()
    assert status == 200 and content_type.startswith("text/html")
    assert coarse_model.model_id in page and 'id="file"' in page and "<label" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page


# Raw HTTP on sockets: bodies cut short, clients that leave, headers that never end -----------------
def address(url: str) -> tuple[str, int]:
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    return host, int(port)


def multipart(filename: str, content: bytes) -> bytes:
    """A whole multipart/form-data body with one file part, ending with the closing boundary."""
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: audio/wav\r\n\r\n").encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def request_head(length: int) -> bytes:
    return (f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}"
            f"\r\nContent-Length: {length}\r\n\r\n").encode()


def read_response(connection: socket.socket) -> tuple[int, bytes]:
    """``(status, body)`` of one HTTP/1.1 response with a Content-Length, read from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, f"the server closed the connection; got {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += connection.recv(65536)
    return int(head.split()[1]), body


def closed_by_server(connection: socket.socket) -> bool:
    """Wait for the server to close; True when it did without sending anything."""
    try:
        return connection.recv(1024) == b""
    except ConnectionResetError:
        return True


def log_since(log, offset: int, until, seconds: float = 30.0) -> list[str]:
    """The server log's lines after byte ``offset``, once ``until(lines)`` holds (or ``seconds`` passed)."""
    deadline = time.monotonic() + seconds
    while True:
        with open(log, "rb") as stream:
            stream.seek(offset)
            lines = stream.read().decode(errors="replace").splitlines()
        if until(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


GONE = "the client closed the connection"
NOT_CLASSIFIED = ("(nothing was classified)", "(it was not classified)")


@pytest.mark.parametrize("cut", ["in the part's headers", "in the file", "before the closing boundary"])
def test_a_multipart_body_cut_short_is_400(server, files, cut):
    body = multipart("song.wav", files["wav"].read_bytes())
    at = {"in the part's headers": 40, "in the file": len(body) // 2,
          "before the closing boundary": len(body) - len(f"--{BOUNDARY}--\r\n")}[cut]
    request = urllib.request.Request(server + "/predict", data=body[:at], method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 400 and error.value.headers["content-type"] == "application/json"
    assert "ends before its closing boundary" in json.loads(error.value.read())["detail"]


def test_abandoned_uploads_cost_one_log_line_each(server, server_log, files):
    """Clients that send the headers and half the body, then close: one line each, no traceback."""
    body = multipart("song.wav", files["wav"].read_bytes())
    offset, n = server_log.stat().st_size, 20
    for _ in range(n):
        with socket.create_connection(address(server)) as connection:
            connection.sendall(request_head(len(body)) + body[:len(body) // 2])
    lines = log_since(server_log, offset, lambda lines: sum(GONE in line for line in lines) >= n)
    assert not any("Traceback" in line or "Error" in line for line in lines), "\n".join(lines)
    assert len(lines) == n and all(GONE in line and NOT_CLASSIFIED[0] in line for line in lines), "\n".join(lines)
    assert get(server + "/health")[0] == 200


def test_a_connection_that_does_not_finish_its_headers_is_closed(server):
    for sent in (b"", b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"):
        with socket.create_connection(address(server), timeout=HEADER_TIMEOUT + 20) as connection:
            start = time.monotonic()
            connection.sendall(sent)
            assert closed_by_server(connection), sent
            assert time.monotonic() - start < HEADER_TIMEOUT + 5, sent


def test_the_header_timeout_applies_to_each_request_of_a_kept_alive_connection(server):
    with socket.create_connection(address(server), timeout=HEADER_TIMEOUT + 20) as connection:
        for part in (b"GET /health HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):  # slow, but in time
            connection.sendall(part)
            time.sleep(HEADER_TIMEOUT / 8)
        status, body = read_response(connection)
        assert status == 200 and json.loads(body)["status"] == "ok"
        start = time.monotonic()
        connection.sendall(b"GET /health HTTP/1.1\r\n")  # the next request never ends its headers
        assert closed_by_server(connection)
        assert time.monotonic() - start < HEADER_TIMEOUT + 5


@pytest.fixture(scope="module")
def roomy_server(coarse_run, tmp_path_factory):
    """A server with a 30 MB limit, for uploads long enough to keep both model threads busy for a while."""
    log = tmp_path_factory.mktemp("roomy") / "serve.log"
    with running_server(coarse_run, 30.0, log=log) as url:
        yield url, log


def test_an_upload_whose_client_left_while_it_waited_is_not_classified(roomy_server, tmp_path):
    """Two clients keep the model's two threads busy with 4-minute files (seconds of work); four more
    send whole uploads and leave at once. Their files wait, and are dropped unclassified."""
    url, log = roomy_server
    long_body = multipart("long.wav", write(tmp_path / "long.wav", music(240.0), subtype="PCM_16").read_bytes())
    short_body = multipart("short.wav", write(tmp_path / "short.wav", music(4.0), subtype="PCM_16").read_bytes())
    offset = log.stat().st_size
    busy = [socket.create_connection(address(url), timeout=120) for _ in range(2)]
    try:
        for connection in busy:
            connection.sendall(request_head(len(long_body)) + long_body)
        time.sleep(1.0)  # both received and being classified
        for _ in range(4):
            with socket.create_connection(address(url)) as connection:
                connection.sendall(request_head(len(short_body)) + short_body)
        lines = log_since(log, offset, lambda lines: sum(GONE in line for line in lines) >= 4)
        assert [read_response(connection)[0] for connection in busy] == [200, 200]  # the patient ones
    finally:
        for connection in busy:
            connection.close()
    gone = [line for line in lines if GONE in line]
    assert len(gone) == 4 and all(line.endswith(NOT_CLASSIFIED) for line in gone), "\n".join(lines)
    assert not any("Traceback" in line for line in lines)


@pytest.fixture(scope="module")
def full_server(coarse_run, tmp_path_factory):
    """A server whose temporary folder is a 2 MB tmpfs (root only)."""
    base = tmp_path_factory.mktemp("full-server")
    with tmpfs(base / "tmp") as folder:
        with running_server(coarse_run, MAX_MB, log=base / "serve.log", env={"TMPDIR": str(folder)}) as url:
            yield url, folder, base / "serve.log"


def test_a_full_temporary_folder_is_507_and_the_server_recovers(full_server, files, tmp_path):
    url, folder, log = full_server
    small = write(tmp_path / "small.wav", music(12.0), subtype="PCM_16")  # 0.5 MB: kept in memory, then saved
    big = files["wav"]  # 1.1 MB: spooled to the temporary folder while it is received
    filler = fill(folder, 300_000)
    for path in (small, big):
        status, result = post_file(url + "/predict", path.name, path.read_bytes())
        assert status == 507, result
        assert result["detail"].startswith("the server has no space left to store the upload")
    filler.unlink()  # (a file over 1 MB briefly takes twice its size: starlette's spool, then our copy)
    status, result = post_file(url + "/predict", small.name, small.read_bytes())
    assert status == 200 and result["genre"]
    text = log.read_text()
    assert "Traceback" not in text and text.count("refused with 507: no space left") == 2


# musicnn tags and a minimum confidence ------------------------------------------------------------
@pytest.fixture(scope="module")
def sure_server(coarse_model):
    """In this process, as genrekit serve --min-confidence 1 makes it: every genre is 'unknown'."""
    from genrekit.apps.server import create_app
    from live_server import threaded_server

    with threaded_server(create_app(coarse_model, min_confidence=1.0)) as url:
        yield url


def test_tags_are_answered_when_asked_and_min_confidence_applies(sure_server, files, coarse_model):
    path = files["wav"]
    status, plain = post_file(sure_server + "/predict", path.name, path.read_bytes())
    assert status == 200 and "tags" not in plain and plain["genre"] == "unknown"
    assert list(plain["probabilities"]) == coarse_model.genres
    status, tagged = post_file(sure_server + "/predict?tags=1", path.name, path.read_bytes())
    assert status == 200, tagged
    assert len(tagged["tags"]) == 50 and {"rock", "female vocalists"} <= set(tagged["tags"])
    assert tagged["probabilities"] == pytest.approx(plain["probabilities"], abs=1e-5)


def test_the_app_refuses_a_minimum_confidence_outside_0_to_1(coarse_model):
    from genrekit.apps.server import create_app
    from genrekit.errors import ConfigError

    with pytest.raises(ConfigError, match="from 0 to 1"):
        create_app(coarse_model, min_confidence=1.5)


def test_the_page_can_ask_for_tags(server):
    status, body, _ = get(server + "/")
    assert status == 200 and b'id="want-tags"' in body and b"predict?tags=1" in body and b'id="tags"' in body
