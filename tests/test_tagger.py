"""The library tagger: a real SQLite catalogue of real audio files, incremental re-runs, tag writing, reports."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pytest

from conftest import long_folder, noise, odd_files, pipe_watch, tone, write
from genrekit import audio
from genrekit.errors import AudioError, GenrekitError
from genrekit.filetags import read_genre
from genrekit.inference import Classifier, load_model
from genrekit.tagger import SCHEMA_VERSION, Catalogue, FileIdentity, content_hash, report, tag_library

SECONDS = 3.5


@pytest.fixture(scope="module")
def classifier(coarse_run) -> Classifier:
    """The test model, decoding in this process (tiny libraries gain nothing from worker processes)."""
    return load_model(coarse_run, workers=1)


def make_library(root):
    """Four formats mutagen can tag, an AU file (it cannot), an undecodable file and a hidden leftover."""
    write(root / "jazz" / "a.wav", tone(220.0, SECONDS))
    write(root / "jazz" / "b.flac", noise(SECONDS, seed=1))
    write(root / "rock" / "c.ogg", tone(880.0, SECONDS) + noise(SECONDS, seed=2), format="OGG", subtype="VORBIS")
    write(root / "rock" / "deep" / "d.mp3", noise(SECONDS, seed=3, amplitude=0.3), format="MP3",
          subtype="MPEG_LAYER_III")
    write(root / "old.au", tone(440.0, SECONDS))
    (root / "broken.wav").write_bytes(b"RIFF but not really audio")
    (root / "rock" / ".tmp-half-written.flac").write_bytes(b"left by a killed tag writer")
    return root


@pytest.fixture
def library(tmp_path):
    return make_library(tmp_path / "library")


def rows(db) -> dict[str, sqlite3.Row]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return {row["path"]: row for row in connection.execute("SELECT * FROM tracks")}


def test_every_track_is_stored_with_its_genre_or_its_failure(library, tmp_path, classifier):
    db = tmp_path / "catalogue.sqlite"
    summary = tag_library(library, db, classifier)
    assert (summary.files, summary.new, summary.classified, summary.skipped) == (6, 6, 5, 0)
    assert [os.path.basename(p) for p, _ in summary.failed] == ["broken.wav"]
    assert (summary.ok_total, summary.failed_total, summary.nothing_classified) == (5, 1, False)

    stored = rows(db)
    assert len(stored) == 6 and not any(".tmp-" in p for p in stored)
    expected = {p.path: p for p in classifier.predict(sorted(stored))}
    for path, row in stored.items():
        assert row["model_id"] == classifier.model_id and row["attempts"] == 1
        assert FileIdentity(row["size"], row["mtime_ns"], row["content_hash"]) == FileIdentity.of(path)
        if path.endswith("broken.wav"):
            assert row["status"] == "failed" and row["genre"] is None
            assert "not a recognised audio file" in row["error"] and row["error"] == expected[path].error
            continue
        probabilities = json.loads(row["probabilities"])
        assert row["status"] == "ok" and row["error"] is None and row["genre"] == expected[path].genre
        assert list(probabilities) == classifier.genres and sum(probabilities.values()) == pytest.approx(1, abs=1e-4)
        assert row["seconds"] == pytest.approx(SECONDS, abs=0.1)
        assert row["written_genre"] is None  # the files' own tags are left alone by default
    assert read_genre(library / "jazz" / "b.flac") is None


def test_a_rerun_skips_everything_and_changes_nothing(library, tmp_path, classifier):
    db = tmp_path / "catalogue.sqlite"
    tag_library(library, db, classifier)
    before = {p: tuple(r) for p, r in rows(db).items()}
    summary = tag_library(library, db, classifier)
    assert (summary.skipped, summary.new, summary.changed, summary.classified, summary.failed) == (6, 0, 0, 0, [])
    assert (summary.ok_total, summary.failed_total) == (5, 1)  # the failure is still reported, not retried
    assert {p: tuple(r) for p, r in rows(db).items()} == before


def test_only_a_changed_file_is_classified_again(library, tmp_path, classifier):
    db = tmp_path / "catalogue.sqlite"
    tag_library(library, db, classifier)
    before = rows(db)
    changed = library / "jazz" / "a.wav"
    write(changed, noise(SECONDS, seed=9))
    touched = library / "jazz" / "b.flac"  # same content, new time: nothing to classify
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 5_000_000_000))

    summary = tag_library(library, db, classifier)
    assert (summary.changed, summary.classified, summary.skipped) == (1, 1, 5)
    after = rows(db)
    assert after[str(changed)]["attempts"] == 2 and after[str(changed)]["tagged_at"] > before[str(changed)]["tagged_at"]
    assert after[str(changed)]["content_hash"] == content_hash(changed, changed.stat().st_size)
    assert after[str(changed)]["genre"] == classifier.predict([changed])[0].genre
    for path, row in after.items():
        if path != str(changed):
            assert (row["attempts"], row["tagged_at"]) == (1, before[path]["tagged_at"])
    assert after[str(touched)]["mtime_ns"] == touched.stat().st_mtime_ns  # the new time is remembered
    assert tag_library(library, db, classifier).skipped == 6


def test_a_different_model_classifies_everything_again(library, tmp_path, classifier):
    db = tmp_path / "catalogue.sqlite"
    tag_library(library, db, classifier)
    other = Classifier(classifier.scorer, classifier.genres, classifier.spec, "another-model@0123456789ab",
                       workers=1)
    summary = tag_library(library, db, other)
    assert (summary.new_model, summary.classified, summary.skipped) == (6, 5, 0)
    assert {r["model_id"] for r in rows(db).values()} == {"another-model@0123456789ab"}


def test_removed_files_are_forgotten_and_failures_retried_on_request(library, tmp_path, classifier):
    db = tmp_path / "catalogue.sqlite"
    tag_library(library, db, classifier)
    (library / "old.au").unlink()
    summary = tag_library(library, db, classifier, retry_failed=True)
    assert (summary.removed, summary.retried, summary.skipped, summary.files) == (1, 1, 4, 5)
    stored = rows(db)
    assert str(library / "old.au") not in stored and stored[str(library / "broken.wav")]["attempts"] == 2

    (library / "broken.wav").write_bytes(b"")  # now empty: a changed file, with a new reason
    summary = tag_library(library, db, classifier)
    assert summary.changed == 1 and "empty" in summary.failed[0][1]


def test_a_library_of_bad_files_has_nothing_classified(tmp_path, classifier):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "x.mp3").write_text("not audio")
    summary = tag_library(tmp_path / "lib", tmp_path / "c.sqlite", classifier)
    assert summary.nothing_classified and summary.failed_total == 1


def test_writing_tags_keeps_the_audio_and_the_next_run_skips(library, tmp_path, classifier):
    db = tmp_path / "catalogue.sqlite"
    taggable = [library / name for name in ("jazz/a.wav", "jazz/b.flac", "rock/c.ogg", "rock/deep/d.mp3")]
    samples = {path: audio.load(path, sr=None) for path in taggable}
    summary = tag_library(library, db, classifier, write_tags=True)
    assert summary.tagged_files == 4
    assert [(os.path.basename(p), "cannot write tags into .au" in r)
            for p, r in summary.tag_notes] == [("old.au", True)]
    stored = rows(db)
    for path, y in samples.items():
        row = stored[str(path)]
        assert read_genre(path) == row["genre"] == row["written_genre"] and row["write_note"] is None
        assert np.array_equal(audio.load(path, sr=None), y)
        assert FileIdentity(row["size"], row["mtime_ns"], row["content_hash"]) == FileIdentity.of(path)
    assert "cannot write tags" in stored[str(library / "old.au")]["write_note"]
    assert not [n for n in os.listdir(library / "jazz") if n.startswith(".")]

    again = tag_library(library, db, classifier, write_tags=True)
    assert (again.skipped, again.classified, again.tagged_files, again.tag_notes) == (6, 0, 0, [])


def test_tags_can_be_written_later_without_classifying_again(library, tmp_path, classifier):
    db = tmp_path / "catalogue.sqlite"
    tag_library(library, db, classifier)
    summary = tag_library(library, db, classifier, write_tags=True)
    assert (summary.classified, summary.skipped, summary.tagged_files, len(summary.tag_notes)) == (0, 6, 4, 1)
    stored = rows(db)
    assert read_genre(library / "rock" / "c.ogg") == stored[str(library / "rock" / "c.ogg")]["genre"]
    assert {r["attempts"] for r in stored.values()} == {1}
    assert tag_library(library, db, classifier).skipped == 6  # the tagged files are not "changed"


def test_report_counts_genres_models_and_failures(library, tmp_path, classifier):
    db = tmp_path / "catalogue.sqlite"
    tag_library(library, db, classifier, write_tags=True)
    summary = report(db)
    genres = [r["genre"] for r in rows(db).values() if r["genre"]]
    assert (summary.tracks, summary.ok, summary.failed, summary.tagged_files) == (6, 5, 1, 4)
    assert summary.genres == {g: genres.count(g) for g in set(genres)}
    assert list(summary.genres.values()) == sorted(summary.genres.values(), reverse=True)
    assert summary.models == {classifier.model_id: 6}
    assert [(os.path.basename(p), "not a recognised" in r) for p, r in summary.failures] == [("broken.wav", True)]
    text = summary.summary()
    assert "6 tracks, 5 with a genre, 1 failed" in text and "broken.wav" in text and "old.au" in text
    assert json.loads(json.dumps(summary.to_dict()))["failures"][0]["path"].endswith("broken.wav")


def test_bad_catalogues_and_folders_are_named(tmp_path, classifier):
    not_sqlite = tmp_path / "notes.sqlite"
    not_sqlite.write_text("my shopping list\n" * 100)
    with pytest.raises(GenrekitError, match="notes.sqlite: not a usable catalogue"):
        Catalogue(not_sqlite)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(GenrekitError, match="foreign.sqlite: an SQLite database of another program"):
        Catalogue(foreign)
    newer = tmp_path / "newer.sqlite"
    Catalogue(newer).close()
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(GenrekitError, match="newer genrekit"):
        Catalogue(newer)
    with pytest.raises(GenrekitError, match="missing.sqlite: no such catalogue"):
        report(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()
    with pytest.raises(GenrekitError, match="nowhere: no such folder"):
        tag_library(tmp_path / "nowhere", tmp_path / "c.sqlite", classifier)


def test_catalogue_is_wal_and_versioned(tmp_path):
    with Catalogue(tmp_path / "c.sqlite") as catalogue:
        assert len(catalogue) == 0
    with sqlite3.connect(tmp_path / "c.sqlite") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        meta = dict(connection.execute("SELECT key, value FROM meta"))
    assert meta["schema_version"] == str(SCHEMA_VERSION) and "sha1" in meta["identity"]


def test_content_hash_sees_both_ends_of_a_large_file(tmp_path):
    path = tmp_path / "big.bin"
    data = bytearray(os.urandom(3 << 20))
    path.write_bytes(bytes(data))
    first = content_hash(path, len(data))
    for offset in (10, len(data) - 10):
        changed = bytearray(data)
        changed[offset] ^= 0xFF
        path.write_bytes(bytes(changed))
        assert content_hash(path, len(data)) != first


def test_unreadable_files_fail_once_with_their_reason_and_are_not_retried_until_they_change(tmp_path, classifier):
    library = tmp_path / "library"
    write(library / "song.wav", noise(SECONDS))
    reasons = odd_files(library)
    db = tmp_path / "catalogue.sqlite"
    with pipe_watch(library / "pipe.wav") as opened:  # opening the pipe would block (hashing it, decoding it)
        summary = tag_library(library, db, classifier)
    assert not opened
    assert (summary.new, summary.classified, len(summary.failed)) == (6, 1, 5)
    stored = rows(db)
    for name, says in reasons.items():
        row = stored[str(library / name)]
        assert row["status"] == "failed" and says in row["error"] and row["content_hash"] == "", (name, row["error"])
    audio_reasons = {}
    for name in reasons:
        try:
            audio.load(library / name)
        except AudioError as exc:
            audio_reasons[name] = exc.reason
    assert {os.path.basename(p): r for p, r in summary.failed} == audio_reasons  # one reason everywhere

    again = tag_library(library, db, classifier)  # nothing changed: nothing is tried again
    assert (again.skipped, again.new, again.changed, again.failed) == (6, 0, 0, [])
    assert {p: tuple(r) for p, r in rows(db).items()} == {p: tuple(r) for p, r in stored.items()}

    write(library / "gone" / "nothing.wav", noise(SECONDS, seed=5))  # the dangling link's target appears
    after = tag_library(library, db, classifier)
    assert (after.new, after.changed, after.classified, after.skipped) == (1, 1, 2, 5)
    assert rows(db)[str(library / "dangling.wav")]["status"] == "ok"
    assert tag_library(library, db, classifier, retry_failed=True).retried == 4
    assert {r["attempts"] for p, r in rows(db).items() if "loop" in p or "pipe" in p} == {2}


def test_paths_longer_than_libsndfile_allows_are_tagged(tmp_path, classifier):
    folder = long_folder(tmp_path / "library")
    path = folder / "曲.flac"
    write(tmp_path / "short.flac", noise(SECONDS)).rename(path)
    summary = tag_library(tmp_path / "library", tmp_path / "c.sqlite", classifier)
    assert (summary.classified, summary.failed) == (1, []) and len(str(path).encode()) > 1100
    assert rows(tmp_path / "c.sqlite")[str(path)]["genre"] in classifier.genres


def test_reports_keep_one_line_per_file_whatever_its_name_holds(tmp_path, classifier):
    library = tmp_path / "library"
    write(library / "two\nlines.wav", noise(SECONDS))
    (library / "bad\x1b[2Jname.wav").write_bytes(b"not audio")
    summary = tag_library(library, tmp_path / "c.sqlite", classifier)
    text = summary.summary()
    assert "\x1b" not in text and "bad\\x1b[2Jname.wav: not a recognised" in text
    assert text.count("\n") == len(text.splitlines()) - 1 == 3  # header, counts, totals, one failure
    listed = report(tmp_path / "c.sqlite").summary()
    assert "\x1b" not in listed and "bad\\x1b[2Jname.wav" in listed
    assert summary.to_dict()["failed"][0]["path"] == str(library / "bad\x1b[2Jname.wav")  # JSON keeps the name


def test_one_run_at_a_time_updates_a_catalogue(library, tmp_path, classifier):
    from genrekit.tagger import updating

    db = tmp_path / "catalogue.sqlite"
    with updating(db):
        with pytest.raises(GenrekitError, match=f"being updated by another genrekit tag \\(pid {os.getpid()}\\)"):
            tag_library(library, db, classifier)
    assert tag_library(library, db, classifier).classified == 5  # released when the holder is done


def test_a_catalogue_in_a_missing_folder_is_refused_not_created(library, tmp_path, classifier):
    with pytest.raises(GenrekitError, match="the folder .*no/such does not exist"):
        tag_library(library, tmp_path / "no" / "such" / "c.sqlite", classifier)
    assert not (tmp_path / "no").exists()


# musicnn tags and a minimum confidence ------------------------------------------------------------
#: The tracks table of schema version 1 (before the tags column), as genrekit wrote it.
_SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tracks (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('ok', 'failed')), genre TEXT,
    probabilities TEXT, model_id TEXT NOT NULL, seconds REAL, error TEXT, tagged_at TEXT NOT NULL,
    attempts INTEGER NOT NULL, written_genre TEXT, write_note TEXT);
CREATE INDEX tracks_status ON tracks (status);
INSERT INTO meta VALUES ('schema_version', '1'), ('identity', 'x'), ('created_at', '2024-01-01');
INSERT INTO tracks (path, size, mtime_ns, content_hash, status, genre, probabilities, model_id, tagged_at,
                    attempts) VALUES ('/music/old.wav', 1, 2, 'abc', 'ok', 'jazz', '{"jazz": 1.0}', 'm@1', 't', 1);
"""


