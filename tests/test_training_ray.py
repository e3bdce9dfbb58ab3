"""genrekit.training_ray: one network trained data-parallel on Ray Train workers (a real local Ray instance).

Ray Train starts its worker processes afresh, so the runs train a registered network (dong2018, as the
CLI's train test) on a tiny synthetic dataset; the test-only networks of test_training.py are not
registered there. Each Ray Train run costs ~20-25 s on two cores (workers and torch starting), so
those tests are marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from genrekit import training
from genrekit.runs import RunDir

ray = pytest.importorskip("ray")

from genrekit.training_ray import train_ray  # noqa: E402

from test_cli import error_lines, genrekit_command  # noqa: E402


def config(tmp_path_factory, epochs: int = 2, **more) -> dict:
    """dong2018 on 3 synthetic 4 s tracks per genre (as ``genrekit train`` makes them): seconds of training."""
    shared = tmp_path_factory.getbasetemp() / "ray-train-data"
    return {"model": "dong2018", "dataset": "synthetic", "root": str(shared / "synthetic"),
            "dataset_options": {"n_per_genre": 3, "seconds": 4.0, "seed": 0}, "split": "holdout:1/1/1",
            "epochs": epochs, "cache": str(shared / "cache"), **more}


@pytest.fixture(scope="module")
def local_ray():
    """Ray on this machine, in this process, two CPUs (its own temp folder: no other cluster is joined)."""
    temp = f"/tmp/gk-ray-{os.getpid()}"  # short: Ray's socket paths must stay under 108 bytes
    if ray.is_initialized():  # another module's cluster: this one needs its own two CPUs
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100_000_000, _temp_dir=temp)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def two_workers(local_ray, tmp_path_factory):
    """A 2-epoch run on two DDP workers: (run directory, metrics)."""
    out = tmp_path_factory.mktemp("ray-two") / "run"
    return out, train_ray(config(tmp_path_factory), out, workers=2, progress=False)


def assert_same_metrics(a: dict, b: dict) -> None:
    """Accuracies, confusion and recall equal; losses within float rounding (computed in other processes)."""
    for part in ("valid", "test"):
        for key in ("track_accuracy", "clip_accuracy", "confusion", "recall", "n_tracks", "n_clips"):
            assert a[part][key] == b[part][key], (part, key)
        assert a[part]["loss"] == pytest.approx(b[part]["loss"], rel=1e-5)
    assert (a["epochs_run"], a["best_epoch"]) == (b["epochs_run"], b["best_epoch"])


def curves(out) -> np.ndarray:
    """curves.csv without its seconds column."""
    columns = RunDir(out).read_curves()
    return np.array([values for name, values in columns.items() if name != "seconds"])


@pytest.mark.slow
def test_one_ray_worker_equals_the_plain_run(local_ray, tmp_path_factory, tmp_path):
    # One torch thread in both (a Ray worker has one CPU): the same sums in the same order.
    plain = training.train(config(tmp_path_factory, threads=1), tmp_path / "plain", progress=False)
    on_ray = train_ray(config(tmp_path_factory, threads=1), tmp_path / "ray", workers=1, progress=False)
    assert_same_metrics(on_ray, plain)
    np.testing.assert_allclose(curves(tmp_path / "ray"), curves(tmp_path / "plain"), rtol=1e-5)
    assert RunDir(tmp_path / "ray").read_config() == RunDir(tmp_path / "plain").read_config()


@pytest.mark.slow
def test_two_ddp_workers_write_a_complete_run_directory_that_serves(two_workers):
    from genrekit.inference import load_model

    out, metrics = two_workers
    assert metrics["epochs_run"] == 2 and metrics["test"]["n_tracks"] == 10
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for name in ("config.yaml", "curves.csv", "predictions.npz", "checkpoints/best.pt", "checkpoints/last.pt"):
        assert (out / name).exists(), name
    assert len((out / "curves.csv").read_text().splitlines()) == 1 + 2
    assert not [name for name in os.listdir(out) if "ray" in name.lower()]
    classifier = load_model(out)
    sr = 22050
    t = np.arange(3 * sr) / sr
    prediction = classifier.predict_array((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr)
    assert prediction.genre in metrics["genres"] and sum(prediction.probabilities.values()) == pytest.approx(1.0)


@pytest.mark.slow
def test_an_interrupted_ray_run_resumes_from_the_command_line_to_the_same_result(two_workers, local_ray,
                                                                                 tmp_path_factory, tmp_path):
    reference_out, reference = two_workers
    out = tmp_path / "run"
    # A 2-epoch run stopped after epoch 1 is a 1-epoch run without its final files (an epoch's clips and
    # updates do not depend on the number of epochs): make one.
    train_ray(config(tmp_path_factory, epochs=1), out, workers=2, progress=False)
    run = RunDir(out)
    run.write_config({**run.read_config(), "epochs": 2})
    run.metrics_path.unlink()
    run.predictions_path.unlink()
    settings = config(tmp_path_factory)
    command = genrekit_command() + [
        "train", "--model", "dong2018", "--dataset", "synthetic", "--root", settings["root"], "--n-per-genre", "3",
        "--seconds", "4", "--split", "holdout:1/1/1", "--epochs", "2", "--cache", settings["cache"],
        "--out", str(out), "--ray", local_ray, "--workers", "2", "--resume"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stderr and "test: track accuracy" in result.stdout
    assert_same_metrics(run.read_metrics(), reference)
    np.testing.assert_allclose(curves(out), curves(reference_out), rtol=1e-5)


def test_without_ray_the_command_says_what_to_install(tmp_path):
    hide_ray = ("import sys; sys.modules['ray'] = None; sys.argv[0] = 'genrekit'; "
                "from genrekit.apps.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", hide_ray, "train", "--model", "dong2018", "--ray", "auto",
                             "--workers", "2", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert error_lines(result.stderr) == ["error: --ray needs Ray, which is not installed here: "
                                          "pip install 'genrekit[ray]'"]
    assert not (tmp_path / "run").exists()


def test_workers_need_ray():
    result = subprocess.run(genrekit_command() + ["train", "--model", "dong2018", "--workers", "2"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--workers needs --ray" in result.stderr
