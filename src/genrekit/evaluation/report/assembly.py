"""Reports of reproductions: Markdown, a self-contained HTML page, PNG figures and their numbers.

``genrekit reproduce`` trains the systems of a paper under its protocol and writes
``DIR/results.json`` (:mod:`genrekit.evaluation.results`) next to the training run
directories ``DIR/runs/<system>/<run-id>/``. :func:`write_report` turns one such directory
into::

    OUT/report.md       the report, images linked from figures/
    OUT/report.html     the same report in one file: inline CSS, figures as base64 data URIs
    OUT/figures/*.png   accuracy.png (ours beside the paper), confusion-<system>.png,
                        curves-<system>.png (loss and accuracy per epoch, one thin line per run)
    OUT/figures.json    every number the report shows, at full precision, and what each figure plots

:func:`combine` puts several reproductions in one report: one table of all systems, then a
section per reproduction.

A report built from a ``quick`` budget says at its top, before any number, that the numbers
come from a cut-down run and are not comparable to the paper's; a ``full`` budget cut by
``--runs`` or ``--epochs`` (deviations of kind ``cut``) says so in its budget line and table.

    genrekit report DIR [DIR...] [--out OUT]
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from genrekit.errors import ConfigError
from genrekit.evaluation.report.document import (Alert, Bullets, Code, CodeBlock, Gallery, Heading, Image, Inline,
                                                 Paragraph, Strong, Table, interval, mean_std, paper_pct, pct,
                                                 plural, to_html, to_markdown)
from genrekit.evaluation.report.figures import plot_accuracy, plot_confusion, plot_curves
from genrekit.evaluation.results import RESULTS_FILE, Deviation, Results, load_results
from genrekit.files import atomic_write_text
from genrekit.runs import RunDir

__all__ = ["write_report", "combine", "QUICK_WARNING"]

QUICK_WARNING = ("Quick budget: these numbers come from a cut-down run (fewer runs and epochs than the "
                 "paper's protocol) and are not comparable to the paper's numbers.")


# ----------------------------------------------------------------------------------------------
# The one file of a training run that the report reads
# ----------------------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def _unique(name: str, taken: set[str]) -> str:
    candidate, index = name, 2
    while candidate in taken:
        candidate, index = f"{name}-{index}", index + 1
    taken.add(candidate)
    return candidate


def _jsonable(value: Any) -> Any:
    """NaN and infinities as null: figures.json must be strict JSON for any reader."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


# ----------------------------------------------------------------------------------------------
# One reproduction's content
# ----------------------------------------------------------------------------------------------

@dataclass
class _Reproduction:
    """A loaded reproduction directory and the names its figures get in the report."""

    data: Results
    directory: Path
    prefix: str  # prepended to figure names, so several reproductions can share a figures/ folder

    @property
    def quick(self) -> bool:
        return self.data["budget"] == "quick"

    def label(self) -> str:
        return f"{self.data['title']} ({self.data['budget']} budget)"

    def cuts(self) -> list[Deviation]:
        """The deviations that cut a ``full`` protocol (``--runs``, ``--epochs``); empty for a whole one."""
        if self.quick:
            return []
        return [deviation for deviation in self.data["deviations"] if deviation.kind == "cut"]

    def rows(self) -> list[dict]:
        """The numbers of the main table, one dict per system (also written to figures.json)."""
        data = self.data
        rows = []
        for system in data["systems"]:
            accuracy, paper = system["accuracy"], system.get("paper_accuracy")
            rows.append({
                "reproduction": data["paper"], "system": system["name"], "model": system["model"],
                "kind": system["kind"],
                "accuracy": {key: accuracy.get(key) for key in ("mean", "std", "ci95", "runs", "ci_method")},
                "clip_accuracy": ({key: system["clip_accuracy"].get(key) for key in ("mean", "std", "runs")}
                                  if system.get("clip_accuracy") else None),
                "valid_accuracy": ({key: system["valid_accuracy"].get(key)
                                    for key in ("mean", "std", "runs", "ci95", "tracks", "note")}
                                   if system.get("valid_accuracy") else None),
                "paper_accuracy": paper, "paper_note": system.get("paper_note"),
                "difference": None if paper is None else accuracy["mean"] - paper,
                "protocol": data["protocol"]["name"], "split": data["protocol"]["split"],
                "dataset": data["dataset"]["name"], "dataset_tracks": data["dataset"].get("tracks"),
                "budget": data["budget"] + (", cut" if self.cuts() else ""),
            })
        return rows

    def curves(self, system: dict) -> tuple[list[tuple[str, dict]], list[str]]:
        """``(run name, columns)`` of every run dir with a curves.csv, and the run dirs without one."""
        found, missing = [], []
        for run_dir in system.get("run_dirs") or []:
            columns = RunDir(self.directory / run_dir).read_curves()
            if columns is None:
                missing.append(run_dir)
            else:
                found.append((run_dir, columns))
        return found, missing


