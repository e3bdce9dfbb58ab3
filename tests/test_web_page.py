"""The page of genrekit serve in a real headless Chromium: drop or choose a file, read the chart and timeline.

Skipped (never failed) where no Chromium binary is found: set ``GENREKIT_CHROMIUM`` to one, or
install Debian's ``chromium`` (``make setup`` tries, see DEVELOPERS.md).
"""

from __future__ import annotations

import base64
import os
import shutil

import pytest

from conftest import noise, tone, write
from genrekit.apps.server import create_app
from live_server import post_file, threaded_server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

TIMEOUT_MS = 30_000


def chromium_binary() -> str | None:
    """GENREKIT_CHROMIUM, else Debian's /usr/bin/chromium, else a chromium on PATH."""
    candidates = [os.environ.get("GENREKIT_CHROMIUM"), "/usr/bin/chromium",
                  shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.path.isfile(c) and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")
def browser():
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary: set GENREKIT_CHROMIUM or install Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(coarse_model):
    with threaded_server(create_app(coarse_model, max_bytes=5_000_000)) as url:
        yield url


@pytest.fixture
def page(browser, server):
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    opened.goto(server + "/")
    yield opened
    context.close()


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """25 s of audio: three 10 s timeline segments."""
    return write(tmp_path_factory.mktemp("page") / "song.wav", tone(220.0, 25.0) + noise(25.0, amplitude=0.2),
                 subtype="PCM_16")


def shown(page) -> dict:
    """What the page shows once a result is drawn."""
    page.wait_for_selector("#result:not([hidden])")
    return page.evaluate("""() => ({
        genre: document.getElementById("genre").textContent,
        filename: document.getElementById("filename").textContent,
        bars: [...document.querySelectorAll("#bars li.bar")].map((b) => b.dataset.genre),
        widths: [...document.querySelectorAll("#bars .fill")].map((f) => parseFloat(f.style.width)),
        segments: [...document.querySelectorAll("#timeline .segment")].map((s) => s.dataset.genre),
        labels: [...document.querySelectorAll("#timeline .segment")].map((s) => s.getAttribute("aria-label")),
        error: document.getElementById("error").textContent,
    })""")


def test_chosen_file_shows_the_servers_genre_bars_and_timeline(page, server, song):
    page.set_input_files("#file", str(song))
    on_page = shown(page)
    status, expected = post_file(server + "/predict", song.name, song.read_bytes())
    assert status == 200
    assert on_page["genre"] == expected["genre"] and on_page["filename"] == "song.wav"
    ranked = sorted(expected["probabilities"], key=expected["probabilities"].get, reverse=True)
    assert on_page["bars"] == ranked  # one bar per genre, most probable first
    assert on_page["widths"][0] == pytest.approx(100 * expected["probabilities"][ranked[0]], abs=0.01)
    assert on_page["segments"] == [s["genre"] for s in expected["timeline"]] and len(on_page["segments"]) == 3
    assert on_page["labels"][1].startswith("0:10 to ")
    assert on_page["error"] == ""


def test_dropped_file_is_classified(page, tmp_path):
    short = write(tmp_path / "dropped.wav", tone(440.0, 6.0) + noise(6.0, amplitude=0.2), subtype="PCM_16")
    transfer = page.evaluate_handle("""(data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "dropped.wav", { type: "audio/wav" }));
        return transfer;
    }""", base64.b64encode(short.read_bytes()).decode())
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    on_page = shown(page)
    assert on_page["filename"] == "dropped.wav" and len(on_page["segments"]) == 1 and len(on_page["bars"]) >= 2


def test_non_audio_file_shows_the_servers_message(page, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not music\n")
    page.set_input_files("#file", str(notes))
    error = page.locator("#error")
    sync_api.expect(error).to_contain_text("not a supported audio file (.txt)")
    sync_api.expect(error).to_contain_text("Could not classify notes.txt")
    assert page.locator("#result").is_hidden()


def test_file_input_is_labelled_and_reached_by_keyboard(page):
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.id")
    assert focused == "file"
    assert "Drop an audio file here" in page.locator("label[for=file]").inner_text()


def test_ticked_tags_show_musicnns_five_best_tags(page, server, song):
    page.check("#want-tags")
    page.set_input_files("#file", str(song))
    page.wait_for_selector("#tags-section:not([hidden])")
    items = page.eval_on_selector_all("#tags li", "(items) => items.map((li) => li.textContent)")
    status, expected = post_file(server + "/predict?tags=1", song.name, song.read_bytes())
    best = sorted(expected["tags"], key=expected["tags"].get, reverse=True)[:5]
    assert status == 200 and [item.rsplit(" ", 2)[0] for item in items] == best


def test_tags_stay_hidden_unless_asked_for(page, song):
    page.set_input_files("#file", str(song))
    shown(page)
    assert page.is_hidden("#tags-section")
