"""genrekit.scale: classification on a real two-node Ray cluster on loopback (``ray_cluster`` in conftest.py)
gives the single machine's predictions and catalogue, survives a killed worker process and a killed driver,
and without Ray ``--ray`` is one line saying what to install."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from conftest import noise, tone, write
from genrekit.apps.cli import app
from genrekit.inference import load_model
from genrekit.scale import RayClassifier, default_actors
from genrekit.tagger import tag_library
from test_cli import error_lines, genrekit_command
from test_tag_cmd import kill_once_committed, kill_when, resumes, tracks

runner = CliRunner()
MODEL = "genrekit-coarse-mel-v2"  # the small bundled network: fast to load in every actor
SECONDS = 5.0
TOLERANCE = 1e-5  # probabilities computed in other processes (Ray workers) than the reference's


def make_library(root, n: int = 12):
    """``n`` decodable 5 s tracks in two folders, one file that is not audio and one silent track."""
    for i in range(n):
        write(root / f"g{i % 2}" / f"track{i:02d}.wav",
              noise(SECONDS, seed=i, amplitude=0.03 + 0.01 * i) + tone(150.0 + 60 * i, SECONDS, amplitude=0.3))
    (root / "broken.wav").write_bytes(b"RIFF but not really audio")
    write(root / "g0" / "silent.flac", tone(440.0, SECONDS, amplitude=0.0))
    return root


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return make_library(tmp_path_factory.mktemp("ray-library"))


@pytest.fixture(scope="module")
def local():
    """The single-machine classifier the Ray results are compared with."""
    return load_model(MODEL, workers=1)


def same_predictions(got, expected) -> None:
    assert [p.path for p in got] == [p.path for p in expected]
    for a, b in zip(got, expected):
        assert (a.genre, a.error, a.seconds) == (b.genre, b.error, b.seconds), a.path
        assert a.probabilities.keys() == b.probabilities.keys()
        assert all(abs(a.probabilities[g] - b.probabilities[g]) < TOLERANCE for g in a.probabilities), a.path


def rows(db) -> dict[str, dict]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return {row["path"]: dict(row) for row in connection.execute("SELECT * FROM tracks")}


def test_the_ray_catalogue_equals_the_single_machine_catalogue(ray_cluster, library, local, tmp_path):
    ray_db, local_db = tmp_path / "ray.sqlite", tmp_path / "local.sqlite"
    classifier = RayClassifier(MODEL, address=ray_cluster.address, actors=2, files_per_task=3)
    on_ray = tag_library(library, ray_db, classifier)
    here = tag_library(library, local_db, local)
    assert (on_ray.files, on_ray.new, on_ray.classified) == (here.files, here.new, here.classified) == (14, 14, 12)
    assert sorted(on_ray.failed) == sorted(here.failed)
    assert classifier.last_run["nodes"] == 2 and classifier.last_run["duplicates_dropped"] == 0
    got, expected = rows(ray_db), rows(local_db)
    assert sorted(got) == sorted(expected)
    for path, row in expected.items():
        for column in ("status", "genre", "model_id", "seconds", "error", "size", "mtime_ns", "content_hash"):
            assert got[path][column] == row[column], (path, column)
        if row["status"] == "ok":
            p, q = json.loads(got[path]["probabilities"]), json.loads(row["probabilities"])
            assert p.keys() == q.keys() and all(abs(p[g] - q[g]) < TOLERANCE for g in p)
    errors = {os.path.basename(path): row["error"] for path, row in got.items() if row["status"] == "failed"}
    assert errors.keys() == {"broken.wav", "silent.flac"}
    assert "not a recognised audio file" in errors["broken.wav"] and "silent" in errors["silent.flac"]

    again = tag_library(library, ray_db, classifier)  # resume / incremental: nothing left to do
    assert again.skipped == 14 and again.classified == 0 and not again.failed


def test_the_separate_scoring_stage_for_gpus_gives_the_same_predictions(ray_cluster, library, local):
    """The pipeline a cluster with GPUs gets (featurising tasks, then scoring actors), run here on CPUs."""
    files = sorted(str(p) for p in library.rglob("*") if p.is_file())
    classifier = RayClassifier(MODEL, address=ray_cluster.address, actors=1, files_per_task=4, separate_scoring=True)
    same_predictions(classifier.predict(files), local.predict(files))
    assert classifier.last_run["duplicates_dropped"] == 0


def test_predict_on_ray_gives_the_same_predictions(ray_cluster, library, local):
    arguments = ["predict", str(library), "--model", MODEL, "--format", "json", "--timeline"]
    plain = runner.invoke(app, arguments + ["-j", "1"])
    on_ray = runner.invoke(app, arguments + ["--ray", ray_cluster.address, "--ray-actors", "1"])
    assert plain.exit_code == on_ray.exit_code == 0, on_ray.output
    got, expected = json.loads(on_ray.stdout), json.loads(plain.stdout)
    assert [item["path"] for item in got] == [item["path"] for item in expected]
    for a, b in zip(got, expected):
        assert (a.get("genre"), a.get("error")) == (b.get("genre"), b.get("error"))
        if "probabilities" in b:
            assert all(abs(a["probabilities"][g] - b["probabilities"][g]) < TOLERANCE for g in b["probabilities"])
            assert [(s["start"], s["end"], s["genre"]) for s in a["timeline"]] == \
                   [(s["start"], s["end"], s["genre"]) for s in b["timeline"]]
    assert "skipped" in on_ray.stderr and "broken.wav" in on_ray.stderr


@pytest.mark.slow
def test_a_killed_worker_process_loses_and_repeats_no_track(ray_cluster, library, local):
    """SIGKILL to the classifying actor's process after the third file: Ray restarts the actor and retries its
    block; every file is delivered once, with the single machine's prediction."""
    files = sorted(str(p) for p in library.rglob("*") if p.is_file())
    classifier = RayClassifier(MODEL, address=ray_cluster.address, actors=1, files_per_task=1)
    delivered: list[int] = []
    killed: list[int] = []

    def on_result(index, prediction):
        delivered.append(index)
        if len(delivered) == 3:
            actors = ray_cluster.processes("_Classifying")
            assert actors, "no classifying actor process found"
            os.kill(actors[0], signal.SIGKILL)
            killed.append(actors[0])

    got = classifier.predict(files, on_result=on_result)
    assert killed and sorted(delivered) == list(range(len(files)))  # each file once
    same_predictions(got, local.predict(files))
    survivors = ray_cluster.processes("_Classifying")
    assert survivors and killed[0] not in survivors  # a restarted actor finished the job