def _table(rows: list[dict], with_reproduction: bool) -> Table:
    """The main table: ours (mean ± std, 95 % CI) beside the paper, with protocol, dataset and budget; and
    the accuracy on the split's validation tracks when a system has one (the artist-filtered valid list)."""
    valid = any(row.get("valid_accuracy") for row in rows)
    header = (["reproduction"] if with_reproduction else []) + [
        "system", "ours (mean ± std)", "runs", "95 % CI", "paper", "ours − paper", "ours: clip acc."] + \
        (["ours: validation tracks (95 % CI)"] if valid else []) + ["paper's setting", "protocol (split)", "dataset",
                                                                   "budget"]
    body = []
    for row in rows:
        dataset = row["dataset"] + (f" ({row['dataset_tracks']} tracks)" if row["dataset_tracks"] is not None else "")
        difference = "–" if row["difference"] is None else f"{100 * row['difference']:+.1f} pts"
        cells = [[Strong(row["system"]), " ", Code(row["model"]), f" ({row['kind']})"],
                 mean_std(row["accuracy"]), str(len(row["accuracy"]["runs"])), interval(row["accuracy"]["ci95"]),
                 paper_pct(row["paper_accuracy"]), difference, mean_std(row["clip_accuracy"])] + \
                ([_valid_cell(row.get("valid_accuracy"))] if valid else []) + [
                 row["paper_note"] or "–",
                 _protocol(row["protocol"], row["split"]), dataset,
                 Strong("quick") if row["budget"] == "quick" else row["budget"]]
        body.append(([Code(row["reproduction"])] if with_reproduction else []) + cells)
    offset = 1 if with_reproduction else 0
    return Table(header, body, numeric={offset + i for i in range(1, 8 if valid else 7)})


def _valid_cell(valid: dict | None) -> str:
    if not valid:
        return "–"
    held = "" if valid["note"] and "held out (" in valid["note"] else " (chose the epoch)"
    return f"{mean_std(valid)} on {valid['tracks']} tracks ({interval(valid['ci95'])}){held}"


def _ci_note(rows: list[dict]) -> Paragraph:
    methods = {row["accuracy"]["ci_method"] for row in rows if row["accuracy"]["ci_method"]}
    if len(methods) == 1:
        how = f"95 % CI: {methods.pop()}."
    elif methods:
        how = "95 % CI: " + "; ".join(f"{row['system']}: {row['accuracy']['ci_method']}" for row in rows
                                      if row["accuracy"]["ci_method"]) + "."
    else:
        how = "No confidence interval method was recorded."
    return Paragraph(f"Track accuracy on the test tracks, mean ± standard deviation over runs; clip accuracy "
                      f"likewise, for the systems that classify clips. {how} "
                      "Paper: the number the paper reports for its own setting (see \"paper's setting\").")


