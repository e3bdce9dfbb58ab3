"""genrekit.evaluation.protocols on Ray: ``reproduce(..., ray=...)`` gives the results of the local run,
reads finished runs back, continues interrupted ones, raises a run's error as itself; without Ray,
``genrekit reproduce --ray`` says in one line what to install.

Ray runs here as one local instance started in this process (two CPUs, its own short temp dir), not
as a cluster: what is tested is the protocol's use of tasks, which does not depend on the node a
task lands on. Its workers register the tiny test network through Ray's worker setup hook
(``test_training.register_tiny``, this folder on their ``PYTHONPATH``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from conftest import command_line, descendants
from genrekit.errors import ConfigError
from genrekit.evaluation import reproduce
from genrekit.evaluation.protocols import Plan, Source
from test_protocols import tiny_recipe_text, write_recipe

ray = pytest.importorskip("ray")

# The test recipe of test_protocols, on one torch thread (as a one-CPU Ray task runs) so both ways compute alike.
RECIPE = tiny_recipe_text(", threads: 1")


TESTS = os.path.dirname(os.path.abspath(__file__))
#: What a driver gives its Ray job so that every worker knows the tiny test network.
WORKER_ENV = {"env_vars": {"PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")])},
              "worker_process_setup_hook": "test_training.register_tiny"}


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance of two CPUs in this process, ended after the module."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():  # another module's connection
        ray.shutdown()
    temp = tempfile.mkdtemp(prefix="r2ray-", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=200_000_000, _temp_dir=temp, runtime_env=WORKER_ENV)
    yield
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def tiny_recipe(tmp_path):
    return write_recipe(tmp_path, RECIPE)


def run(recipe, tmp_path, out, ray_address=None, **kwargs):
    source = Source("synthetic", tmp_path / "synthetic", {"n_per_genre": 3, "seconds": 4.0}, str(tmp_path / "cache"))
    return reproduce(str(recipe), source, tmp_path / out, Plan(**kwargs), seed=0, progress=False,
                     write_report=False, ray=ray_address)


def comparable(results: dict) -> dict:
    """results.json without what names the process (the command, the versions)."""
    return {k: v for k, v in json.loads(json.dumps(results, default=str)).items() if k not in ("command", "versions")}


def assert_same(ours: dict, theirs: dict) -> None:
    """Equal results, floats within tolerance (they come from different processes)."""
    if isinstance(ours, dict):
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert_same(ours[key], theirs[key])
    elif isinstance(ours, list):
        assert len(ours) == len(theirs)
        for x, y in zip(ours, theirs):
            assert_same(x, y)
    elif isinstance(ours, float):
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9)
    else:
        assert ours == theirs


def test_reproduce_on_ray_equals_the_local_run_and_resumes(local_ray, tiny_recipe, tmp_path):
    here = run(tiny_recipe, tmp_path, "here", budget="quick")
    on_ray = run(tiny_recipe, tmp_path, "ray", "auto", budget="quick")
    assert [s["name"] for s in on_ray["systems"]] == ["a", "b", "knn", "fused"]
    assert len(on_ray["systems"][0]["accuracy"]["runs"]) == 2
    assert_same(comparable(on_ray), comparable(here))
    written = json.loads((tmp_path / "ray" / "results.json").read_text())
    assert_same(comparable(written), comparable(json.loads((tmp_path / "here" / "results.json").read_text())))

    # Again, after losing one run: finished runs are read back (nothing retrained), the lost one alone is redone.
    runs = tmp_path / "ray" / "runs"
    kept = {path: path.stat().st_mtime_ns for path in runs.glob("*/run-*/metrics.json")}
    assert len(kept) == 6  # a, b, knn: two runs each
    lost = runs / "b" / "run-01"
    for name in ("metrics.json", "predictions.npz"):
        (lost / name).unlink()
    again = run(tiny_recipe, tmp_path, "ray", "auto", budget="quick")
    assert (lost / "metrics.json").exists()
    assert {path: mtime for path, mtime in kept.items() if lost not in path.parents} == \
        {path: path.stat().st_mtime_ns for path in kept if lost not in path.parents}
    assert_same(comparable(again), comparable(on_ray))


@pytest.mark.slow  # ~30 s
def test_a_worker_killed_in_a_run_costs_that_run_only(local_ray, tiny_recipe, tmp_path):
    """SIGKILL to the first worker process seen training a run: Ray runs that task again (its run directory
    resumes or starts over), the others are untouched, and results.json equals the local run's."""
    here = run(tiny_recipe, tmp_path, "here", budget="quick")
    killed: list[int] = []
    stop = threading.Event()

    def kill_first_training_worker() -> None:
        while not stop.is_set() and not killed:
            for pid in descendants([os.getpid()]):
                if "ray::_train_or_read" in command_line(pid):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.01)

    watcher = threading.Thread(target=kill_first_training_worker, daemon=True)
    watcher.start()
    try:
        on_ray = run(tiny_recipe, tmp_path, "ray", "auto", budget="quick")
    finally:
        stop.set()
        watcher.join()
    assert killed, "no worker was seen training a run"
    assert_same(comparable(on_ray), comparable(here))
    assert len(list((tmp_path / "ray" / "runs").glob("*/run-*/metrics.json"))) == 6


def test_a_failed_run_raises_its_own_error_after_the_others_finish(local_ray, tiny_recipe, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a run asking for CUDA fails only where there is no GPU")
    bad = tmp_path / "bad.yaml"
    bad.write_text(RECIPE.replace("epochs: 3,", "epochs: 3, device: cuda,", 1))
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        run(bad, tmp_path, "bad", "auto", budget="quick", runs=1, systems=["a", "knn"])
    assert (tmp_path / "bad" / "runs" / "knn" / "run-00" / "metrics.json").exists()


@pytest.mark.slow  # ~25 s: a second driver and its workers start
def test_the_command_joins_a_cluster_by_address(local_ray, tmp_path):
    """``genrekit reproduce --ray ADDRESS``, a driver of its own joining the running instance."""
    recipe = tmp_path / "knn.yaml"
    recipe.write_text(RECIPE.split("systems:")[0] + "systems:\n  - {name: knn, model: knn, paper_accuracy: 0.7}\n"
                      "quick: {runs: 2}\n")
    run(recipe, tmp_path, "here", budget="quick")
    address = ray.get_runtime_context().gcs_address
    done = subprocess.run([sys.executable, "-m", "genrekit.apps.cli", "reproduce", str(recipe), "--dataset", "synthetic",
                           "--root", str(tmp_path / "synthetic"), "--n-per-genre", "3", "--seconds", "4",
                           "--cache", str(tmp_path / "cache"), "--budget", "quick", "--out", str(tmp_path / "cli"),
                           "--ray", address], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "knn" in done.stdout and "report:" in done.stdout
    written = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert "--ray" in written["command"]
    assert_same(comparable(written), comparable(json.loads((tmp_path / "here" / "results.json").read_text())))


def test_reproduce_ray_without_ray_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['ray'] = None; sys.argv = ['genrekit'] + sys.argv[1:]; "
            "from genrekit.apps.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", code, "reproduce", "wang", "--ray", "auto", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'genrekit[ray]'" in lines[0], done.stderr
    assert not (tmp_path / "results.json").exists()
