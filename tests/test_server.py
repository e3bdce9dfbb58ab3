"""genrekit serve over real HTTP: a `genrekit serve` process on a loopback port, good and bad uploads."""

from __future__ import annotations

import json
import struct
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest

from conftest import SR, noise, tone, write
from live_server import get, post_file, running_server

MAX_MB = 2.0  # small, so that an over-limit upload is a 60 s WAV
SECONDS = 25.0  # three 10 s timeline segments


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
def server(coarse_run):
    with running_server(coarse_run, MAX_MB) as url:
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