class _Builder:
    """Draws the figures of a report into OUT/figures and records what each plots (for figures.json)."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.figures: dict[str, dict] = {}
        self.taken: set[str] = set()

    def figure(self, name: str, draw: Callable[[Path], Path], data: dict) -> str:
        relative = "figures/" + _unique(_slug(name), self.taken) + ".png"
        draw(self.out_dir / relative)
        self.figures[relative] = data
        return relative

    def accuracy(self, name: str, rows: list[dict], with_reproduction: bool) -> Image:
        points = [{"label": _figure_label(row, with_reproduction),
                   "mean": row["accuracy"]["mean"], "runs": row["accuracy"]["runs"],
                   "ci95": row["accuracy"]["ci95"], "paper": row["paper_accuracy"]} for row in rows]
        relative = self.figure(name, lambda path: plot_accuracy(points, path), {"kind": "accuracy", "systems": points})
        return Image(relative, "Track accuracy: our runs (grey), our mean and 95 % CI (blue), the paper's "
                                "number (red cross).")

    def reproduction(self, rep: _Reproduction, level: int, with_table: bool) -> list:
        """Every section of one reproduction, headings starting at ``level``."""
        blocks: list = []
        if with_table:
            rows = rep.rows()
            blocks += [Heading(level, "Results"), _table(rows, with_reproduction=False), _ci_note(rows),
                       self.accuracy(f"{rep.prefix}accuracy", rows, with_reproduction=False)]
        blocks += [Heading(level, "Per-genre recall"), *_recall(rep.data),
                   Heading(level, "Confusion matrices"), self.confusions(rep),
                   Heading(level, "Training curves"), *self.curves(rep),
                   Heading(level, "Deviations from the paper"), _deviations(rep.data),
                   Heading(level, "How this was produced"), *_provenance(rep)]
        return blocks

    def confusions(self, rep: _Reproduction) -> Gallery:
        """One confusion matrix per system, side by side."""
        genres, matrices = rep.data["genres"], []
        for system in rep.data["systems"]:
            n_runs = len(system["accuracy"]["runs"])
            total = sum(map(sum, system["confusion"]))
            note = f"tracks, summed over {plural(n_runs, 'run')}"
            title = f"{system['name']}: track accuracy {pct(system['accuracy']['mean'])}"
            relative = self.figure(
                f"{rep.prefix}confusion-{system['name']}",
                lambda path, s=system, t=title, n=note: plot_confusion(s["confusion"], genres, path, t, n),
                {"kind": "confusion", "system": system["name"], "genres": genres, "matrix": system["confusion"],
                 "runs": n_runs, "tracks": total})
            matrices.append(Image(relative, f"{system['name']}: rows true genre, columns predicted; {total} "
                                            f"test-track decisions summed over {plural(n_runs, 'run')}."))
        return Gallery(matrices)

    def curves(self, rep: _Reproduction) -> list:
        """Per system its training curves, or a line saying why it has none (or only some)."""
        blocks: list = []
        for system in rep.data["systems"]:
            runs, missing = rep.curves(system)
            if runs:
                relative = self.figure(
                    f"{rep.prefix}curves-{system['name']}",
                    lambda path, r=runs, s=system: plot_curves(r, path, f"{s['name']}: {plural(len(r), 'run')}"),
                    {"kind": "curves", "system": system["name"], "runs": dict(runs)})
                blocks.append(Image(relative, f"{system['name']}: loss and accuracy per epoch, one thin line per "
                                              "run (from each run's curves.csv)."))
            if missing or not runs:
                blocks.append(Paragraph(_no_curves(system, missing)))
        return blocks


def _recall(data: Results) -> list:
    """Per-genre recall: genres x systems."""
    systems = data["systems"]
    return [Paragraph("Recall of each genre (correct / test tracks of that genre), from the confusion "
                      "matrix summed over runs; – where the genre had no test track."),
            Table(["genre"] + [s["name"] for s in systems],
                  [[genre] + [pct(s["recall"][g]) for s in systems] for g, genre in enumerate(data["genres"])],
                  numeric=set(range(1, len(systems) + 1)))]


def _deviations(data: Results) -> Bullets | Paragraph:
    return Bullets(list(data["deviations"])) if data["deviations"] else Paragraph("None recorded.")


def _provenance(rep: _Reproduction) -> list:
    """The command, the versions and the source file."""
    data = rep.data
    return [Paragraph("Command:"), CodeBlock(data["command"]),
            Table(["package", "version"], [[Code(k), str(v)] for k, v in data["versions"].items()]),
            Paragraph(["Source: ", Code(str(rep.directory / RESULTS_FILE)),
                       "; every number in this report is in ", Code("figures.json"), "."])]


def _figure_label(row: dict, with_reproduction: bool) -> str:
    if not with_reproduction:
        return row["system"]
    return f"{row['reproduction']}{' (quick)' if row['budget'] == 'quick' else ''}: {row['system']}"


def _no_curves(system: dict, missing: list[str]) -> list:
    name = Strong(system["name"])
    if not system.get("run_dirs"):
        return [name, f": no training curves (a {system['kind']} system with no run directory of its own)."]
    if len(missing) == len(system["run_dirs"]):
        why = " (classical baselines are fitted once, without epochs)" if system["kind"] == "classical" else ""
        return [name, f": no curves.csv in its run directories ({len(missing)}){why}."]
    return [name, f": no curves.csv in {len(missing)} of its {len(system['run_dirs'])} run directories: ",
            ", ".join(missing), "."]


def _protocol(name: str, split: str) -> Inline:
    """A protocol's name and its split spec, the spec alone where the name is the spec."""
    return Code(split) if name == split else [name, " (", Code(split), ")"]