@pytest.fixture(scope="module")
def musicnn_tagger():
    from genrekit.tags import Tagger

    return Tagger()


def test_a_version_1_catalogue_gains_the_tags_column_and_keeps_its_rows(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as connection:
        connection.executescript(_SCHEMA_1)
    with Catalogue(db) as catalogue:
        record = catalogue.get("/music/old.wav")
    assert record.genre == "jazz" and record.tags is None
    with sqlite3.connect(db) as connection:
        assert "tags" in [row[1] for row in connection.execute("PRAGMA table_info(tracks)")]
        assert connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    assert SCHEMA_VERSION == 2 and report(db).tracks == 1  # opens again without migrating twice


def test_tags_are_stored_and_files_tagged_without_them_are_classified_again(tmp_path, classifier, musicnn_tagger):
    root = tmp_path / "library"
    write(root / "a.wav", 0.3 * tone(220.0, SECONDS) + noise(SECONDS, seed=4))
    db = tmp_path / "catalogue.sqlite"
    tag_library(root, db, classifier)
    assert rows(db)[str(root / "a.wav")]["tags"] is None
    summary = tag_library(root, db, classifier, tagger=musicnn_tagger)
    assert summary.for_tags == 1 and summary.classified == 1 and "1 for their tags" in summary.summary()
    stored = json.loads(rows(db)[str(root / "a.wav")]["tags"])
    assert list(stored) == musicnn_tagger.tags and all(0.0 <= p <= 1.0 for p in stored.values())
    assert tag_library(root, db, classifier, tagger=musicnn_tagger).skipped == 1  # now they are there


def test_min_confidence_stores_unknown_and_never_writes_it_into_a_file(tmp_path, classifier):
    root = tmp_path / "library"
    write(root / "a.flac", noise(SECONDS, seed=5))
    db = tmp_path / "catalogue.sqlite"
    summary = tag_library(root, db, classifier, write_tags=True, min_confidence=1.0)
    row = rows(db)[str(root / "a.flac")]
    assert row["genre"] == "unknown" and row["written_genre"] is None and summary.classified == 1
    assert read_genre(root / "a.flac") is None
    assert sum(json.loads(row["probabilities"]).values()) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(GenrekitError, match="from 0 to 1"):
        tag_library(root, db, classifier, min_confidence=float("nan"))
