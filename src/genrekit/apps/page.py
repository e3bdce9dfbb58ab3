"""The one web page of ``genrekit serve``: drop a file, see its genres and their timeline.

Self-contained (inline style and script, no fonts or libraries from elsewhere), so it works
on a machine without internet. The script posts the file to ``predict`` (relative, so the
page also works behind a path prefix) and draws what comes back:

* ``#genre``: the most probable genre;
* ``#bars``: one ``li.bar`` per genre, most probable first, its width the probability;
* ``#timeline``: one ``div.segment`` per timeline segment, as wide as the time to the next one,
  coloured by the segment's genre, with a legend;
* ``#tags``: with the ``#want-tags`` box ticked (``predict?tags=1``), musicnn's five most probable
  tags, one ``li`` each;
* ``#error`` (``role="alert"``): why the server refused the file, in its own words.

Everything the server sends is inserted as text (``textContent``), never as HTML.
"""

from __future__ import annotations

import html
import json

__all__ = ["render"]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>genrekit: what genre is this?</title>
<style>
  :root { --ink: #1d2330; --muted: #5b6475; --line: #d5dae3; --accent: #2f6fdf; --bad: #b3261e; }
  * { box-sizing: border-box; }
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
         max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.6rem; margin-bottom: .2rem; }
  .muted { color: var(--muted); font-size: .9rem; }
  #drop { display: block; border: 2px dashed var(--line); border-radius: .8rem; padding: 2rem 1rem;
          text-align: center; cursor: pointer; margin: 1.5rem 0; }
  #drop.over { border-color: var(--accent); background: #eef3fd; }
  #drop:focus-within { outline: 3px solid var(--accent); outline-offset: 2px; }
  #file { margin-top: .8rem; }
  #error { color: var(--bad); border-left: 4px solid var(--bad); padding: .4rem .8rem; background: #fdf0ef; }
  #error:empty { display: none; }
  #genre { font-size: 2rem; margin: .2rem 0 1rem; text-transform: capitalize; }
  ol#bars { list-style: none; padding: 0; margin: 0; }
  li.bar { display: grid; grid-template-columns: 7rem 1fr 4rem; gap: .6rem; align-items: center; margin: .25rem 0; }
  .track { background: #eef0f4; border-radius: .3rem; height: 1.1rem; overflow: hidden; }
  .fill { height: 100%; border-radius: .3rem; }
  .value { text-align: right; font-variant-numeric: tabular-nums; }
  #timeline { display: flex; height: 2.4rem; border-radius: .4rem; overflow: hidden; margin: .6rem 0 .3rem; }
  .segment { border-right: 1px solid #fff; min-width: 2px; }
  .times { display: flex; justify-content: space-between; }
  #legend { display: flex; flex-wrap: wrap; gap: .4rem 1rem; padding: 0; list-style: none; }
  .swatch { display: inline-block; width: .9rem; height: .9rem; border-radius: .2rem; vertical-align: -.1rem;
            margin-right: .3rem; }
</style>
</head>
<body>
<main>
  <h1>What genre is this?</h1>
  <p class="muted">Model <code id="model">__MODEL__</code>. Files up to __LIMIT__: WAV, FLAC, OGG, MP3, AU, AIFF.
    The file is classified on this server and not kept.</p>

  <label id="drop" for="file">
    <strong>Drop an audio file here</strong>, or choose one:<br>
    <input id="file" name="file" type="file" accept="audio/*,.wav,.flac,.ogg,.oga,.mp3,.au,.snd,.aiff,.aif">
  </label>
  <label><input id="want-tags" type="checkbox"> Also show musicnn's tags (rock, 80s, female vocalists, …)</label>

  <p id="status" class="muted" role="status" aria-live="polite"></p>
  <div id="error" role="alert"></div>

  <section id="result" hidden aria-labelledby="result-title">
    <h2 id="result-title" class="muted">Genre of <span id="filename"></span></h2>
    <p id="genre"></p>
    <h3>Probabilities</h3>
    <ol id="bars" aria-label="Genre probabilities, most probable first"></ol>
    <section id="tags-section" hidden><h3>Tags</h3><ul id="tags" aria-label="musicnn's most probable tags"></ul></section>
    <h3>Timeline</h3>
    <div id="timeline" role="list" aria-label="Genre of each segment of the file"></div>
    <div class="times muted"><span>0:00</span><span id="duration"></span></div>
    <ul id="legend" aria-label="Timeline colours"></ul>
  </section>
</main>
<script>
"use strict";
const MAX_BYTES = __MAX_BYTES__;
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const $ = (id) => document.getElementById(id);

function colour(index) {
  return index < PALETTE.length ? PALETTE[index] : `hsl(${(index * 47) % 360} 55% 55%)`;
}
function clock(seconds) {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
function percent(p) { return `${(100 * p).toFixed(1)} %`; }
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(message) {
  $("result").hidden = true;
  $("status").textContent = "";
  $("error").textContent = message;
}

function drawBars(probabilities, genres) {
  const bars = $("bars");
  bars.replaceChildren();
  const sorted = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
  for (const [genre, p] of sorted) {
    const row = element("li", "bar");
    row.dataset.genre = genre;
    row.dataset.probability = String(p);
    const track = element("div", "track");
    const fill = element("div", "fill");
    fill.style.width = `${(100 * p).toFixed(2)}%`;
    fill.style.background = colour(genres.indexOf(genre));
    track.append(fill);
    track.setAttribute("aria-hidden", "true");
    row.append(element("span", "name", genre), track, element("span", "value", percent(p)));
    bars.append(row);
  }
}

function drawTimeline(timeline, genres, seconds) {
  const strip = $("timeline");
  strip.replaceChildren();
  const used = new Set();
  timeline.forEach((segment, i) => {
    // Segments' clips overlap; each is drawn from its start to the next one's (the last to the end).
    const until = i + 1 < timeline.length ? timeline[i + 1].start : Math.max(seconds, segment.end);
    const block = element("div", "segment");
    const p = segment.probabilities[segment.genre];
    const label = `${clock(segment.start)} to ${clock(until)}: ${segment.genre} (${percent(p)})`;
    block.dataset.genre = segment.genre;
    block.style.flexGrow = String(Math.max(until - segment.start, 0.01));
    block.style.background = colour(genres.indexOf(segment.genre));
    block.title = label;
    block.setAttribute("role", "listitem");
    block.setAttribute("aria-label", label);
    strip.append(block);
    used.add(segment.genre);
  });
  $("duration").textContent = clock(seconds);
  const legend = $("legend");
  legend.replaceChildren();
  for (const genre of genres.filter((g) => used.has(g))) {
    const item = element("li", null);
    const swatch = element("span", "swatch");
    swatch.style.background = colour(genres.indexOf(genre));
    item.append(swatch, document.createTextNode(genre));
    legend.append(item);
  }
}

function show(result) {
  const genres = Object.keys(result.probabilities);
  $("error").textContent = "";
  $("status").textContent = `Classified ${clock(result.seconds)} of audio.`;
  $("filename").textContent = result.filename;
  $("genre").textContent = result.genre;
  drawBars(result.probabilities, genres);
  drawTimeline(result.timeline || [], genres, result.seconds);
  const tags = Object.entries(result.tags || {}).sort((a, b) => b[1] - a[1]).slice(0, 5);
  $("tags").replaceChildren(...tags.map(([tag, p]) => element("li", null, `${tag} ${percent(p)}`)));
  $("tags-section").hidden = tags.length === 0;
  $("result").hidden = false;
}

async function classify(file) {
  if (!file) return;
  if (file.size > MAX_BYTES) {
    showError(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB, larger than this server's limit of ` +
              `${(MAX_BYTES / 1e6).toFixed(1)} MB; choose a shorter excerpt.`);
    return;
  }
  $("error").textContent = "";
  $("status").textContent = `Classifying ${file.name}…`;
  const body = new FormData();
  body.append("file", file, file.name);
  let response;
  try {
    response = await fetch($("want-tags").checked ? "predict?tags=1" : "predict", { method: "POST", body });
  } catch (failure) {
    showError(`The server could not be reached (${failure.message}); is genrekit serve still running?`);
    return;
  }
  let answer = null;
  try { answer = await response.json(); } catch (_) { /* not JSON: reported below */ }
  if (!response.ok) {
    const detail = answer && typeof answer.detail === "string" ? answer.detail : `HTTP ${response.status}`;
    showError(`Could not classify ${file.name}: ${detail}`);
    return;
  }
  show(answer);
}

const input = $("file");
const drop = $("drop");
input.addEventListener("change", () => classify(input.files[0]));
for (const name of ["dragenter", "dragover"]) {
  drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
}
for (const name of ["dragleave", "drop"]) {
  drop.addEventListener(name, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  classify(event.dataTransfer.files[0]);
});
</script>
</body>
</html>
"""


def render(model_id: str, max_bytes: int) -> str:
    """The page for a server running ``model_id`` that accepts uploads of up to ``max_bytes``."""
    return (_PAGE.replace("__MODEL__", html.escape(model_id))
            .replace("__LIMIT__", f"{max_bytes / 1e6:g} MB")
            .replace("__MAX_BYTES__", json.dumps(int(max_bytes))))