def _then(description: str | None) -> str:
    """A free-text description after a line's facts, or the end of the sentence when there is none."""
    return f" — {description.strip()}" if description and description.strip() else "."


def _header(rep: _Reproduction) -> list:
    """Citation, dataset, protocol and budget lines, the quick-budget warning first of all."""
    data = rep.data
    dataset, protocol = data["dataset"], data["protocol"]
    blocks: list = [Alert(QUICK_WARNING)] if rep.quick else []
    blocks.append(Paragraph(data["citation"]))
    tracks = f", {dataset['tracks']} tracks" if dataset.get("tracks") is not None else ""
    root = [", at ", Code(dataset["root"])] if dataset.get("root") else []
    blocks.append(Paragraph([Strong("Dataset:"), f" {dataset['name']}{tracks}", *root,
                              _then(dataset.get("description"))]))
    runs = f", {plural(protocol['runs'], 'run')}" if protocol.get("runs") is not None else ""
    blocks.append(Paragraph([Strong("Protocol:"), " ", _protocol(protocol["name"], protocol["split"]),
                              runs, _then(protocol.get("description"))]))
    cuts = rep.cuts()
    blocks.append(Paragraph([Strong("Budget:"), " " + data["budget"]
                              + (" (cut-down: fewer runs and epochs than the paper)" if rep.quick
                                 else f", cut: {'; '.join(cuts)}" if cuts else " (the paper's protocol)") + "."]))
    return blocks


def _figures_json(reproductions: list[_Reproduction], builder: _Builder) -> dict:
    import genrekit

    return _jsonable({
        "generated_by": f"genrekit {genrekit.__version__}",
        "reproductions": [{
            **{key: rep.data[key] for key in ("paper", "title", "citation", "dataset", "protocol", "budget")},
            "deviations": [deviation.to_json() for deviation in rep.data["deviations"]],
            **{key: rep.data[key] for key in ("command", "versions", "genres")},
            "source": str(rep.directory / RESULTS_FILE),
            "table": rep.rows(),
            "recall": {s["name"]: s["recall"] for s in rep.data["systems"]},
        } for rep in reproductions],
        "figures": builder.figures,
    })


def _write(out_dir: Path, title: str, blocks: list, reproductions: list[_Reproduction],
           builder: _Builder) -> dict[str, Path]:
    paths = {name: out_dir / name for name in builder.figures}
    for name, text in (("report.md", to_markdown(blocks)), ("report.html", to_html(blocks, title, out_dir)),
                       ("figures.json", json.dumps(_figures_json(reproductions, builder), indent=1,
                                                   ensure_ascii=False) + "\n")):
        paths[name] = atomic_write_text(out_dir / name, text)
    return paths


