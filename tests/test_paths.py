"""genrekit.paths: command-line inputs expanded to audio files."""

from __future__ import annotations

from genrekit.paths import expand_paths
from test_classifier import folder  # noqa: F401  (the fixture: two songs and four files that cannot be classified)


def test_expand_paths_dirs_globs_and_missing(folder, tmp_path):
    listed = expand_paths([folder])
    assert [p.rsplit("/", 1)[-1] for p in listed] == ["a_song.wav", "b_song.flac", "c_text.wav", "d_empty.wav",
                                                        "e_silent.wav", "f_one_second.wav"]
    assert expand_paths([str(folder / "*.flac")]) == [str(folder / "b_song.flac")]
    assert expand_paths([folder / "a_song.wav", folder, str(folder / "a_*.wav")]) == listed  # no duplicates
    missing = [str(tmp_path / "gone.wav"), str(tmp_path / "none-*.wav")]
    assert expand_paths(missing) == missing  # kept, so they are reported by name
    assert expand_paths([tmp_path / "empty-dir"]) == [str(tmp_path / "empty-dir")]
    (tmp_path / "empty-dir").mkdir()
    assert expand_paths([tmp_path / "empty-dir"]) == []
