"""Parquet parts of a catalogue: atomic parts named by their paths, one row per path when read, and a merge
into a real SQLite catalogue that equals the catalogue the tagger writes and is idempotent. (Parts written
by Ray workers, and ``tag --out`` killed and resumed: tests/test_scale.py.)"""

from __future__ import annotations

import os
import sqlite3

import pytest
from typer.testing import CliRunner

from genrekit.apps.cli import app
from genrekit.errors import GenrekitError
from genrekit.inference import load_model
from genrekit.tagger import COLUMNS, Catalogue, tag_library
from test_tagger import make_library, rows

pytest.importorskip("pyarrow", reason="pyarrow (the Ray extra) is not installed")
from genrekit.catalogue_parts import iter_rows, merge, part_files, read_rows, write_part  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def tagged(tmp_path_factory, coarse_run):
    """A real catalogue of a small library (five tracks classified, one undecodable file) and its rows."""
    root = tmp_path_factory.mktemp("parts")
    db = root / "catalogue.sqlite"
    tag_library(make_library(root / "library"), db, load_model(coarse_run, workers=1))
    return db, [{column: row[column] for column in COLUMNS} for row in rows(db).values()]


def as_dicts(db) -> dict[str, dict]:
    return {path: {column: row[column] for column in COLUMNS} for path, row in rows(db).items()}


def test_a_part_is_named_by_its_paths_and_written_again_in_place(tmp_path, tagged):
    _, found = tagged
    first = write_part(found[:3], tmp_path / "out")
    again = write_part(list(reversed(found[:3])), tmp_path / "out")  # the same block, retried
    other = write_part(found[3:], tmp_path / "out")
    assert first == again != other and part_files(tmp_path / "out") == sorted([first, other])
    assert not [p for p in os.listdir(tmp_path / "out") if p.startswith(".tmp-")]  # renamed into place
    assert write_part([], tmp_path / "out") is None
    assert sorted(row["path"] for row in iter_rows(tmp_path / "out")) == sorted(row["path"] for row in found)


def test_merged_parts_equal_the_catalogue_they_came_from(tmp_path, tagged):
    db, found = tagged
    write_part(found[:2], tmp_path / "out")
    write_part(found[2:], tmp_path / "out")
    summary = merge(tmp_path / "out", tmp_path / "merged.sqlite")
    assert (summary.parts, summary.rows, summary.merged, summary.tracks) == (2, len(found), len(found), len(found))
    assert as_dicts(tmp_path / "merged.sqlite") == as_dicts(db)
    with Catalogue(tmp_path / "merged.sqlite") as merged:  # a catalogue like any other
        assert merged.counts() == {"ok": 5, "failed": 1}

    again = merge(tmp_path / "out", tmp_path / "merged.sqlite")  # idempotent
    assert again.merged == 0 and as_dicts(tmp_path / "merged.sqlite") == as_dicts(db)


def test_the_newest_row_of_a_path_wins_in_any_order_and_counts_its_attempt(tmp_path, tagged):
    _, found = tagged
    old = dict(found[0])
    new = dict(old, genre="jazz", tagged_at="9" + old["tagged_at"][1:])
    write_part([new], tmp_path / "new")
    write_part([old], tmp_path / "old")
    assert read_rows(tmp_path / "new")[old["path"]]["genre"] == "jazz"

    db = tmp_path / "c.sqlite"
    merge(tmp_path / "new", db)
    assert merge(tmp_path / "old", db).merged == 0  # older than what the catalogue holds: ignored
    [row] = rows(db).values()
    assert (row["genre"], row["attempts"]) == ("jazz", 1)

    db2 = tmp_path / "c2.sqlite"
    merge(tmp_path / "old", db2)
    assert merge(tmp_path / "new", db2).merged == 1
    [row] = rows(db2).values()
    assert (row["genre"], row["attempts"]) == ("jazz", 2)  # classified twice


def test_a_part_that_is_not_parquet_is_named_and_nothing_is_merged(tmp_path, tagged):
    _, found = tagged
    write_part(found, tmp_path / "out")
    (tmp_path / "out" / "part-zzz.parquet").write_bytes(b"half a file")
    with pytest.raises(GenrekitError, match=r"part-zzz\.parquet: not a readable part .*delete it"):
        merge(tmp_path / "out", tmp_path / "c.sqlite")
    with pytest.raises(GenrekitError, match="no Parquet parts here"):
        merge(tmp_path / "empty", tmp_path / "c.sqlite")


def test_merge_on_the_command_line(tmp_path, tagged):
    db, found = tagged
    write_part(found, tmp_path / "out")
    result = runner.invoke(app, ["tag", "--merge", str(tmp_path / "out"), "--db", str(tmp_path / "m.sqlite"),
                                 "--report"])
    assert result.exit_code == 0, result.output
    assert f"1 parts, {len(found)} rows, {len(found)} new or newer" in result.output
    assert f"{len(found)} tracks, 5 with a genre, 1 failed" in result.output
    with sqlite3.connect(tmp_path / "m.sqlite") as connection:
        assert connection.execute("SELECT count(*) FROM tracks").fetchone()[0] == len(found)


@pytest.mark.parametrize("arguments, says", [
    (["--out", "p"], "--out needs LIBRARY_DIR"),
    (["LIB", "--out", "p"], "--out is for --ray"),
    (["LIB", "--out", "p", "--ray", "auto", "--db", "c.sqlite"], "--out writes Parquet parts instead of a catalogue"),
    (["LIB", "--out", "p", "--ray", "auto", "--write-tags"], "--write-tags and --tags need the catalogue"),
    (["LIB"], "give the catalogue's file with --db FILE"),
    ([], "give LIBRARY_DIR to tag a library, --merge PARTS"),
])
def test_options_that_make_no_job_are_refused_before_anything_runs(tmp_path, arguments, says):
    (tmp_path / "LIB").mkdir()
    arguments = [str(tmp_path / a) if a in ("LIB", "p", "c.sqlite") else a for a in arguments]
    result = runner.invoke(app, ["tag", *arguments])
    assert result.exit_code == 2 and says in " ".join(result.output.replace("│", " ").split()), result.output
    assert not (tmp_path / "p").exists() and not (tmp_path / "c.sqlite").exists()
