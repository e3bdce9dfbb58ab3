"""genrekit.features.cache: keyed by spec content and file identity, atomic entries."""

from __future__ import annotations

import os

import numpy as np
import pytest

from conftest import noise, write
from genrekit import features
from genrekit.errors import ConfigError, DiskFullError
from genrekit.features.cache import FeatureCache, default_root


def test_put_get_and_miss(tmp_path):
    path = write(tmp_path / "a.wav", noise(0.5))
    cache = FeatureCache(tmp_path / "cache", features.get("yang2019"))
    assert cache.get(path) is None and path not in cache
    values = np.random.default_rng(0).standard_normal((4, 7)).astype(np.float32)
    entry = cache.put(path, values)
    assert entry.parent.parent == cache.dir and path in cache
    np.testing.assert_array_equal(cache.get(path), values)
    assert cache.get(path, mmap=True).shape == (4, 7)
    assert (cache.dir / "spec.json").exists()


def test_changed_file_is_a_miss_and_its_stale_entry_is_replaced(tmp_path):
    path = write(tmp_path / "a.wav", noise(0.5))
    cache = FeatureCache(tmp_path / "cache", features.get("yang2019"))
    cache.put(path, np.zeros((2, 2), np.float32))
    write(path, noise(0.6, seed=9))
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse file systems
    assert cache.get(path) is None
    cache.put(path, np.ones((2, 2), np.float32))
    assert len(cache.entries()) == 1
    np.testing.assert_array_equal(cache.get(path), np.ones((2, 2)))


def test_spec_change_uses_another_folder_and_equal_specs_share_one(tmp_path):
    a = FeatureCache(tmp_path, features.get("yang2019"))
    b = FeatureCache(tmp_path, features.get("yang2019").replace(n_mels=128))
    c = FeatureCache(tmp_path, features.get("yang2019").replace(name="renamed", clip={"hop": 32}))
    assert a.dir != b.dir and a.dir == c.dir
    assert FeatureCache(tmp_path, features.get("zhang2016")).dir == FeatureCache(tmp_path, features.get("senac2017_stft")).dir


def test_partials_are_cleaned_and_prune_removes_other_files(tmp_path):
    a, b = write(tmp_path / "a.wav", noise(0.2)), write(tmp_path / "b.wav", noise(0.2, seed=1))
    cache = FeatureCache(tmp_path / "cache", features.get("dong2018"))
    cache.put(a, np.zeros((1, 1), np.float32))
    cache.put(b, np.zeros((1, 1), np.float32))
    (cache.dir / "ab").mkdir(exist_ok=True)
    (cache.dir / "ab" / ".tmp-abc.npy").write_bytes(b"half")
    assert cache.clean_partials() == 1
    assert cache.prune([a]) == 1 and a in cache and b not in cache


def test_a_corrupt_entry_is_a_miss(tmp_path):
    path = write(tmp_path / "a.wav", noise(0.2))
    cache = FeatureCache(tmp_path / "cache", features.get("dong2018"))
    cache.entry(path).parent.mkdir(parents=True)
    cache.entry(path).write_bytes(b"\x93NUMPY broken")
    assert cache.get(path) is None


def test_default_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREKIT_CACHE", str(tmp_path))
    assert default_root() == tmp_path / "features"


@pytest.mark.parametrize("where", ["root", "above", "spec folder"])
def test_a_file_where_the_cache_folder_should_be_is_a_config_error(tmp_path, where):
    spec = features.get("yang2019")
    file = tmp_path / "x"
    file.write_text("not a folder")
    root = {"root": file, "above": file / "cache", "spec folder": tmp_path}[where]
    if where == "spec folder":
        file.rename(tmp_path / f"{spec.kind}-{spec.key()}")
        file = tmp_path / f"{spec.kind}-{spec.key()}"
    with pytest.raises(ConfigError) as caught:
        FeatureCache(root, spec)
    assert str(caught.value).startswith(f"{file}: is a file, not a folder")


def test_a_full_disk_is_a_disk_full_error_and_keeps_every_entry_whole(tmp_path, small_disk):
    paths = [write(tmp_path / f"{i}.wav", noise(0.2, seed=i)) for i in range(8)]
    cache = FeatureCache(small_disk / "cache", features.get("yang2019"))
    stored = []
    with pytest.raises(DiskFullError) as caught:
        for path in paths:  # 400 kB each: the 2 MB disk fills on the fifth or so
            cache.put(path, np.full((256, 400), float(len(stored)), np.float32))
            stored.append(path)
    assert caught.value.path == str(small_disk / "cache") and "features computed so far are kept" in str(caught.value)
    assert 0 < len(stored) < len(paths) and len(cache.entries()) == len(stored)
    assert not list(cache.dir.glob("*/.tmp-*"))
    for i, path in enumerate(stored):
        np.testing.assert_array_equal(cache.get(path), np.full((256, 400), float(i), np.float32))
