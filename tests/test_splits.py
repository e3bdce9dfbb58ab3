"""genrekit.datasets.splits: stratified, track-level, deterministic; the filtered lists."""

from __future__ import annotations

from collections import Counter

import pytest

from genrekit.datasets import GENRES, Track, splits
from genrekit.errors import ConfigError, DatasetError


def fake_gtzan(per_genre=100):
    return [Track(f"{g}.{i:05d}", f"/gtzan/{g}/{g}.{i:05d}.au", g) for g in GENRES for i in range(per_genre)]


def _ids(part):
    return [t.id for t in part]


def assert_partition(split, tracks, expect_all=True):
    parts = [set(_ids(p)) for p in split.parts.values()]
    for a in range(3):
        for b in range(a + 1, 3):
            assert not parts[a] & parts[b]
    if expect_all:
        assert set().union(*parts) == {t.id for t in tracks}


@pytest.mark.parametrize("ratios,per_part", [((8, 1, 1), (80, 10, 10)), ((7, 3), (70, 0, 30)),
                                             ((5, 2, 3), (50, 20, 30)), ((0.8, 0.1, 0.1), (80, 10, 10))])
def test_holdout_is_stratified_with_exact_counts(ratios, per_part):
    tracks = fake_gtzan()
    split = splits.holdout(tracks, ratios, seed=3)
    assert_partition(split, tracks)
    for part, expected in zip(split.parts.values(), per_part):
        assert Counter(t.genre for t in part) == ({g: expected for g in GENRES} if expected else Counter())


def test_holdout_uneven_genres_follow_ratios_per_genre():
    tracks = [t for t in fake_gtzan(13) if not (t.genre == "jazz" and t.id.endswith("12"))]
    split = splits.holdout(tracks, (8, 1, 1), seed=0)
    assert_partition(split, tracks)
    counts = Counter(t.genre for t in split.train)
    # Largest remainder per genre: 12 -> 9.6/1.2/1.2 -> 10/1/1; 13 -> 10.4/1.3/1.3 -> 11/1/1.
    assert counts["jazz"] == 10 and counts["rock"] == 11
    assert Counter(t.genre for t in split.test)["jazz"] == 1


def test_holdout_is_deterministic_and_order_independent():
    tracks = fake_gtzan(20)
    a = splits.holdout(tracks, (8, 1, 1), seed=7)
    b = splits.holdout(list(reversed(tracks)), (8, 1, 1), seed=7)
    c = splits.holdout(tracks, (8, 1, 1), seed=8)
    assert _ids(a.test) == _ids(b.test)
    assert _ids(a.test) != _ids(c.test)


def test_repeated_holdout_gives_different_test_sets():
    runs = splits.repeated_holdout(fake_gtzan(10), (8, 1, 1), runs=10, seed=0)
    assert len(runs) == 10 and len({tuple(_ids(r.test)) for r in runs}) == 10


@pytest.mark.parametrize("k,valid_folds", [(10, 1), (5, 0), (3, 1)])
def test_kfold_tests_every_track_exactly_once_and_never_leaks(k, valid_folds):
    tracks = fake_gtzan(30)
    folds = splits.kfold(tracks, k=k, seed=1, valid_folds=valid_folds)
    assert len(folds) == k
    tested = Counter(t.id for f in folds for t in f.test)
    assert set(tested.values()) == {1} and len(tested) == len(tracks)
    for fold in folds:
        assert_partition(fold, tracks)
        assert (len(fold.valid) > 0) == (valid_folds > 0)
        assert Counter(t.genre for t in fold.test) == {g: 30 // k for g in GENRES}


def test_kfold_10_is_senacs_80_10_10():
    fold = splits.kfold(fake_gtzan(), k=10, seed=0, valid_folds=1)[0]
    assert (len(fold.train), len(fold.valid), len(fold.test)) == (800, 100, 100)


def test_split_refuses_a_track_in_two_parts():
    t = fake_gtzan(1)
    with pytest.raises(DatasetError, match="both"):
        splits.Split("bad", (t[0],), (), (t[0],))


def test_filtered_split_counts_and_no_artist_leak_by_construction():
    lists = splits.filtered_lists()
    assert {k: len(v) for k, v in lists.items()} == {"train": 443, "valid": 197, "test": 290}
    split = splits.filtered(fake_gtzan())
    assert (len(split.train), len(split.valid), len(split.test)) == (443, 197, 290)
    assert len(split.excluded) == 70 and not split.missing
    assert_partition(split, fake_gtzan(), expect_all=False)


def test_filtered_split_reports_listed_tracks_that_are_absent():
    tracks = [t for t in fake_gtzan() if t.id != "jazz.00054"]
    split = splits.filtered(tracks)
    assert split.missing == ("jazz.00054",) and len(split.train) == 442


def test_filtered_split_matches_folder_ids():
    tracks = [Track(f"{t.genre}/{t.id}", t.path, t.genre) for t in fake_gtzan()]
    assert len(splits.filtered(tracks).test) == 290
    with pytest.raises(DatasetError, match="none of the tracks"):
        splits.filtered([Track("rock/mine", "/x.wav", "rock")])


def test_packaged_lists_equal_the_published_files(splits_dir):
    lists = splits.filtered_lists()
    for part in ("train", "valid", "test"):
        published = [line.split("/")[1].rsplit(".", 1)[0]
                     for line in (splits_dir / f"{part}_filtered.txt").read_text().split()]
        assert list(lists[part]) == published


def test_parse():
    tracks = fake_gtzan(10)
    assert len(splits.parse("holdout:8/1/1", tracks)) == 1
    assert len(splits.parse("holdout:8/1/1x10", tracks)) == 10
    assert len(splits.parse("holdout:7/3", tracks)[0].valid) == 0
    assert len(splits.parse("kfold:5", tracks)) == 5
    assert len(splits.parse("kfold:5/valid0", tracks)[0].valid) == 0
    assert splits.parse("filtered", fake_gtzan())[0].name == "filtered"
    for bad in ("holdout", "holdout:1/2/3/4", "kfold:1", "random"):
        with pytest.raises(ConfigError):
            splits.parse(bad, tracks)