@pytest.mark.slow
def test_a_killed_driver_resumes_without_losing_or_repeating_a_track(ray_cluster, tmp_path):
    library = tmp_path / "library"
    for i in range(24):
        write(library / f"track{i:02d}.wav", noise(SECONDS, seed=i, amplitude=0.03 + 0.01 * i))
    files = sorted(str(p) for p in library.rglob("*.wav"))
    db = tmp_path / "catalogue.sqlite"
    command = ["tag", str(library), "--db", str(db), "--model", MODEL, "--ray", ray_cluster.address,
               "--ray-actors", "1"]
    kill_once_committed(command, db, 1, 180)
    before = tracks(db)
    assert 1 <= len(before) < len(files)

    resumes(command, db, files, before)


def test_parts_written_by_the_workers_merge_into_the_single_machine_catalogue(ray_cluster, library, local,
                                                                             tmp_path):
    """``tag --ray --out``: the workers write Parquet parts; ``tag --merge`` loads them into the catalogue the
    single-machine tagger writes (every column but the time of tagging)."""
    from genrekit.catalogue_parts import iter_rows

    parts, merged, local_db = tmp_path / "results.parquet", tmp_path / "merged.sqlite", tmp_path / "local.sqlite"
    command = ["tag", str(library), "--out", str(parts), "--model", MODEL, "--ray", ray_cluster.address]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert f"into {parts}" in result.output and "14 files: 14 new" in result.output
    assert "classified 12, failed 2" in result.output
    assert len(list(parts.glob("part-*.parquet"))) == 2  # one per block of 8 files, written by the actors
    files = sorted(str(p) for p in library.rglob("*") if p.is_file())
    assert sorted(row["path"] for row in iter_rows(parts)) == files
    again = runner.invoke(app, command)  # resume / incremental: nothing left to do
    assert again.exit_code == 0 and "14 unchanged (skipped)" in again.output and "classified 0" in again.output

    result = runner.invoke(app, ["tag", "--merge", str(parts), "--db", str(merged)])
    assert result.exit_code == 0 and "2 parts, 14 rows, 14 new" in result.output, result.output
    tag_library(library, local_db, local)
    got, expected = rows(merged), rows(local_db)
    assert sorted(got) == sorted(expected) == files
    for path, row in expected.items():
        for column in ("status", "genre", "model_id", "seconds", "error", "size", "mtime_ns", "content_hash",
                       "attempts", "written_genre", "write_note", "tags"):
            assert got[path][column] == row[column], (path, column)
        if row["status"] == "ok":
            p, q = json.loads(got[path]["probabilities"]), json.loads(row["probabilities"])
            assert p.keys() == q.keys() and all(abs(p[g] - q[g]) < TOLERANCE for g in p)
    assert tag_library(library, merged, local).skipped == 14  # the merged catalogue tags on incrementally


