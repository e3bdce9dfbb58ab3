"""``genrekit tag``: the command, its report, its exit codes, and resuming after a real process is killed."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from conftest import fill, noise, tone, write
from genrekit.apps import cli
from genrekit.apps.cli import app
from test_cli import error_lines, genrekit_command
from test_tagger import make_library

runner = CliRunner()


def tracks(db) -> dict[str, tuple]:
    """path -> (status, tagged_at, attempts) of every row (read while another process may write)."""
    with sqlite3.connect(db, timeout=30) as connection:
        return {row[0]: row[1:] for row in connection.execute("SELECT path, status, tagged_at, attempts FROM tracks")}


def committed(db) -> int:
    """Rows committed so far by a running tagger (0 before it has created its tables)."""
    try:
        return len(tracks(db)) if db.exists() else 0
    except sqlite3.OperationalError:  # the file exists, its tables not yet
        return 0


def test_help():
    result = runner.invoke(app, ["tag", "--help"])
    assert result.exit_code == 0 and "LIBRARY_DIR" in result.output and "--write-tags" in result.output


def test_tag_then_report(tmp_path, coarse_run):
    library = make_library(tmp_path / "library")
    db = tmp_path / "catalogue.sqlite"
    command = ["tag", str(library), "--db", str(db), "--model", str(coarse_run), "-j", "1"]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "6 files: 6 new" in result.output and "classified 5, failed 1" in result.output
    assert "broken.wav: not a recognised audio file" in result.output

    result = runner.invoke(app, command + ["--report", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["tag"]["skipped"] == 6 and out["tag"]["classified"] == 0
    assert out["report"]["tracks"] == 6 and sum(out["report"]["genres"].values()) == 5
    assert [f["path"] for f in out["report"]["failures"]] == [str(library / "broken.wav")]

    result = runner.invoke(app, ["tag", "--report", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "6 tracks, 5 with a genre, 1 failed" in result.output and "model run@" in result.output


def test_write_tags_is_an_option(tmp_path, coarse_run):
    library = tmp_path / "library"
    write(library / "a.flac", tone(300.0, 3.5))
    write(library / "b.au", tone(500.0, 3.5))
    result = runner.invoke(app, ["tag", str(library), "--db", str(tmp_path / "c.sqlite"), "--model", str(coarse_run),
                                 "-j", "1", "--write-tags"])
    assert result.exit_code == 0, result.output
    assert "wrote the genre into 1 files' tags, 1 not written" in result.output
    assert "b.au: mutagen cannot write tags" in result.output


def test_nothing_classified_exits_1_and_user_errors_exit_2(tmp_path, coarse_run, monkeypatch, capsys):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.wav").write_bytes(b"nope")
    result = runner.invoke(app, ["tag", str(tmp_path / "bad"), "--db", str(tmp_path / "c.sqlite"),
                                 "--model", str(coarse_run), "-j", "1"])
    assert result.exit_code == 1 and "x.wav" in result.output

    result = runner.invoke(app, ["tag", "--db", str(tmp_path / "c.sqlite")])
    assert result.exit_code == 2 and "give LIBRARY_DIR" in result.output

    for arguments, message in ([["tag", "--report", "--db", str(tmp_path / "none.sqlite")], "no such catalogue"],
                               [["tag", str(tmp_path / "nowhere"), "--db", str(tmp_path / "c.sqlite"), "--model",
                                 str(coarse_run)], "nowhere: no such folder"]):
        monkeypatch.setattr(sys, "argv", ["genrekit", *arguments])
        with pytest.raises(SystemExit) as exited:
            cli.main()  # the entry point, as the installed script runs it
        err = capsys.readouterr().err
        assert exited.value.code == 2 and err.startswith("error: ") and message in err and "Traceback" not in err


def test_a_killed_run_resumes_without_losing_or_repeating_a_track(tmp_path, coarse_run):
    library = tmp_path / "library"
    for i in range(30):
        write(library / f"{i // 10}" / f"track{i:02d}.wav", noise(3.5, seed=i, amplitude=0.05 + 0.01 * i))
    files = sorted(str(p) for p in library.rglob("*.wav"))
    db = tmp_path / "catalogue.sqlite"
    process = subprocess.Popen(genrekit_command() + ["tag", str(library), "--db", str(db), "--model", str(coarse_run),
                                                     "-j", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if committed(db) >= 3:
                break
            time.sleep(0.02)
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()!r}"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    before = tracks(db)
    assert 3 <= len(before) < len(files)

    result = runner.invoke(app, ["tag", str(library), "--db", str(db), "--model", str(coarse_run), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert f"{len(files) - len(before)} new" in result.output
    after = tracks(db)
    assert sorted(after) == files  # every file, once (path is the table's unique key)
    assert all(status == "ok" and attempts == 1 for status, _, attempts in after.values())  # none done twice
    assert all(after[path] == row for path, row in before.items())  # committed before the kill: untouched


def test_a_full_disk_stops_tagging_with_one_line_and_the_next_run_resumes(tmp_path, coarse_run, small_disk):
    """The catalogue on a 2 MB disk with 200 kB free: its WAL fills after about ten files."""
    library = tmp_path / "library"
    for i in range(30):
        write(library / f"track{i:02d}.wav", noise(3.5, seed=i, amplitude=0.05 + 0.01 * i))
    db = small_disk / "catalogue.sqlite"
    command = genrekit_command() + ["tag", str(library), "--db", str(db), "--model", str(coarse_run), "-j", "1"]
    filler = fill(small_disk, 200_000)
    full = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert full.returncode == 2
    assert error_lines(full.stderr) == [f"error: disk full while writing {db}: free some space and run the same "
                                        "command again; every file classified so far is kept in the catalogue, "
                                        "and the next run goes on from there"]
    with sqlite3.connect(db) as connection:  # still full: only reading
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = connection.execute("SELECT status, genre, probabilities FROM tracks").fetchall()
    assert 0 < len(rows) < 30
    assert all(status == "ok" and genre in json.loads(probabilities) for status, genre, probabilities in rows)
    before = tracks(db)

    filler.unlink()
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"30 files: {30 - len(before)} new" in again.stdout
    after = tracks(db)
    assert len(after) == 30 and all(status == "ok" and attempts == 1 for status, _, attempts in after.values())
    assert all(after[path] == row for path, row in before.items())  # kept as they were, not done again