def write_report(results_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write the report of one reproduction: report.md, report.html, figures/*.png and figures.json.

    Layout: the title and, for a ``quick`` budget, a warning that the numbers are not comparable
    to the paper's; citation, dataset, protocol and budget; **Results** (per system ours as
    mean ± std over runs with its 95 % CI and clip accuracy, beside the paper's number, the
    difference, the paper's setting, protocol and split, dataset and budget; a figure of the
    same); **Per-genre recall** (genres x systems); **Confusion matrices** (one PNG per system);
    **Training curves** (one PNG per system that has curves.csv in its run directories);
    **Deviations from the paper**; **How this was produced** (command, versions, source).

    Parameters
    ----------
    results_dir : str or path-like
        A reproduction directory holding ``results.json`` (run directories relative to it).
    out_dir : str or path-like, optional
        Where to write; default ``results_dir``.

    Returns
    -------
    dict of str to pathlib.Path
        Every file written, keyed by its path relative to ``out_dir`` (``report.md``,
        ``report.html``, ``figures.json``, ``figures/confusion-net1.png``...).

    Raises
    ------
    genrekit.errors.ConfigError
        If ``results.json`` is missing or breaks the schema (:func:`genrekit.evaluation.results.validate_results`).
    """
    results_dir = Path(results_dir)
    if results_dir.name == RESULTS_FILE and results_dir.is_file():
        results_dir = results_dir.parent
    rep = _Reproduction(load_results(results_dir), results_dir, prefix="")
    out_dir = Path(out_dir) if out_dir is not None else results_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    builder = _Builder(out_dir)
    blocks = [Heading(1, rep.data["title"]), *_header(rep), *builder.reproduction(rep, level=2, with_table=True)]
    return _write(out_dir, rep.data["title"], blocks, [rep], builder)


def combine(results_dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write one report of several reproductions side by side.

    Layout: a warning naming every ``quick`` reproduction; **All systems**, one table of every
    system of every reproduction (as in :func:`write_report`, with a reproduction column) and
    its figure; then a section per reproduction with its header lines, recall table, confusion
    matrices, curves, deviations and provenance.

    Parameters
    ----------
    results_dirs : sequence of str or path-like
        Reproduction directories, in the order the report shows them.
    out_dir : str or path-like
        Where to write report.md, report.html, figures/ and figures.json.

    Returns
    -------
    dict of str to pathlib.Path
        As :func:`write_report`.
    """
    if not results_dirs:
        raise ConfigError("combine needs at least one reproduction directory")
    taken: set[str] = set()
    reproductions = []
    for directory in results_dirs:
        directory = Path(directory)
        if directory.name == RESULTS_FILE and directory.is_file():
            directory = directory.parent
        data = load_results(directory)
        # Two reproductions of one paper (quick and full) must not overwrite each other's figures.
        reproductions.append(_Reproduction(data, directory, prefix=_unique(_slug(data["paper"]), taken) + "-"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    builder = _Builder(out_dir)
    title = "Reproductions: " + ", ".join(rep.data["paper"] for rep in reproductions)
    blocks: list = [Heading(1, title)]
    quick = [rep.data["paper"] for rep in reproductions if rep.quick]
    if quick:
        blocks.append(Alert(f"{QUICK_WARNING} (Quick budget: {', '.join(quick)}.)"))
    rows = [row for rep in reproductions for row in rep.rows()]
    blocks += [Heading(2, "All systems"), _table(rows, with_reproduction=True), _ci_note(rows),
               builder.accuracy("accuracy", rows, with_reproduction=True)]
    for rep in reproductions:
        blocks += [Heading(2, rep.label()), *_header(rep), *builder.reproduction(rep, level=3, with_table=False)]
    return _write(out_dir, title, blocks, reproductions, builder)
