"""``genrekit tag``: the command, its report, its exit codes, and resuming after a real process is killed."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from typing import Callable

import pytest
from typer.testing import CliRunner

from conftest import fill, noise, odd_files, tone, write
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



def kill_once_committed(command: list[str], db, rows: int, seconds: float) -> None:
    """Run ``genrekit COMMAND`` and SIGKILL it as soon as its catalogue ``db`` holds ``rows`` committed rows
    (within ``seconds``); it must still be running then."""
    kill_when(command, lambda: committed(db) >= rows, seconds)


def kill_when(command: list[str], ready: Callable[[], bool], seconds: float) -> None:
    """Run ``genrekit COMMAND`` and SIGKILL it as soon as ``ready()`` (within ``seconds``); it must still be
    running then."""
    process = subprocess.Popen(genrekit_command() + command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and process.poll() is None and not ready():
            time.sleep(0.02)
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()!r}"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


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
    kill_once_committed(["tag", str(library), "--db", str(db), "--model", str(coarse_run), "-j", "1"], db, 3, 120)
    before = tracks(db)
    assert 3 <= len(before) < len(files)

    resumes(["tag", str(library), "--db", str(db), "--model", str(coarse_run), "-j", "1"], db, files, before)


def resumes(command: list[str], db, files: list[str], before: dict[str, tuple]) -> None:
    """``genrekit COMMAND`` run again after a kill (``before``: the catalogue then) classifies only the rest:
    every file once, each classified once, the rows committed before the kill untouched."""
    result = runner.invoke(app, command)
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


def test_pipes_devices_and_bad_links_are_refused_by_name_and_the_rest_is_tagged(tmp_path, coarse_run):
    library = tmp_path / "library"
    write(library / "g" / "song.wav", noise(3.5))
    write(library / "g" / "other.flac", noise(3.5, seed=1))
    reasons = odd_files(library / "g")
    db = tmp_path / "catalogue.sqlite"
    command = genrekit_command() + ["tag", str(library), "--db", str(db), "--model", str(coarse_run), "-j", "1"]
    # a real process with a deadline: opening the pipe for reading would block it forever
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "7 files: 7 new" in done.stdout and "classified 2, failed 5" in done.stdout
    stored = tracks(db)
    with sqlite3.connect(db) as connection:
        errors = dict(connection.execute("SELECT path, error FROM tracks WHERE status = 'failed'"))
    assert {p.rsplit("/", 1)[-1] for p in errors} == set(reasons)
    for name, says in reasons.items():
        assert says in errors[str(library / "g" / name)]
        assert f"failed: {library / 'g' / name}: {says}" in done.stdout
    assert stored[str(library / "g" / "song.wav")][0] == "ok"

    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "0 new, 0 changed" in again.stdout and "7 unchanged" in again.stdout

    for arguments in (["predict", str(library), "--model", str(coarse_run), "-j", "1"],
                      ["features", "--dataset", "folder", "--root", str(library), "--spec", "coarse_mel",
                       "--cache", str(tmp_path / "cache"), "-j", "1"]):
        result = runner.invoke(app, arguments)
        assert result.exit_code == 0, result.output
        for name, says in reasons.items():
            assert f"{library / 'g' / name}: {says}" in result.stderr, (arguments[0], name)


def test_a_second_run_on_the_same_catalogue_exits_at_once(tmp_path, coarse_run):
    library = tmp_path / "library"
    for i in range(15):
        write(library / f"track{i:02d}.wav", noise(3.5, seed=i, amplitude=0.05 + 0.01 * i))
    db = tmp_path / "catalogue.sqlite"
    lock = tmp_path / "catalogue.sqlite.lock"
    command = genrekit_command() + ["tag", str(library), "--db", str(db), "--model", str(coarse_run), "-j", "1"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None \
                and not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            time.sleep(0.01)
        first.send_signal(signal.SIGSTOP)  # hold it mid-run, lock taken, for as long as the check needs
        # (do not open the catalogue now: the stopped run may hold SQLite's own lock while creating it)
        assert first.poll() is None, "the first run ended before the check"
        second = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and second.stdout == ""
        assert second.stderr.strip().splitlines() == [
            f"error: catalogue {db} is being updated by another genrekit tag (pid {first.pid}); "
            "wait for it to finish or use another --db"]
        first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
            first.kill()
            first.wait()
    assert first.returncode == 0, err
    assert "15 files: 15 new" in out and "classified 15" in out
    assert all(attempts == 1 for _, _, attempts in tracks(db).values())  # each file classified once


def test_a_catalogue_in_a_missing_folder_is_one_line_and_exit_2(tmp_path, coarse_run, monkeypatch, capsys):
    write(tmp_path / "library" / "a.wav", noise(3.5))
    db = tmp_path / "no" / "such" / "c.sqlite"
    monkeypatch.setattr(sys, "argv", ["genrekit", "tag", str(tmp_path / "library"), "--db", str(db),
                                      "--model", str(coarse_run), "-j", "1"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {db}: the folder {db.parent} does not exist")
    assert not (tmp_path / "no").exists()


def test_tags_and_min_confidence_reach_the_catalogue(tmp_path, coarse_run):
    library = tmp_path / "library"
    write(library / "a.wav", 0.3 * tone(330.0, 3.5) + noise(3.5, seed=7))
    db = tmp_path / "catalogue.sqlite"
    result = runner.invoke(app, ["tag", str(library), "--db", str(db), "--model", str(coarse_run), "--workers", "1",
                                 "--tags", "--min-confidence", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tag"]["classified"] == 1
    with sqlite3.connect(db) as connection:
        genre, tags = connection.execute("SELECT genre, tags FROM tracks").fetchone()
    assert genre == "unknown" and len(json.loads(tags)) == 50


@pytest.mark.parametrize("value", ["2", "-1", "nan"])
def test_min_confidence_outside_0_to_1_is_refused(tmp_path, value):
    result = runner.invoke(app, ["tag", str(tmp_path), "--db", str(tmp_path / "c.sqlite"), "--min-confidence", value])
    assert result.exit_code == 2 and "--min-confidence" in result.output
    assert not (tmp_path / "c.sqlite").exists()
