"""genrekit.apps.demo: the `make demo` job end to end, made small."""

from __future__ import annotations

from genrekit.apps import demo


def test_demo_runs_end_to_end_and_reports_what_it_did(tmp_path):
    lines = []
    result = demo.run(tmp_path, n_per_genre=5, seconds=4.0, epochs=2, echo=lines.append, samples=None)
    assert result["tracks"] == 50 and result["computed"] == 50 and result["failed"] == 0
    assert result["cached_again"] == 50
    assert 0.0 <= result["test_accuracy"] <= 1.0
    text = "\n".join(lines)
    assert "confusion matrix" in text and "test accuracy on 10 held-out synthetic tracks" in text
    assert (tmp_path / "run" / "metrics.json").exists()
    # Without real excerpts, the bundled model classifies the generated test tracks.
    assert "generated test tracks instead" in text and result["classified"] == 10
    assert "with the bundled model genrekit-musicnn-v3@" in text
    assert result["tags"] == 50 and "genrekit predict --tags" in text  # and musicnn's tags of one of them


def test_the_demo_ends_by_classifying_the_real_excerpts(samples_dir):
    lines = []
    predictions = demo.classify_samples(sorted(str(p) for p in samples_dir.glob("*.wav")), lines.append)
    assert len(predictions) == 10 and all(p.ok for p in predictions)
    table = "\n".join(lines)
    assert all(p.path in table and p.genre in table for p in predictions)
    agree = sum(p.genre == p.path.split("/")[-1].split(".")[0] for p in predictions)
    assert f"{agree} of 10 agree" in table and "rock.00000 (train list)" in table and "country.00000 (valid list)" in table
    assert "never seen by the model (the artist-filtered test list): hiphop.00000, pop.00000" in table


def test_confusion_table_is_aligned():
    table = demo.confusion_table([[3, 1], [0, 4]], ["blues", "classical"]).splitlines()
    assert len(table) == 3 and len({len(line) for line in table}) == 1


def test_the_real_excerpts_are_found_from_the_environment_or_the_working_directory(tmp_path):
    import os
    import subprocess
    import sys

    code = "from genrekit.apps import demo; print(demo.SAMPLES)"
    env = {k: v for k, v in os.environ.items() if k != "GENREKIT_SHARED_DATA"}
    default = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True, capture_output=True,
                             text=True).stdout.strip()
    assert default == os.path.join("..", "shared", "data", "gtzan-samples")  # relative to where it runs
    named = subprocess.run([sys.executable, "-c", code], env={**env, "GENREKIT_SHARED_DATA": str(tmp_path)},
                           cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()
    assert named == str(tmp_path / "gtzan-samples")
