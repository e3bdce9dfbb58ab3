"""genrekit.threads: one BLAS thread for feature code, whatever the caller's setting."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from genrekit import features
from genrekit.threads import one_blas_thread


def blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_one_blas_thread_limits_inside_and_restores_after():
    with threadpool_limits(limits=2, user_api="blas"):
        with one_blas_thread():
            assert blas_threads() == {1}
            with one_blas_thread():  # nested: still one, and the inner exit does not restore
                pass
            assert blas_threads() == {1}
        assert blas_threads() == {2}


@pytest.mark.parametrize("name", ["senac2017_music", "yang2019", "dong2018", "zhang2016", "wang", "coarse_mel"])
def test_features_do_not_depend_on_the_callers_blas_threads(name):
    # Before one_blas_thread, 2 threads vs 1 changed ~10 % of a music-feature map by ~1e-8.
    rng = np.random.default_rng(0)
    spec = features.get(name)
    y = (0.1 * rng.standard_normal(spec.sr * 4)).astype(np.float32)
    with threadpool_limits(limits=2, user_api="blas"):
        two = spec.compute(y)
    with threadpool_limits(limits=1, user_api="blas"):
        one = spec.compute(y)
    np.testing.assert_array_equal(two, one)


def test_seeded_sets_and_restores_the_global_state():
    import random

    import torch

    from genrekit.threads import seeded

    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(1).item()
    torch.manual_seed(123)
    with seeded(7, threads=1):
        assert torch.get_num_threads() == 1
        first = (torch.rand(1).item(), np.random.rand(), random.random())
    with pytest.raises(RuntimeError):
        with seeded(7, threads=1):
            assert (torch.rand(1).item(), np.random.rand(), random.random()) == first  # same seed, same draws
            raise RuntimeError("a failing run")
    assert torch.get_num_threads() == threads
    assert torch.rand(1).item() == expected  # the caller's generator goes on where it was