@pytest.mark.slow
def test_parts_survive_a_killed_worker_and_a_killed_driver_without_loss_or_repeat(ray_cluster, tmp_path):
    """SIGKILL to a writing actor mid-run: its block is written again under the same name. SIGKILL to the
    driver once the first part is there: the same command again classifies only the files in no part."""
    from genrekit.catalogue_parts import iter_rows

    library = tmp_path / "library"
    for i in range(44):  # 12 for the killed worker, then 4 blocks of 8 for the killed driver
        write(library / f"track{i:02d}.wav", noise(SECONDS, seed=i, amplitude=0.03 + 0.005 * i))
    files = sorted(str(p) for p in library.rglob("*.wav"))
    parts = tmp_path / "results.parquet"

    classifier = RayClassifier(MODEL, address=ray_cluster.address, actors=1, files_per_task=2)
    killed: list[int] = []
    outcomes = []
    for outcome in classifier.write_parts(files[:12], parts):
        outcomes.append(outcome)
        if len(outcomes) == 3:
            [actor] = ray_cluster.processes("_Classifying")
            os.kill(actor, signal.SIGKILL)
            killed.append(actor)
    assert killed and sorted(path for path, _, _ in outcomes) == files[:12]
    assert all(ok for _, ok, _ in outcomes)
    written = sorted(row["path"] for row in iter_rows(parts))
    assert written == files[:12]  # each once: a retried block replaced its own part

    command = ["tag", str(library), "--out", str(parts), "--model", MODEL, "--ray", ray_cluster.address,
               "--ray-actors", "1"]
    kill_when(command, lambda: len(list(parts.glob("part-*"))) > 6, 180)  # once the driver's first part is there
    done = len(list(iter_rows(parts)))  # a block in flight may still have been written after the kill
    assert 12 < done < 44

    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert f"{44 - done} new" in result.output and f"{done} unchanged" in result.output
    paths = [row["path"] for row in iter_rows(parts)]
    assert sorted(paths) == files  # every file, once
    assert not list(parts.glob(".tmp-*"))


@pytest.mark.parametrize("command", [["predict", "song.wav"], ["tag", ".", "--db", "c.sqlite"]])
def test_without_ray_the_option_is_one_line_saying_what_to_install(tmp_path, command):
    write(tmp_path / "song.wav", tone(440.0, 3.0))
    hide_ray = ("import sys; sys.modules['ray'] = None; from genrekit.apps.cli import main; "
                f"sys.argv = ['genrekit', *{command + ['--ray', 'auto']!r}]; main()")
    done = subprocess.run([sys.executable, "-c", hide_ray], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done.stderr) == ["error: --ray needs Ray, which is not installed here: "
                                        "pip install 'genrekit[ray]'"]
    assert not (tmp_path / "c.sqlite").exists()


def test_an_address_where_no_cluster_answers_is_one_line_at_once(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed")
    write(tmp_path / "song.wav", tone(440.0, 3.0))
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for address, says in ((f"127.0.0.1:{port}", f"cannot reach the Ray cluster at 127.0.0.1:{port} ("),
                          ("nowhere", "--ray nowhere: give auto, local or the head's HOST:PORT")):
        start = time.monotonic()
        done = subprocess.run(genrekit_command() + ["predict", str(tmp_path / "song.wav"), "--ray", address],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and time.monotonic() - start < 60
        [line] = error_lines(done.stderr)
        assert line.startswith(f"error: {says}"), line


def test_ray_actors_without_ray_is_refused(tmp_path):
    write(tmp_path / "song.wav", tone(440.0, 3.0))
    result = runner.invoke(app, ["predict", str(tmp_path / "song.wav"), "--ray-actors", "2"])
    assert result.exit_code == 2 and "--ray-actors is for --ray" in result.output


def test_default_actors_follow_the_clusters_gpus_else_its_cpus():
    assert default_actors({"cpus": 2.0, "gpus": 0.0}) == 2
    assert default_actors({"cpus": 0.5, "gpus": 0.0}) == 1
    assert default_actors({"cpus": 64.0, "gpus": 0.0}) == 64
    assert default_actors({"cpus": 64.0, "gpus": 8.0}) == 8


@pytest.mark.slow  # ~40 s: the runs of a tiny recipe as tasks on both nodes
def test_reproduce_on_the_two_node_cluster_equals_the_local_run(ray_cluster, tmp_path):
    """``reproduce --ray ADDRESS`` on the loopback cluster (a head and a second node): the same results.json as
    without Ray (the tasks share the two one-CPU nodes). This process joins again with the test network
    registered in every worker (Ray's worker setup hook), then returns to the plain connection for any later
    test."""
    import ray

    from genrekit import scale
    from test_protocols import write_recipe
    from test_protocols_ray import RECIPE, WORKER_ENV, assert_same, comparable, run

    recipe = write_recipe(tmp_path, RECIPE)
    here = run(recipe, tmp_path, "here", budget="quick")
    scale.shutdown()
    ray.init(address=ray_cluster.address, log_to_driver=False, runtime_env=WORKER_ENV)
    try:
        assert scale.connect(ray_cluster.address)["nodes"] == 2
        on_cluster = run(recipe, tmp_path, "cluster", ray_cluster.address, budget="quick")
    finally:
        scale.shutdown()
        scale.connect(ray_cluster.address)
    assert_same(comparable(on_cluster), comparable(here))
    assert len(list((tmp_path / "cluster" / "runs").glob("*/run-*/metrics.json"))) == 6
