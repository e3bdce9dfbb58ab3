"""genrekit.runs: the run directory's files, read back as written; load_run without the training engine."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from genrekit.errors import GenrekitError
from genrekit.models.assembly import build_model
from genrekit.runs import CURVE_FIELDS, RunDir, feature_spec, load_run, run_spec


def test_every_file_of_a_run_reads_back_as_written(tmp_path):
    run = RunDir(tmp_path / "new" / "run")
    assert not run.finished() and not run.resumable() and not run.has_pipeline()
    run.write_config({"model": "m", "grid": (1, 2), "genres": ["a", "b"]})
    assert run.read_config() == {"model": "m", "grid": [1, 2], "genres": ["a", "b"]}  # plain data, as it reads
    run.write_metrics({"test": {"track_accuracy": 0.5}})
    assert run.finished() and run.read_metrics() == {"test": {"track_accuracy": 0.5}}
    clips = [np.full((2, 3), 0.25, np.float32), np.full((1, 3), 0.5, np.float32)]
    run.write_predictions({"test": (["x", "y"], np.array([0, 2]), clips)})
    saved = run.read_predictions("test")
    assert saved["ids"] == ["x", "y"] and saved["labels"].tolist() == [0, 2]
    assert [c.shape for c in saved["clips"]] == [(2, 3), (1, 3)] and saved["clips"][1][0, 0] == 0.5
    run.write_curves([{"epoch": 1, "train_loss": 0.5, "extra": "left out", "seconds": 1.0}])
    header, row = run.curves_path.read_text().splitlines()
    assert header.split(",") == CURVE_FIELDS and row.startswith("1,0.5,")
    run.save_checkpoint("last", {"epoch": 3, "w": torch.ones(2)})
    assert run.resumable() and run.load_checkpoint("last")["epoch"] == 3
    assert run.checkpoint_path("last") == run.path / "checkpoints" / "last.pt"
    assert run.weights_path() == run.checkpoint_path("best")
    run.save_pipeline({"fitted": True})
    assert run.has_pipeline() and run.load_pipeline() == {"fitted": True}
    assert run.weights_path() == run.path / "model.pkl"


@pytest.mark.parametrize("read", ["read_config", "read_metrics", "read_predictions", "load_pipeline",
                                  "load_checkpoint"])
def test_a_missing_file_is_named_in_one_line(tmp_path, read):
    with pytest.raises(GenrekitError, match="is not a finished run directory .*missing"):
        getattr(RunDir(tmp_path), read)()


def test_the_feature_spec_of_a_run_has_its_clip_grid(tmp_path):
    spec = feature_spec("yang2019", clip_frames=64)
    assert spec.clip.frames == 64 and spec.clip.hop == feature_spec("yang2019").clip.hop
    config = {"features": "coarse_mel", "clip_frames": 39, "clip_hop": 19}
    assert run_spec(config).clip.frames == 39 and run_spec(config).clip.hop == 19
    run = RunDir(tmp_path)
    run.write_config(config)
    assert run.spec() == run_spec(config)


def test_load_run_rebuilds_the_best_weights(tmp_path):
    config = {"model": "zhang2016_nnet1", "model_args": {}, "normalize": "band", "features": "coarse_mel",
              "clip_frames": 39, "clip_hop": 19, "genres": ["a", "b", "c"]}
    torch.manual_seed(0)
    model = build_model("zhang2016_nnet1", 21, 39, 3)
    run = RunDir(tmp_path)
    run.write_config(config)
    run.save_checkpoint("best", {"model": model.state_dict(), "epoch": 1})
    loaded, read = load_run(tmp_path)
    assert read == config and not loaded.training
    x = torch.randn(2, 21, 39)
    torch.testing.assert_close(loaded(x), model.eval()(x))


def test_loading_a_run_imports_no_training_code(tmp_path):
    code = ("import sys; from genrekit import runs; from genrekit.models import assembly; "
            "bad = [m for m in sys.modules if m in ('genrekit.training', 'genrekit.data', "
            "'genrekit.datasets.synthesis', 'genrekit.evaluation')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
